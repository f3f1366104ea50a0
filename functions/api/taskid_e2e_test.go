//go:build e2e

package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/protocolcases"
)

// A task id issued by one process of a deployment (TASK_ID_SECRET_ID read from Secrets
// Manager) is read by a fresh process of the same deployment, and is "no such id" to a process of
// another deployment or one with no id secret.
func TestTaskIDsAcrossInstances(t *testing.T) {
	f := startWithKeys(t)
	ctx := context.Background()
	for name, value := range map[string]string{"task-ids-one": "deployment one 7f3a91c2e5d84b06", "task-ids-two": "deployment two 0c9e2b7d41a6f853"} {
		if _, err := f.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)}); err != nil {
			t.Fatal(err)
		}
	}
	keyed := []string{"AUTH_MODE=keys", "CLIENT_KEYS_SECRET_ID=" + protocolKeysSecret}
	post := func(path string, doc map[string]any) map[string]any {
		t.Helper()
		body, _ := json.Marshal(doc)
		a := f.sendEvent(t, protocolcases.Request{Method: "POST", Path: path, ContentType: "application/json", Body: body})
		var out map[string]any
		if err := json.Unmarshal(a.Body, &out); err != nil {
			t.Fatalf("%s: %s", path, a.Body)
		}
		return out
	}
	f = restart(t, f, append(keyed, "TASK_ID_SECRET_ID=task-ids-one")...)
	created := post("/createTask", map[string]any{"clientKey": protocolKey,
		"task": map[string]any{"type": "GridTask", "body": base64.StdEncoding.EncodeToString(std3x3.PNG()), "comment": "cars"}})
	if created["errorId"] != 0.0 {
		t.Fatalf("createTask: %v", created)
	}
	poll := map[string]any{"clientKey": protocolKey, "taskId": created["taskId"]}
	for _, c := range []struct {
		name, secret, want string
	}{
		{"another process of the deployment", "TASK_ID_SECRET_ID=task-ids-one", ""},
		{"another deployment", "TASK_ID_SECRET_ID=task-ids-two", "ERROR_NO_SUCH_CAPCHA_ID"},
		{"no id secret", "TASK_ID_SECRET_ID=", "ERROR_NO_SUCH_CAPCHA_ID"},
	} {
		f = restart(t, f, append(keyed, c.secret)...)
		got := post("/getTaskResult", poll)
		if c.want == "" && (got["errorId"] != 0.0 || got["solution"] == nil) || c.want != "" && got["errorCode"] != c.want {
			t.Errorf("%s answered %v", c.name, got)
		}
	}
}

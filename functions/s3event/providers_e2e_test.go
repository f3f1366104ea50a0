//go:build e2e

package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/emulator"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/taskemu"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
)

const capmonsterKey = "cm-key-s3-77aa01"

// The S3 path uses the same chain: with AceData down (or out of balance), CapMonster answers and
// the stored result says so; with every provider down, the record fails so Lambda retries it,
// and the retry, with a provider back, is answered.
func TestFailoverOnUploads(t *testing.T) {
	cm, err := taskemu.New(taskemu.CapMonster, capmonsterKey).Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer cm.Close()
	f := start(t, "PROVIDERS=acedata,capmonster", "CAPMONSTER_API_URL="+cm.URL)
	secret, _ := json.Marshal(map[string]string{"acedata": token, "capmonster": capmonsterKey})
	if _, err := secretsmanager.NewFromConfig(testenv.AWSConfig(moto.URL)).PutSecretValue(context.Background(),
		&secretsmanager.PutSecretValueInput{SecretId: aws.String(secretID), SecretString: aws.String(string(secret))}); err != nil {
		t.Fatal(err)
	}

	f.emu.Inject(emulator.Fault{Status: 503})
	rec := f.put("incoming/cars/a.png", cars3.PNG(), nil)
	if f.invoke(rec) {
		t.Fatal("the invocation failed although CapMonster was up")
	}
	f.wantSolved("results/cars/a.png.json", "incoming/cars/a.png", cars3)
	if body, _ := f.object("results/cars/a.png.json"); !strings.Contains(string(body), `"provider":"capmonster"`) {
		t.Fatalf("the result does not say who answered: %s", body)
	}

	f.emu.Inject(emulator.Fault{Status: 502})
	cm.Inject(taskemu.Fault{ErrorCode: "ERROR_ZERO_BALANCE"})
	rec = f.put("incoming/cars/b.png", cars3.PNG(), nil)
	if !f.invoke(rec) {
		t.Fatal("every provider down: the invocation should fail so Lambda retries")
	}
	if _, ok := f.result("results/cars/b.png.json"); ok {
		t.Fatal("a transient failure of every provider was stored as a result")
	}
	if f.invoke(rec) {
		t.Fatal("the retry failed with AceData back")
	}
	f.wantSolved("results/cars/b.png.json", "incoming/cars/b.png", cars3)
	if body, _ := f.object("results/cars/b.png.json"); !strings.Contains(string(body), `"provider":"acedata"`) {
		t.Fatalf("the result does not say who answered: %s", body)
	}
}

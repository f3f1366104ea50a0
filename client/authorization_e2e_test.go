//go:build e2e

package client_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"testing"
)

// make run's binary with client keys refuses an Authorization header sent twice, whichever value
// is the key, as the function behind API Gateway does (which joins the two into one value).
func TestKeyedServerRefusesAuthorizationSentTwice(t *testing.T) {
	img, err := os.ReadFile("../events/images/cars-3x3.jpg")
	if err != nil {
		t.Fatal(err)
	}
	for name, values := range map[string][]string{
		"the key alone":         {"Bearer " + exampleKey},
		"the key, then another": {"Bearer " + exampleKey, "Bearer another-key-0123456789"},
		"another, then the key": {"Bearer another-key-0123456789", "Bearer " + exampleKey},
	} {
		req, _ := http.NewRequest(http.MethodPost, keyedURL+"/recognize?question=cars", bytes.NewReader(img))
		req.Header.Set("Content-Type", "image/jpeg")
		for _, v := range values {
			req.Header.Add("Authorization", v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct {
			Error   struct{ Code string }
			TraceID string `json:"trace_id"`
		}
		json.Unmarshal(body, &e)
		want := http.StatusUnauthorized
		if len(values) == 1 {
			want = http.StatusOK
		}
		if resp.StatusCode != want || (want == 401 && (e.Error.Code != "invalid_token" || e.TraceID == "")) {
			t.Errorf("%s: %d %s, want %d", name, resp.StatusCode, body, want)
		}
	}
}

// A Content-Type sent twice is refused as the function refuses the two joined: 415.
func TestKeyedServerRefusesAContentTypeSentTwice(t *testing.T) {
	img, err := os.ReadFile("../events/images/cars-3x3.jpg")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, keyedURL+"/recognize?question=cars", bytes.NewReader(img))
	req.Header.Set("Authorization", "Bearer "+exampleKey)
	req.Header.Add("Content-Type", "image/jpeg")
	req.Header.Add("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType || !bytes.Contains(body, []byte(`"code":"unsupported_media_type"`)) {
		t.Errorf("%d %s, want 415 unsupported_media_type", resp.StatusCode, body)
	}
}

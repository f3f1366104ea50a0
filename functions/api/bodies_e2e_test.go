//go:build e2e

package main

// The solver protocols' forms cost no more than the native route's: each body below, the
// costliest of its kind, is sent to a fresh bootstrap process (with the template's GOMEMLIMIT),
// and the process's peak resident memory is held to the native route's worst, measured the same
// way in the same run. The CPU each spends is logged; `go test -v` prints both.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
)

// peakMargin is what a protocol body's peak may exceed the native worst by: the runtime's
// heap goal moves in steps, and two processes doing the same work differ by a few MB.
const peakMargin = 8 << 20

// bodySize is the largest body of every case: under MaxBodyBytes (6 MiB) with room for a form.
const bodySize = 5_900_000

type costlyBody struct {
	name, method, path, query, contentType string
	body                                   []byte
	binary                                 bool
}

func nativeBodies() []costlyBody {
	a := strings.Repeat("A", bodySize-40)
	multipart, ct := testenv.MultipartForm(map[string]string{"question": "cars"}, "c.png", make([]byte, bodySize-300))
	return []costlyBody{
		{"JSON, a 5.9 MB image string", "POST", "/recognize", "", "application/json", []byte(`{"question":"cars","image":"` + a + `"}`), false},
		{"JSON, a 5.9 MB question", "POST", "/recognize", "", "application/json", []byte(`{"image":"AAAA","question":"` + a + `"}`), false},
		{"multipart, a 5.9 MB file", "POST", "/recognize", "", ct, multipart, true},
		{"raw, 5.9 MB", "POST", "/recognize", "question=cars", "image/png", make([]byte, bodySize), true},
		// Quotes cost the front most: each is escaped in the event, which the runtime decodes.
		{"JSON, 2M empty strings in an unknown field", "POST", "/recognize", "", "application/json",
			[]byte(`{"image":"AAAA","question":"cars","x":[` + strings.Repeat(`"",`, (bodySize-60)/3) + `""]}`), false},
	}
}

// protocolBodies are the protocol bodies that cost most when forms were read whole before their
// limits were checked.
func protocolBodies() []costlyBody {
	var keys strings.Builder
	keys.WriteString(`{"key":"k",`)
	for i := 0; keys.Len() < bodySize-30; i++ {
		fmt.Fprintf(&keys, `"%x":1,`, i)
	}
	keys.WriteString(`"method":"base64"}`)
	a := strings.Repeat("A", bodySize-100)
	return []costlyBody{
		{"res.php, 5.9 MB of ids", "POST", "/res.php", "", "application/x-www-form-urlencoded", []byte("key=k&action=get&ids=" + strings.Repeat("1,", (bodySize-30)/2) + "1"), false},
		{"in.php, JSON of 5.9 MB of keys", "POST", "/in.php", "", "application/json", []byte(keys.String()), false},
		{"createTask, 2M empty images", "POST", "/createTask", "", "application/json",
			[]byte(`{"clientKey":"k","task":{"type":"ComplexImageTask","class":"recaptcha","imagesBase64":[` + strings.Repeat(`"",`, (bodySize-120)/3) + `""]}}`), false},
		{"in.php, a 5.9 MB string field", "POST", "/in.php", "", "application/json", []byte(`{"key":"k","recaptcha":1,"textinstructions":"cars","body":"` + a + `"}`), false},
		{"in.php, a 5.9 MB url-encoded field", "POST", "/in.php", "", "application/x-www-form-urlencoded", []byte("key=k&recaptcha=1&textinstructions=cars&body=" + a), false},
		{"createTask, a 5.9 MB string field", "POST", "/createTask", "", "application/json", []byte(`{"clientKey":"k","task":{"type":"GridTask","comment":"cars","body":"` + a + `"}}`), false},
	}
}

// costOf sends b to a fresh process, after one small request, and returns the process's peak
// and the CPU the body cost.
func costOf(t *testing.T, limit string, b costlyBody) (peak int64, cpu time.Duration, status int, answer string) {
	f := start(t, "GOMEMLIMIT="+limit)
	f.invokeTimeout(event("POST", "/recognize", "question=cars&grid=3x3", "image/png", std3x3.PNG(), true), 20*time.Second)
	baseline, err := f.proc.PeakRSS()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("baseline (after one standard request): peak %.1f MB", float64(baseline)/(1<<20))
	before := f.proc.CPUTime()
	payload, _ := json.Marshal(event(b.method, b.path, b.query, b.contentType, b.body, b.binary))
	res, err := f.rt.Invoke(context.Background(), payload, 20*time.Second)
	cpu = f.proc.CPUTime() - before
	if err != nil || res.Error != nil {
		t.Fatalf("%s: %v %s", b.name, err, res.Error)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(res.Payload, &resp); err != nil {
		t.Fatal(err)
	}
	peak, err = f.proc.PeakRSS()
	if err != nil {
		t.Fatal(err)
	}
	f.proc.Kill()
	return peak, cpu, resp.StatusCode, resp.Body
}

func TestProtocolBodiesWithinTheNativeRoutesPeak(t *testing.T) {
	limit, err := testenv.TemplateMemoryLimit("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var nativeWorst int64
	for _, b := range nativeBodies() {
		peak, cpu, status, _ := costOf(t, limit, b)
		t.Logf("native   %-40s %7d bytes: %3d, peak %5.1f MB, CPU %4.0f ms", b.name, len(b.body), status, float64(peak)/(1<<20), float64(cpu)/1e6)
		nativeWorst = max(nativeWorst, peak)
	}
	for _, b := range protocolBodies() {
		peak, cpu, status, answer := costOf(t, limit, b)
		t.Logf("protocol %-40s %7d bytes: %3d, peak %5.1f MB, CPU %4.0f ms: %.80s", b.name, len(b.body), status, float64(peak)/(1<<20), float64(cpu)/1e6, answer)
		if status != 200 {
			t.Errorf("%s: status %d, want the protocol's 200", b.name, status)
		}
		if peak > nativeWorst+peakMargin {
			t.Errorf("%s: peak %.1f MB, over the native route's worst %.1f MB", b.name, float64(peak)/(1<<20), float64(nativeWorst)/(1<<20))
		}
	}
}

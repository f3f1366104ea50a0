package protocols

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// Whatever arrives at any route of either protocol, the answer is a 200 in the protocol's own
// shape: never a panic, another status, or a body its clients cannot read. The route is part of
// the input (any other path is the createTask protocol's, as the fixture's default), so a saved
// input replays on its own route.
func FuzzProtocols(f *testing.F) {
	pic := b64(tilePicture)
	for _, s := range []struct{ path, query, contentType, body string }{
		{CreateTaskPath, "", "application/json", `{"clientKey":"` + aliceKey + `","task":{"type":"GridTask","body":"` + pic + `","comment":"cars"}}`},
		{CreateTaskPath, "", "text/plain", `{"clientKey":"` + aliceKey + `","task":{"type":"ComplexImageTask","class":"recaptcha","imagesBase64":["` + pic + `"],"metadata":{"Grid":"1x1","Task":"cars"}}}`},
		{GetTaskResultPath, "", "", `{"clientKey":"` + aliceKey + `","taskId":1266933001723336}`},
		{"/feedbackTask", "", "", `{"clientKey":"` + aliceKey + `","taskId":"5","result":{"invalid":true}}`},
		{InPath, "key=" + aliceKey + "&json=1", "application/json", `{"method":"base64","recaptcha":1,"textinstructions":"cars","body":"` + pic + `"}`},
		{InPath, "", "application/x-www-form-urlencoded", "key=" + aliceKey + "&method=base64&recaptcha=1&textinstructions=cars&body=" + pic},
		{InPath, "", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nabc\r\n--x--\r\n"},
		{ResPath, "key=" + aliceKey + "&action=get&ids=1,2,3&json=1", "", ""},
		{ResPath, "key=" + aliceKey + "&action=reportbad&id=99", "", ""},
	} {
		f.Add(s.path, s.query, s.contentType, []byte(s.body))
	}
	fx := newFixture(f)
	// Pictures are imaging's own fuzz target (FuzzNormalize); here a mutated header may not make
	// one exec decode megapixels.
	fx.solver.Service.Limits = imaging.Limits{MaxBytes: 1 << 20, MaxPixels: 1 << 18, MaxDecodeBytes: 4 << 20}
	f.Fuzz(func(t *testing.T, path, query, contentType string, body []byte) {
		q, queryErr := url.ParseQuery(query) // as both transports read a query
		resp := fx.h.Serve(context.Background(), wire.Request{Method: "POST", Path: path, Query: q, QueryError: queryErr,
			Header: http.Header{"Content-Type": {contentType}}, Body: body})
		if resp.Status != http.StatusOK {
			t.Fatalf("status %d", resp.Status)
		}
		ct := resp.Header.Get("Content-Type")
		legacy := strings.TrimSuffix(path, "/") == InPath || strings.TrimSuffix(path, "/") == ResPath
		switch {
		case ct == "application/json":
			var doc map[string]any
			if err := json.Unmarshal(resp.Body, &doc); err != nil {
				t.Fatalf("%q: %v", resp.Body, err)
			}
			if legacy {
				if s, ok := doc["status"].(float64); !ok || (s != 0 && s != 1) {
					t.Fatalf("no status 0 or 1: %s", resp.Body)
				}
			} else if _, ok := doc["errorId"].(float64); !ok {
				t.Fatalf("no numeric errorId: %s", resp.Body)
			}
		case legacy && strings.HasPrefix(ct, "text/plain"):
			s := string(resp.Body)
			if !strings.HasPrefix(s, "OK") && !strings.HasPrefix(s, "ERROR_") && s != "100" {
				t.Fatalf("plain answer %q", s)
			}
		default:
			t.Fatalf("content-type %q", ct)
		}
	})
}

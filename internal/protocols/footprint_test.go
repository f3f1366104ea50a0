package protocols

import (
	"context"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/pipeline"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// repeated is head, then item with %d as its index until about n bytes, then tail.
func repeated(n int, head, item, tail string) []byte {
	var b strings.Builder
	b.WriteString(head)
	for i := 0; b.Len() < n-len(tail)-16; i++ {
		b.WriteString(strings.ReplaceAll(item, "%d", strconv.Itoa(i)))
	}
	b.WriteString(tail)
	return []byte(b.String())
}

// allocatedBy is every byte serve allocates, freed or not: an upper bound of what it holds.
func allocatedBy(serve func()) int64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	serve()
	runtime.ReadMemStats(&after)
	return int64(after.TotalAlloc - before.TotalAlloc)
}

// Each protocol's stated parse factor holds for the costliest bodies of its forms, at the body
// limit: serving one through the pipeline allocates at most the factor times the body, so what a
// request reserves of the memory budget covers what it makes of its body.
func TestFootprintHolds(t *testing.T) {
	const size = 6<<20 - 1024
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	js := http.Header{"Content-Type": {"application/json"}}
	bodies := map[string]wire.Request{
		"res.php ids":          {Method: "POST", Path: ResPath, Header: form, Body: repeated(size, "key="+aliceKey+"&action=get&ids=1", ",1", "")},
		"in.php form":          {Method: "POST", Path: InPath, Header: form, Body: repeated(size, "key="+aliceKey+"&method=base64&recaptcha=1&textinstructions=cars&body=", "A", "")},
		"in.php JSON":          {Method: "POST", Path: InPath, Header: js, Body: repeated(size, `{"key":"`+aliceKey+`","method":"base64"`, `,"p%d":1`, "}")},
		"createTask images":    {Method: "POST", Path: CreateTaskPath, Header: js, Body: repeated(size, `{"clientKey":"`+aliceKey+`","task":{"type":"ComplexImageTask","class":"recaptcha","imagesBase64":[""`, `,""`, "]}}")},
		"getTaskResult values": {Method: "POST", Path: GetTaskResultPath, Header: js, Body: repeated(size, `{"clientKey":"`+aliceKey+`","taskId":1,"x":[0`, `,0`, "]}")},
		// A picture whose every piece needs unescaping: the string is made twice, then decoded.
		"createTask escaped picture":              {Method: "POST", Path: CreateTaskPath, Header: js, Body: repeated(size, `{"clientKey":"`+aliceKey+`","task":{"type":"GridTask","comment":"cars","body":"`, `AA\/A`, `"}}`)},
		"in.php escaped JSON picture":             {Method: "POST", Path: InPath, Header: js, Body: repeated(size, `{"key":"`+aliceKey+`","recaptcha":1,"textinstructions":"cars","body":"`, `AA\/A`, `"}`)},
		"in.php escaped JSON picture with spaces": {Method: "POST", Path: InPath, Header: js, Body: repeated(size, `{"key":"`+aliceKey+`","recaptcha":1,"textinstructions":"cars","body":"`, `A \/A`, `"}`)},
		"in.php form picture with +":              {Method: "POST", Path: InPath, Header: form, Body: repeated(size, "key="+aliceKey+"&recaptcha=1&textinstructions=cars&body=", "AA+A", "")},
		"in.php multipart picture": {Method: "POST", Path: InPath, Header: http.Header{"Content-Type": {"multipart/form-data; boundary=x"}},
			Body: repeated(size, "--x\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n"+aliceKey+"\r\n--x\r\nContent-Disposition: form-data; name=\"textinstructions\"\r\n\r\ncars\r\n--x\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\n", "AAAA", "\r\n--x--\r\n")},
	}
	f := newFixture(t)
	for name, req := range bodies {
		factor := f.h.Routes[req.Path].Footprint(req).ParseFactor
		var resp wire.Response
		allocated := allocatedBy(func() { resp = f.h.Serve(context.Background(), req) })
		t.Logf("%s: %d bytes, %.1f× allocated, stated %d×; %.60s", name, len(req.Body), float64(allocated)/float64(len(req.Body)), factor, resp.Body)
		if allocated > factor*int64(len(req.Body)) {
			t.Errorf("%s: serving it allocated %.1f× its body, over the stated %d×", name, float64(allocated)/float64(len(req.Body)), factor)
		}
	}
}

// createTask and in.php carry a picture, and reserve a decode budget; polls, balances, reports
// and res.php do not.
func TestFootprintPictures(t *testing.T) {
	f := newFixture(t)
	for path, want := range map[string]bool{CreateTaskPath: true, InPath: true, InPath + "/": true, ResPath: false,
		GetTaskResultPath: false, GetBalancePath: false, "/reportIncorrect": false} {
		var p pipeline.Protocol = f.h.Routes[strings.TrimSuffix(path, "/")]
		if got := p.Footprint(wire.Request{Method: "POST", Path: path}).Picture; got != want {
			t.Errorf("%s: picture %v, want %v", path, got, want)
		}
	}
}

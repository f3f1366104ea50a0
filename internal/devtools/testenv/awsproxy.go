package testenv

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// AWSProxy sits between a function and moto_server. It counts Secrets Manager reads, and makes
// chosen AWS calls fail or stall the way the real services do, so the real SDK meets real error
// responses.
type AWSProxy struct {
	URL         string
	SecretReads atomic.Int64
	// S3Requests counts every S3 call, to prove a refusal read nothing.
	S3Requests atomic.Int64

	srv    *httptest.Server
	mu     sync.Mutex
	faults []AWSFault
}

// AWSFault is one scripted misbehaviour of an AWS operation.
type AWSFault struct {
	// Op is the operation: secretsmanager.GetSecretValue, s3.HeadObject, s3.GetObject or
	// s3.PutObject.
	Op string
	// Status and Code make an error response in the service's own shape (JSON for Secrets
	// Manager, XML for S3).
	Status int
	Code   string
	// SecretString answers GetSecretValue with this value (an empty secret, say).
	SecretString *string
	// Refuse closes the connection without an answer (the service unreachable).
	Refuse bool
	// StallBody forwards the real answer but stops for this long after its first bytes.
	StallBody time.Duration
	// Times is how many calls it applies to; 0 means every call until Clear.
	Times int
}

// StartAWSProxy proxies to moto at target.
func StartAWSProxy(target string) *AWSProxy {
	u, _ := url.Parse(target)
	p := &AWSProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := operation(r)
		if op == "secretsmanager.GetSecretValue" {
			p.SecretReads.Add(1)
		}
		if strings.HasPrefix(op, "s3.") {
			p.S3Requests.Add(1)
		}
		f, ok := p.take(op)
		if !ok {
			rp.ServeHTTP(w, r)
			return
		}
		p.misbehave(w, r, rp, f)
	}))
	p.URL = p.srv.URL
	return p
}

// Close stops the proxy.
func (p *AWSProxy) Close() { p.srv.Close() }

// Inject adds faults; the first matching one applies to each call.
func (p *AWSProxy) Inject(faults ...AWSFault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, faults...)
}

// Clear removes every fault.
func (p *AWSProxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = nil
}

func (p *AWSProxy) take(op string) (AWSFault, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, f := range p.faults {
		if f.Op != op {
			continue
		}
		if f.Times > 0 {
			if p.faults[i].Times--; p.faults[i].Times == 0 {
				p.faults = append(p.faults[:i], p.faults[i+1:]...)
			}
		}
		return f, true
	}
	return AWSFault{}, false
}

func operation(r *http.Request) string {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		return t
	}
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)
	if len(parts) < 2 || parts[1] == "" {
		return "s3.Bucket" + r.Method
	}
	switch r.Method {
	case http.MethodHead:
		return "s3.HeadObject"
	case http.MethodGet:
		return "s3.GetObject"
	case http.MethodPut:
		return "s3.PutObject"
	}
	return "s3.Object" + r.Method
}

func (p *AWSProxy) misbehave(w http.ResponseWriter, r *http.Request, rp *httputil.ReverseProxy, f AWSFault) {
	switch {
	case f.Refuse:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
			}
		}
	case f.SecretString != nil:
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, `{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:x","Name":"x","VersionId":"v1","SecretString":`+quote(*f.SecretString)+`}`)
	case f.StallBody > 0:
		rec := httptest.NewRecorder()
		rp.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		body := rec.Body.Bytes()
		head := min(len(body), 16)
		w.Write(body[:head])
		w.(http.Flusher).Flush()
		stall(r.Context(), f.StallBody)
		w.Write(body[head:])
	case strings.HasPrefix(f.Op, "secretsmanager."):
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-Errortype", f.Code)
		w.WriteHeader(f.Status)
		io.WriteString(w, `{"__type":"`+f.Code+`","message":"injected by the test proxy"}`)
	default:
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(f.Status)
		if r.Method != http.MethodHead {
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>`+f.Code+`</Code><Message>injected by the test proxy</Message></Error>`)
		}
	}
}

func stall(ctx context.Context, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

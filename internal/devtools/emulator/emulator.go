package emulator

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	// The upstream takes PNG and JPEG only.
	_ "image/jpeg"
	_ "image/png"

	"github.com/recaptcha-recognizer/recognizer/api"
	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/question"
)

// Path is where the upstream serves recognition.
const Path = api.UpstreamPath

// maxBody bounds what the emulator reads; the upstream's own limit is not documented.
const maxBody = 10 << 20

// Fault is one scripted misbehaviour, used for the next request instead of a normal answer.
type Fault struct {
	Status     int           // answer with this status and the contract's error body (or Body)
	RetryAfter string        // Retry-After header value
	Delay      time.Duration // wait this long (or until the client gives up) before answering
	Body       string        // raw body to send instead of the error shape (malformed answers)
	Drop       bool          // close the connection without any answer
	// CutBody sends the real answer's headers and half its body, then closes the connection.
	CutBody bool
	// StallBody sends the real answer's first bytes, then stops for this long (or until the
	// client gives up) before the rest.
	StallBody time.Duration
}

// Shape is a way the engine writes its solution (docs/providers.md).
type Shape int

const (
	// ShapeSeed is the contract's example: size, label, confidences, objects, type.
	ShapeSeed Shape = iota
	// ShapeReseller is how services reselling the engine answer: a single tile as
	// {"type": "single", "hasObject": …, "size": 100} with neither objects nor confidences, and
	// a grid without confidences.
	ShapeReseller
)

// Emulator is an http.Handler that behaves like the upstream.
type Emulator struct {
	mu     sync.Mutex
	tokens map[string]bool
	faults []Fault
	shape  Shape

	requests    atomic.Int64
	recognized  atomic.Int64
	connections atomic.Int64
}

// New returns an emulator that accepts the given bearer tokens.
func New(tokens ...string) *Emulator {
	e := &Emulator{}
	e.SetTokens(tokens...)
	return e
}

// SetTokens replaces the accepted tokens (a rotation).
func (e *Emulator) SetTokens(tokens ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.tokens = map[string]bool{}
	for _, t := range tokens {
		e.tokens[t] = true
	}
}

// SetShape makes every later solution come in shape.
func (e *Emulator) SetShape(shape Shape) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.shape = shape
}

// Inject queues faults; each is used for one request, in order.
func (e *Emulator) Inject(faults ...Fault) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = append(e.faults, faults...)
}

// ClearFaults drops the faults not yet used.
func (e *Emulator) ClearFaults() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = nil
}

// Requests is how many requests reached the emulator.
func (e *Emulator) Requests() int { return int(e.requests.Load()) }

// Recognized is how many requests were answered with a solution.
func (e *Emulator) Recognized() int { return int(e.recognized.Load()) }

// Connections is how many TCP connections a server started by Start accepted.
func (e *Emulator) Connections() int { return int(e.connections.Load()) }

// Server is a running emulator on a loopback port.
type Server struct {
	*Emulator
	URL  string // full recognition URL
	http *http.Server
}

// Start serves e on addr ("127.0.0.1:0" for any free port).
func (e *Emulator) Start(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				e.connections.Add(1)
			}
		},
	}
	go srv.Serve(ln)
	return &Server{Emulator: e, URL: "http://" + ln.Addr().String() + Path, http: srv}, nil
}

// Close stops the server at once.
func (s *Server) Close() error { return s.http.Close() }

func (e *Emulator) nextFault() (Fault, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.faults) == 0 {
		return Fault{}, false
	}
	f := e.faults[0]
	e.faults = e.faults[1:]
	return f, true
}

type request struct {
	Image    string `json:"image"`
	Question string `json:"question"`
}

// Solution is the upstream's answer body's solution object.
type Solution struct {
	Size        int       `json:"size"`
	Label       string    `json:"label"`
	Confidences []float64 `json:"confidences"`
	Objects     []int     `json:"objects"`
	Type        string    `json:"type"`
}

func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.requests.Add(1)
	if f, ok := e.nextFault(); ok {
		e.fault(w, r, f)
		return
	}
	e.answer(w, r)
}

func (e *Emulator) answer(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != Path {
		writeError(w, http.StatusNotFound, "not_found", "no such API")
		return
	}
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "use POST")
		return
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	e.mu.Lock()
	known := ok && e.tokens[token]
	e.mu.Unlock()
	if !known {
		writeError(w, http.StatusUnauthorized, "invalid_token", "invalid or missing authorization token")
		return
	}
	if mt := strings.TrimSpace(strings.Split(r.Header.Get("Content-Type"), ";")[0]); mt != "application/json" {
		writeError(w, http.StatusBadRequest, "token_mismatched", "content-type must be application/json")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		writeError(w, http.StatusBadRequest, "token_mismatched", "body unreadable or too large")
		return
	}
	var req request
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "token_mismatched", "body is not the expected JSON: "+err.Error())
		return
	}
	if _, ok := question.Default.Lookup(req.Question); !ok {
		writeError(w, http.StatusBadRequest, "token_mismatched", "question must be a label id from the table, such as /m/0k4j")
		return
	}
	raw, err := base64.StdEncoding.DecodeString(req.Image)
	if err != nil {
		writeError(w, http.StatusBadRequest, "token_mismatched", "image is not base64")
		return
	}
	img, format, err := DecodePicture(raw)
	if err != nil {
		writeError(w, http.StatusBadRequest, "token_mismatched", "image is not a PNG or JPEG picture")
		return
	}
	size := img.Bounds().Dx()
	grid := map[int]int{100: 1, 300: 3, 450: 4}[size]
	if grid == 0 || img.Bounds().Dy() != size {
		writeError(w, http.StatusBadRequest, "token_mismatched",
			fmt.Sprintf("image must be 100x100, 300x300 or 450x450 pixels, not %dx%d (%s)", size, img.Bounds().Dy(), format))
		return
	}
	conf, objects := Recognize(img, grid, req.Question)
	kind := "multi"
	if grid == 1 {
		kind = "single"
	}
	e.recognized.Add(1)
	e.mu.Lock()
	shape := e.shape
	e.mu.Unlock()
	switch {
	case shape == ShapeReseller && grid == 1:
		writeJSON(w, http.StatusOK, map[string]any{"solution": map[string]any{
			"type": kind, "hasObject": len(objects) == 1, "size": size, "label": req.Question,
		}})
	case shape == ShapeReseller:
		writeJSON(w, http.StatusOK, map[string]any{"solution": map[string]any{
			"objects": objects, "type": kind, "size": size, "label": req.Question,
		}})
	default:
		writeJSON(w, http.StatusOK, map[string]Solution{"solution": {
			Size: size, Label: req.Question, Confidences: conf, Objects: objects, Type: kind,
		}})
	}
}

func (e *Emulator) fault(w http.ResponseWriter, r *http.Request, f Fault) {
	if f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if f.CutBody || f.StallBody > 0 {
		rec := httptest.NewRecorder()
		e.answer(rec, r)
		body := rec.Body.Bytes()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		if f.CutBody {
			panic(http.ErrAbortHandler) // net/http closes the connection mid-body
		}
		select {
		case <-time.After(f.StallBody):
		case <-r.Context().Done():
			return
		}
		w.Write(body[len(body)/2:])
		return
	}
	if f.Drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
			}
		}
		return
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	status := f.Status
	if status == 0 {
		status = http.StatusOK
	}
	if f.Body != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, f.Body)
		return
	}
	code := map[int]string{401: "invalid_token", 429: "too_many_requests"}[status]
	if code == "" {
		code = "api_error"
	}
	writeError(w, status, code, "injected fault "+strconv.Itoa(status))
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{
		"success":  false,
		"error":    map[string]string{"code": code, "message": message},
		"trace_id": apierr.NewTraceID(),
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// Package taskemu is a development tool: strict stand-ins for the recognition providers that
// share the createTask envelope (docs/providers.md §2): CapSolver and YesCaptcha
// (ReCaptchaV2Classification, answered by createTask itself) and CapMonster Cloud
// (ComplexImageTask of class recaptcha, created, then polled with getTaskResult). Each checks
// requests the way its documentation says, answers in its shapes and error codes, recognizes with
// the same synthetic rule as the AceData emulator (internal/devtools/emulator), and can inject
// faults and latency.
package taskemu

import (
	"encoding/base64"
	"encoding/json"
	"image"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	// The providers take PNG and JPEG.
	_ "image/jpeg"
	_ "image/png"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/emulator"
	"github.com/recaptcha-recognizer/recognizer/internal/question"
)

// Kind is which provider the emulator plays.
type Kind string

// The providers emulated.
const (
	CapSolver  Kind = "capsolver"
	YesCaptcha Kind = "yescaptcha"
	CapMonster Kind = "capmonster"
)

// Fault is one scripted misbehaviour, used for the next createTask instead of a normal answer.
type Fault struct {
	Status    int           // answer with this HTTP status (and an errorId 1 body when ErrorCode is set)
	ErrorCode string        // answer errorId 1 with this code (ERROR_ZERO_BALANCE, ERROR_RATE_LIMIT, ...)
	Delay     time.Duration // wait this long (or until the client gives up) first
	Body      string        // raw body instead (malformed answers)
	Drop      bool          // close the connection without an answer
}

// Emulator is an http.Handler that behaves like one provider.
type Emulator struct {
	kind Kind

	mu     sync.Mutex
	keys   map[string]bool
	faults []Fault
	tasks  map[int64]*task
	nextID int64
	// Latency, if set, is how long each createTask takes (for benchmarks of heavy tails).
	latency func() time.Duration
	// Polls is how many getTaskResult calls answer "processing" before "ready" (CapMonster).
	polls int

	requests   atomic.Int64
	recognized atomic.Int64

	// issued is every task id answered (the ids a report may name); reports counts the reports
	// accepted per task id; reportFaults are used for the next reports instead of answering.
	issued       map[string]bool
	reports      map[string]int
	reportFaults []Fault
}

type task struct {
	answer []bool
	polls  int
}

// New returns an emulator of kind accepting the given client keys.
func New(kind Kind, keys ...string) *Emulator {
	e := &Emulator{kind: kind, keys: map[string]bool{}, tasks: map[int64]*task{}, nextID: 1000, polls: 1,
		issued: map[string]bool{}, reports: map[string]int{}}
	for _, k := range keys {
		e.keys[k] = true
	}
	return e
}

// Inject queues faults; each is used for one createTask, in order.
func (e *Emulator) Inject(faults ...Fault) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = append(e.faults, faults...)
}

// SetLatency makes every createTask take latency() before it is answered.
func (e *Emulator) SetLatency(latency func() time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.latency = latency
}

// SetPolls sets how many getTaskResult calls answer "processing" before "ready" (CapMonster;
// the default is 1); a negative n keeps every task processing for ever.
func (e *Emulator) SetPolls(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.polls = n
	if n < 0 {
		e.polls = 1 << 62
	}
}

// Requests is how many requests reached the emulator (createTask and getTaskResult).
func (e *Emulator) Requests() int { return int(e.requests.Load()) }

// Recognized is how many tasks were solved.
func (e *Emulator) Recognized() int { return int(e.recognized.Load()) }

// Server is a running emulator on a loopback port.
type Server struct {
	*Emulator
	URL  string // the API base
	http *http.Server
}

// Start serves e on addr ("127.0.0.1:0" for any free port).
func (e *Emulator) Start(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return &Server{Emulator: e, URL: "http://" + ln.Addr().String(), http: srv}, nil
}

// Close stops the server at once.
func (s *Server) Close() error { return s.http.Close() }

func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.requests.Add(1)
	if r.Method != http.MethodPost {
		e.fail(w, http.StatusMethodNotAllowed, "ERROR_BAD_REQUEST")
		return
	}
	switch {
	case r.URL.Path == "/createTask":
		e.mu.Lock()
		var f *Fault
		if len(e.faults) > 0 {
			f = &e.faults[0]
			e.faults = e.faults[1:]
		}
		latency := e.latency
		e.mu.Unlock()
		if latency != nil && !wait(r, latency()) {
			return
		}
		if f != nil {
			e.fault(w, r, *f)
			return
		}
		e.create(w, r)
	case r.URL.Path == "/getTaskResult" && e.kind == CapMonster:
		e.result(w, r)
	case r.URL.Path == "/reportIncorrectImageCaptcha" && e.kind == CapMonster,
		r.URL.Path == "/feedbackTask" && e.kind == CapSolver:
		e.report(w, r)
	default:
		e.fail(w, http.StatusNotFound, "ERROR_BAD_REQUEST")
	}
}

func wait(r *http.Request, d time.Duration) bool {
	select {
	case <-time.After(d):
		return true
	case <-r.Context().Done():
		return false
	}
}

func (e *Emulator) fault(w http.ResponseWriter, r *http.Request, f Fault) {
	if f.Delay > 0 && !wait(r, f.Delay) {
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
	code := f.ErrorCode
	if code == "" {
		code = "ERROR_SERVICE_UNAVALIABLE"
	}
	e.fail(w, status, code)
}

// fail answers errorId 1 with code. CapSolver answers its errors with 400 (401 for a bad key);
// the others with 200, as their documentation shows.
func (e *Emulator) fail(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, map[string]any{"errorId": 1, "errorCode": code, "errorDescription": "emulated: " + code})
}

func (e *Emulator) refuse(w http.ResponseWriter, code string) {
	status := http.StatusOK
	if e.kind == CapSolver {
		status = http.StatusBadRequest
		if code == "ERROR_KEY_DENIED_ACCESS" {
			status = http.StatusUnauthorized
		}
	}
	e.fail(w, status, code)
}

// decode reads a JSON body strictly into v: a JSON content type, no unknown fields.
func decode(r *http.Request, v any) bool {
	if mt := strings.TrimSpace(strings.Split(r.Header.Get("Content-Type"), ";")[0]); mt != "application/json" {
		return false
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 10<<20))
	dec.DisallowUnknownFields()
	return dec.Decode(v) == nil
}

func (e *Emulator) keyOK(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.keys[key]
}

func (e *Emulator) badKey() string {
	if e.kind == CapSolver {
		return "ERROR_KEY_DENIED_ACCESS"
	}
	return "ERROR_KEY_DOES_NOT_EXIST"
}

type classification struct {
	Type     string `json:"type"`
	Image    string `json:"image"`
	Question string `json:"question"`
	// Optional fields the documentation names.
	WebsiteURL string   `json:"websiteURL,omitempty"`
	WebsiteKey string   `json:"websiteKey,omitempty"`
	Confidence *float64 `json:"confidence,omitempty"`
}

type complexImage struct {
	Type         string   `json:"type"`
	Class        string   `json:"class"`
	ImagesBase64 []string `json:"imagesBase64"`
	Metadata     struct {
		Grid           string `json:"Grid"`
		TaskDefinition string `json:"TaskDefinition"`
		Task           string `json:"Task,omitempty"`
	} `json:"metadata"`
	WebsiteURL string `json:"websiteURL,omitempty"`
}

func (e *Emulator) create(w http.ResponseWriter, r *http.Request) {
	if e.kind == CapMonster {
		var req struct {
			ClientKey string       `json:"clientKey"`
			Task      complexImage `json:"task"`
		}
		if !decode(r, &req) {
			e.refuse(w, "ERROR_BAD_REQUEST")
			return
		}
		if !e.keyOK(req.ClientKey) {
			e.refuse(w, e.badKey())
			return
		}
		t := req.Task
		if t.Type != "ComplexImageTask" || t.Class != "recaptcha" || len(t.ImagesBase64) != 1 {
			e.refuse(w, "ERROR_TASK_NOT_SUPPORTED")
			return
		}
		img, grid, ok := picture(t.ImagesBase64[0])
		if !ok || t.Metadata.Grid != strconv.Itoa(grid)+"x"+strconv.Itoa(grid) {
			e.refuse(w, "ERROR_IMAGE_TYPE_NOT_SUPPORTED")
			return
		}
		if _, ok := question.Default.Lookup(t.Metadata.TaskDefinition); !ok {
			e.refuse(w, "ERROR_BAD_REQUEST")
			return
		}
		_, objects := emulator.Recognize(img, grid, t.Metadata.TaskDefinition)
		answer := make([]bool, grid*grid)
		for _, o := range objects {
			answer[o] = true
		}
		e.mu.Lock()
		e.nextID++
		id := e.nextID
		e.tasks[id] = &task{answer: answer, polls: e.polls}
		e.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"errorId": 0, "taskId": id})
		return
	}
	var req struct {
		ClientKey string         `json:"clientKey"`
		Task      classification `json:"task"`
	}
	if !decode(r, &req) {
		e.refuse(w, "ERROR_INVALID_TASK_DATA")
		return
	}
	if !e.keyOK(req.ClientKey) {
		e.refuse(w, e.badKey())
		return
	}
	if req.Task.Type != "ReCaptchaV2Classification" {
		e.refuse(w, "ERROR_INVALID_TASK_DATA")
		return
	}
	if _, ok := question.Default.Lookup(req.Task.Question); !ok {
		e.refuse(w, "ERROR_INVALID_TASK_DATA")
		return
	}
	img, grid, ok := picture(req.Task.Image)
	if !ok {
		e.refuse(w, "ERROR_INVALID_TASK_DATA")
		return
	}
	_, objects := emulator.Recognize(img, grid, req.Task.Question)
	e.recognized.Add(1)
	sol := map[string]any{"objects": objects, "type": "multi"}
	if grid == 1 { // a tile is answered with hasObject (docs/providers.md §1)
		sol = map[string]any{"type": "single", "hasObject": len(objects) == 1, "size": 100}
	}
	e.mu.Lock()
	e.nextID++
	id := "emulated-" + strconv.FormatInt(e.nextID, 36)
	e.issued[id] = true
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"errorId": 0, "errorCode": "", "errorDescription": "",
		"status": "ready", "taskId": id, "solution": sol})
}

func (e *Emulator) result(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ClientKey string `json:"clientKey"`
		TaskID    int64  `json:"taskId"`
	}
	if !decode(r, &req) {
		e.refuse(w, "ERROR_BAD_REQUEST")
		return
	}
	if !e.keyOK(req.ClientKey) {
		e.refuse(w, e.badKey())
		return
	}
	e.mu.Lock()
	t := e.tasks[req.TaskID]
	ready := t != nil && t.polls <= 0
	if t != nil && !ready {
		t.polls--
	}
	if ready {
		delete(e.tasks, req.TaskID)
		e.issued[strconv.FormatInt(req.TaskID, 10)] = true
	}
	e.mu.Unlock()
	switch {
	case t == nil:
		e.refuse(w, "ERROR_NO_SUCH_CAPCHA_ID")
	case !ready:
		writeJSON(w, http.StatusOK, map[string]any{"errorId": 0, "status": "processing"})
	default:
		e.recognized.Add(1)
		writeJSON(w, http.StatusOK, map[string]any{"errorId": 0, "status": "ready", "solution": map[string]any{"answer": t.answer}})
	}
}

// picture decodes a base64 PNG or JPEG of the engine's sizes and returns its grid (1, 3 or 4).
func picture(b64 string) (image.Image, int, bool) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, 0, false
	}
	img, _, err := emulator.DecodePicture(raw)
	if err != nil {
		return nil, 0, false
	}
	size := img.Bounds().Dx()
	grid := map[int]int{100: 1, 300: 3, 450: 4}[size]
	if grid == 0 || img.Bounds().Dy() != size {
		return nil, 0, false
	}
	return img, grid, true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

package taskemu

import (
	"net/http"
	"strconv"
)

// InjectReport queues faults; each is used for one report, in order.
func (e *Emulator) InjectReport(faults ...Fault) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.reportFaults = append(e.reportFaults, faults...)
}

// Reports is how many reports were accepted for the task id (every task's when id is "").
func (e *Emulator) Reports(id string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if id != "" {
		return e.reports[id]
	}
	n := 0
	for _, c := range e.reports {
		n += c
	}
	return n
}

// report takes a report as the provider documents it (docs/providers.md §5): CapMonster's
// reportIncorrectImageCaptcha {clientKey, taskId (integer)} answered {errorId 0, status
// "success"}; CapSolver's feedbackTask {clientKey, appId?, taskId (string), result {invalid,
// code?, message?}} answered {errorId 0, message}. A task it did not answer is
// ERROR_NO_SUCH_CAPCHA_ID.
func (e *Emulator) report(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	var f *Fault
	if len(e.reportFaults) > 0 {
		f = &e.reportFaults[0]
		e.reportFaults = e.reportFaults[1:]
	}
	e.mu.Unlock()
	if f != nil {
		e.fault(w, r, *f)
		return
	}
	key, id, ok := e.readReport(r)
	if !ok {
		e.refuse(w, "ERROR_INVALID_TASK_DATA")
		return
	}
	if !e.keyOK(key) {
		e.refuse(w, e.badKey())
		return
	}
	e.mu.Lock()
	known := e.issued[id]
	if known {
		e.reports[id]++
	}
	e.mu.Unlock()
	switch {
	case !known:
		e.refuse(w, "ERROR_NO_SUCH_CAPCHA_ID")
	case e.kind == CapMonster:
		writeJSON(w, http.StatusOK, map[string]any{"errorId": 0, "status": "success"})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"errorId": 0, "errorCode": "", "errorDescription": "", "message": "ok"})
	}
}

// readReport decodes a report strictly: the key and the task id, as the provider's method
// spells them.
func (e *Emulator) readReport(r *http.Request) (key, id string, ok bool) {
	if e.kind == CapMonster {
		var req struct {
			ClientKey string `json:"clientKey"`
			TaskID    *int64 `json:"taskId"`
		}
		if !decode(r, &req) || req.TaskID == nil {
			return "", "", false
		}
		return req.ClientKey, strconv.FormatInt(*req.TaskID, 10), true
	}
	var req struct {
		ClientKey string  `json:"clientKey"`
		AppID     string  `json:"appId,omitempty"`
		TaskID    *string `json:"taskId"`
		Result    *struct {
			Invalid *bool  `json:"invalid"`
			Code    *int   `json:"code,omitempty"`
			Message string `json:"message,omitempty"`
		} `json:"result"`
	}
	if !decode(r, &req) || req.TaskID == nil || req.Result == nil || req.Result.Invalid == nil {
		return "", "", false
	}
	return req.ClientKey, *req.TaskID, true
}

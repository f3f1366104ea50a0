package app

import (
	"log/slog"
	"strconv"
	"strings"

	"github.com/recaptcha-recognizer/recognizer/internal/clock"
	"github.com/recaptcha-recognizer/recognizer/internal/membudget"
)

// defaultMemoryMB sizes the budget where Lambda does not say the function's memory (a process
// outside Lambda): a managed instance's 2048 MB.
const defaultMemoryMB = 2048

// MemoryBudget is the process's memory budget (membudget.SizeFor), from the function's memory
// and the invocations it serves at once as Lambda sets them: AWS_LAMBDA_FUNCTION_MEMORY_SIZE (in
// MB; defaultMemoryMB without it) and AWS_LAMBDA_MAX_CONCURRENCY (managed instances; 1 without
// it). It logs its size.
func MemoryBudget(getenv func(string) string, log *slog.Logger) *membudget.Budget {
	memory, inFlight := defaultMemoryMB, 1
	if v, err := strconv.Atoi(strings.TrimSpace(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"))); err == nil && v > 0 {
		memory = v
	}
	if v, err := strconv.Atoi(strings.TrimSpace(getenv("AWS_LAMBDA_MAX_CONCURRENCY"))); err == nil && v > 0 {
		inFlight = v
	}
	b := membudget.New(membudget.SizeFor(memory, inFlight), membudget.DefaultWait, clock.Real{})
	log.Info("memory budget", "budget_mb", b.Size()>>20, "memory_mb", memory, "in_flight", inFlight)
	return b
}

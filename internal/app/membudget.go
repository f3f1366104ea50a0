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

// MemoryBudget is the process's memory budget: half of AWS_LAMBDA_FUNCTION_MEMORY_SIZE, which
// Lambda sets to the function's memory in MB (defaultMemoryMB without it). It logs its size.
func MemoryBudget(getenv func(string) string, log *slog.Logger) *membudget.Budget {
	mb, from := defaultMemoryMB, "default"
	if v, err := strconv.Atoi(strings.TrimSpace(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"))); err == nil && v > 0 {
		mb, from = v, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
	}
	b := membudget.New(membudget.SizeFor(mb), membudget.DefaultWait, clock.Real{})
	log.Info("memory budget", "budget_mb", b.Size()>>20, "memory_mb", mb, "from", from)
	return b
}

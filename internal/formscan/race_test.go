//go:build race

package formscan

// The race detector's bookkeeping allocates beside the code's own allocations: the fixed part
// of a parse's cost is several times larger under it.
const raceEnabled = true

//go:build race

package httpapi

// raceFactor: the race detector's bookkeeping allocates beside the code's own allocations (a
// multipart body is counted twice over under it), so an allocation bound holds for the code's
// own allocations only without it.
const raceFactor = 2

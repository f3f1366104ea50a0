//go:build !race

package formscan

const raceEnabled = false

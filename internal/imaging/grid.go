// Package imaging validates a caller's challenge picture and normalizes it to what the upstream
// accepts: a square PNG or JPEG of 100 (one tile), 300 (3×3) or 450 (4×4) pixels, with every tile
// where the upstream expects it. It also says where each tile lies in the caller's own image, so
// answers can be turned into click coordinates.
package imaging

import (
	"strings"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
)

// Grid is the number of tiles on each side of a challenge: 1, 3 or 4. The zero Grid means "not
// given": Normalize then works it out from the picture.
type Grid int

// The grids the upstream knows.
const (
	GridAuto   Grid = 0
	GridSingle Grid = 1
	Grid3x3    Grid = 3
	Grid4x4    Grid = 4
)

// ParseGrid accepts "3x3", "4x4", "1x1" (also "3", "4", "1", and "×" for "x"); "" is GridAuto.
func ParseGrid(s string) (Grid, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.ReplaceAll(s, "×", "x")
	switch s {
	case "":
		return GridAuto, nil
	case "1x1", "1":
		return GridSingle, nil
	case "3x3", "3":
		return Grid3x3, nil
	case "4x4", "4":
		return Grid4x4, nil
	}
	return GridAuto, apierr.New(apierr.CodeInvalidGrid,
		"grid %q is not one of 3x3, 4x4, 1x1", apierr.Clip(s, 16))
}

// String is the grid as callers write it ("3x3").
func (g Grid) String() string {
	switch g {
	case GridSingle, Grid3x3, Grid4x4:
		n := string(rune('0' + int(g)))
		return n + "x" + n
	}
	return ""
}

// Size is the upstream's side length in pixels for the grid.
func (g Grid) Size() int {
	switch g {
	case GridSingle:
		return 100
	case Grid3x3:
		return 300
	case Grid4x4:
		return 450
	}
	return 0
}

// Tiles is the number of tiles in the grid.
func (g Grid) Tiles() int { return int(g) * int(g) }

// GridForSize is the grid of an upstream-size image, or GridAuto for any other size.
func GridForSize(width, height int) Grid {
	if width != height {
		return GridAuto
	}
	for _, g := range []Grid{GridSingle, Grid3x3, Grid4x4} {
		if g.Size() == width {
			return g
		}
	}
	return GridAuto
}

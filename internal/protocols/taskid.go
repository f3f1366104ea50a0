package protocols

import (
	"slices"
	"strconv"

	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
)

// A task id is a number below 2^53 (JavaScript clients read it as a double, so larger ones
// would come back changed): 53 bits enciphered with FF1 (taskid_ff1.go) under the deployment's
// id key, with the caller (its name and key) as the tweak. Deciphered, it reads
//
//	kind (3 bits) | provider (3 bits) | answer (17 bits) | zero (30 bits)
//	kindRecord    | handle (17 bits)  | check (33 bits)
//
// The first form carries the whole answer, so any instance of the deployment answers
// getTaskResult, res.php and the reports with no shared store; its 30 zero bits authenticate it
// (encode-then-encipher): an id made up, altered, issued to another caller or by another
// deployment deciphers to something else, whose zero bits hold with probability 2^-30, and is
// "no such task". Without the id key, an id says nothing about its answer but that it is one.
//
// The one answer that does not fit is the coordinates of a picture whose tiles are not the even
// split of an engine-size square (a widget screenshot): those ids name a record kept by the
// instance that solved the task (taskid_records.go). The handle is unique among the caller's live
// records on that instance, so its id is never another record's; the check is drawn at random
// and kept with the record, so a handle that another instance also issued answers only with
// probability 2^-33.
type kind uint8

const (
	kindComplexImage   kind = 1 // ComplexImageTask class recaptcha: answer booleans
	kindClassification kind = 2 // ReCaptchaV2Classification: objects / hasObject
	kindGrid           kind = 3 // GridTask: 1-based clicks
	kindCoordinates    kind = 4 // ImageToCoordinatesTask on an engine-size picture
	kindLegacy         kind = 5 // in.php: click:1/5/9
	kindRecord         kind = 6 // ImageToCoordinatesTask answered from an instance's record
)

const (
	idBits     = 53
	kindShift  = idBits - 3
	zeroBits   = 30
	answerBits = 17
	handleBits = 17
	checkBits  = kindShift - handleBits
)

// providerNames gives each provider a number for the id; 0 is "not known".
var providerNames = []string{"", "acedata", "capsolver", "yescaptcha", "capmonster"}

// answer is what every protocol's solution is derived from.
type answer struct {
	kind     kind
	provider string
	grid     imaging.Grid
	objects  []int // tile indices from 0, ascending
	// clicks are the tile centres in the caller's pixels (coordinates tasks only).
	clicks [][2]int
}

// encodeAnswer packs grid and objects into 17 bits: 1x1 is 0..1, 3x3 is 2+mask (9 bits),
// 4x4 is 514+mask (16 bits).
func encodeAnswer(grid imaging.Grid, objects []int) uint64 {
	var mask uint64
	for _, o := range objects {
		mask |= 1 << o
	}
	switch grid {
	case imaging.GridSingle:
		return mask & 1
	case imaging.Grid3x3:
		return 2 + mask&0x1ff
	}
	return 514 + mask&0xffff
}

func decodeAnswer(v uint64) (imaging.Grid, []int, bool) {
	var grid imaging.Grid
	var mask uint64
	switch {
	case v < 2:
		grid, mask = imaging.GridSingle, v
	case v < 514:
		grid, mask = imaging.Grid3x3, v-2
	case v < 514+1<<16:
		grid, mask = imaging.Grid4x4, v-514
	default:
		return 0, nil, false
	}
	objects := []int{}
	for i := 0; i < grid.Tiles(); i++ {
		if mask&(1<<i) != 0 {
			objects = append(objects, i)
		}
	}
	return grid, objects, true
}

func providerIndex(name string) uint64 {
	if i := slices.Index(providerNames, name); i > 0 {
		return uint64(i)
	}
	return 0
}

// evenClicks are the tile centres of an engine-size picture (grid.Size() pixels square, split
// evenly), computed as imaging computes them.
func evenClicks(grid imaging.Grid, objects []int) [][2]int {
	n, size := int(grid), grid.Size()
	out := make([][2]int, 0, len(objects))
	for _, o := range objects {
		col, row := o%n, o/n
		r := imaging.Rect{X0: float64(col*size) / float64(n), X1: float64((col+1)*size) / float64(n),
			Y0: float64(row*size) / float64(n), Y1: float64((row+1)*size) / float64(n)}
		x, y := r.Center()
		out = append(out, [2]int{x, y})
	}
	return out
}

func formatID(id uint64) string { return strconv.FormatUint(id, 10) }

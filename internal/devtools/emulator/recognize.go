// Package emulator is a development tool: a strict stand-in for the upstream recognition API
// (its contract: docs/upstream-contract.txt) for local runs and tests, which must never call the real
// one. It checks requests the way the contract says (bearer token, JSON body, base64 PNG/JPEG of
// 100, 300 or 450 pixels, a known label id), answers in the contract's shapes, and can inject
// faults.
//
// It cannot see cars. Its recognition rule is synthetic and deterministic: every label has a
// signature colour, and a tile "contains" the label when the centre of the tile averages close to
// that colour. Test pictures paint target tiles in the signature colour, so a test knows which
// tiles must come back and proves that normalization kept every tile in its place.
package emulator

import (
	"image"
	"image/color"
	"math"

	"github.com/recaptcha-recognizer/recognizer/internal/question"
)

// Signature is the colour the emulator recognizes as the label: hues evenly spread over the
// label table, fully saturated, so neighbouring labels are ~80 RGB units apart.
func Signature(labelID string) (color.RGBA, bool) {
	for i, l := range question.Default.Labels() {
		if l.ID == labelID {
			return hsv(float64(i)*360/float64(len(question.Default.Labels())), 1, 0.9), true
		}
	}
	return color.RGBA{}, false
}

func hsv(h, s, v float64) color.RGBA {
	c := v * s
	x := c * (1 - math.Abs(math.Mod(h/60, 2)-1))
	m := v - c
	var r, g, b float64
	switch {
	case h < 60:
		r, g, b = c, x, 0
	case h < 120:
		r, g, b = x, c, 0
	case h < 180:
		r, g, b = 0, c, x
	case h < 240:
		r, g, b = 0, x, c
	case h < 300:
		r, g, b = x, 0, c
	default:
		r, g, b = c, 0, x
	}
	return color.RGBA{uint8((r + m) * 255), uint8((g + m) * 255), uint8((b + m) * 255), 255}
}

// matchDistance is the RGB distance at which confidence falls to zero; a tile is an object at
// confidence 0.5 and above.
const matchDistance = 80

// Recognize returns, for each of the grid×grid tiles of img (row-major), the confidence that it
// shows label, and the indices of the tiles that do.
func Recognize(img image.Image, grid int, labelID string) (confidences []float64, objects []int) {
	sig, _ := Signature(labelID)
	b := img.Bounds()
	tw, th := float64(b.Dx())/float64(grid), float64(b.Dy())/float64(grid)
	confidences = make([]float64, 0, grid*grid)
	objects = []int{}
	for ty := 0; ty < grid; ty++ {
		for tx := 0; tx < grid; tx++ {
			// The centre half of the tile: edges carry resampling and JPEG blur from neighbours.
			x0, x1 := b.Min.X+int((float64(tx)+0.25)*tw), b.Min.X+int((float64(tx)+0.75)*tw)
			y0, y1 := b.Min.Y+int((float64(ty)+0.25)*th), b.Min.Y+int((float64(ty)+0.75)*th)
			var sr, sg, sb, n float64
			for y := y0; y < y1; y++ {
				for x := x0; x < x1; x++ {
					r, g, bl, _ := img.At(x, y).RGBA()
					sr, sg, sb, n = sr+float64(r>>8), sg+float64(g>>8), sb+float64(bl>>8), n+1
				}
			}
			d := math.Sqrt(sq(sr/n-float64(sig.R)) + sq(sg/n-float64(sig.G)) + sq(sb/n-float64(sig.B)))
			c := math.Round(math.Max(0, 1-d/matchDistance)*10000) / 10000
			if c >= 0.5 {
				objects = append(objects, len(confidences))
			}
			confidences = append(confidences, c)
		}
	}
	return confidences, objects
}

func sq(f float64) float64 { return f * f }

package testimage

import "embed"

// WebP fixtures, made once with Debian's cwebp 1.2.4 from the PNG of the Challenge beside each
// (Go has no WebP encoder): `cwebp -q 90` for lossy, `cwebp -lossless` for lossless.
var (
	WebPLossy300    = Fixture{"lossy-300.webp", Challenge{Grid: 3, Tile: 100, Label: "/m/015qff", Targets: []int{0, 2, 7}, Seed: 7}}
	WebPLossless387 = Fixture{"lossless-387.webp", Challenge{Grid: 4, Tile: 93, Separator: 4, Margin: 1, Label: "/m/015qff", Targets: []int{4, 10, 11}, Seed: 8}}
)

// Fixture is an encoded picture stored in testdata and the Challenge it shows.
type Fixture struct {
	Name      string
	Challenge Challenge
}

//go:embed testdata/*.webp
var fixtures embed.FS

// Bytes returns the encoded file.
func (f Fixture) Bytes() []byte {
	b, err := fixtures.ReadFile("testdata/" + f.Name)
	if err != nil {
		panic(err)
	}
	return b
}

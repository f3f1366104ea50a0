// Package testimage draws synthetic challenge pictures for tests, benchmarks and examples: tiles
// of textured low-saturation noise, with the target tiles painted in the emulator's signature
// colour for a label, optionally laid out like a widget screenshot (white separators and margin).
package testimage

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/emulator"
)

// Challenge describes one picture.
type Challenge struct {
	Grid      int    // tiles per side: 1, 3 or 4
	Tile      int    // tile side in pixels
	Separator int    // white pixels between tiles (a screenshot); 0 for the upstream's own layout
	Margin    int    // white pixels around the tiles
	Label     string // label id whose signature colour marks Targets
	Targets   []int  // row-major tile indices that show the label
	Seed      uint64
}

// Side is the picture's width and height in pixels.
func (c Challenge) Side() int {
	return 2*c.Margin + c.Grid*c.Tile + (c.Grid-1)*c.Separator
}

// Image draws the picture.
func (c Challenge) Image() *image.RGBA {
	side := c.Side()
	img := image.NewRGBA(image.Rect(0, 0, side, side))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	sig, _ := emulator.Signature(c.Label)
	rng := rand.New(rand.NewPCG(c.Seed, 0x5eed))
	target := map[int]bool{}
	for _, t := range c.Targets {
		target[t] = true
	}
	for ty := 0; ty < c.Grid; ty++ {
		for tx := 0; tx < c.Grid; tx++ {
			x0 := c.Margin + tx*(c.Tile+c.Separator)
			y0 := c.Margin + ty*(c.Tile+c.Separator)
			base := color.RGBA{uint8(60 + rng.IntN(110)), 0, 0, 255}
			base.G = uint8(int(base.R) + rng.IntN(30) - 15)
			base.B = uint8(int(base.R) + rng.IntN(30) - 15)
			if target[ty*c.Grid+tx] {
				base = sig
			}
			for y := 0; y < c.Tile; y++ {
				for x := 0; x < c.Tile; x++ {
					// Stripes and noise give the resampler real detail to get wrong.
					n := rng.IntN(25) - 12
					if (x/6+y/9)%2 == 0 {
						n += 8
					} else {
						n -= 8
					}
					img.SetRGBA(x0+x, y0+y, color.RGBA{add(base.R, n), add(base.G, n), add(base.B, n), 255})
				}
			}
		}
	}
	return img
}

func add(v uint8, d int) uint8 {
	return uint8(min(max(int(v)+d, 0), 235)) // stay below the separators' white
}

// PNG encodes the picture as PNG.
func (c Challenge) PNG() []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, c.Image()); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// JPEG encodes the picture as JPEG at the given quality.
func (c Challenge) JPEG(quality int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, c.Image(), &jpeg.Options{Quality: quality}); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// GIF encodes the picture as a one-frame GIF.
func (c Challenge) GIF() []byte {
	var b bytes.Buffer
	if err := gif.Encode(&b, c.Image(), nil); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// PNGHeader is a valid PNG signature and IHDR claiming any size, with no pixel data: a
// decompression bomb that must be refused from its header.
func PNGHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// AnimatedGIF is the picture as the first of frames GIF frames, the rest 1×1: thousands of
// frames in a few tens of kilobytes.
func (c Challenge) AnimatedGIF(frames int) []byte {
	first := image.NewPaletted(image.Rect(0, 0, c.Side(), c.Side()), palette.Plan9)
	draw.Draw(first, first.Bounds(), c.Image(), image.Point{}, draw.Src)
	anim := &gif.GIF{Image: []*image.Paletted{first}, Delay: []int{0},
		Config: image.Config{ColorModel: color.Palette(palette.Plan9), Width: c.Side(), Height: c.Side()}}
	dot := image.NewPaletted(image.Rect(0, 0, 1, 1), palette.Plan9)
	for i := 1; i < frames; i++ {
		anim.Image, anim.Delay = append(anim.Image, dot), append(anim.Delay, 0)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, anim); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// JPEGHeader is a JPEG start, JFIF marker and frame header (SOF0) claiming any size, with no
// pixel data.
func JPEGHeader(w, h uint16) []byte {
	return []byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
		0xFF, 0xC0, 0x00, 0x11, 0x08, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 0x03,
		0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01}
}

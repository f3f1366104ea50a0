package imaging

import (
	"encoding/binary"
	"image"
)

// gifFrames counts a GIF's frames, up to stop, by walking its blocks without decompressing
// anything, and reads where the first frame lies on the picture. ok is false when the structure
// is broken (the decoder then says how).
func gifFrames(data []byte, stop int) (frames int, first image.Rectangle, ok bool) {
	if len(data) < 13 {
		return 0, first, false
	}
	i := 13
	if data[10]&0x80 != 0 { // global colour table
		i += 3 << (int(data[10]&7) + 1)
	}
	skipSubBlocks := func() bool {
		for i < len(data) {
			n := int(data[i])
			i += 1 + n
			if n == 0 {
				return true
			}
		}
		return false
	}
	for i < len(data) {
		switch data[i] {
		case 0x3B: // trailer
			return frames, first, true
		case 0x21: // extension: label, then sub-blocks
			i += 2
			if !skipSubBlocks() {
				return frames, first, false
			}
		case 0x2C: // image descriptor: left, top, width, height, flags
			if i+10 > len(data) {
				return frames, first, false
			}
			if frames == 0 {
				d := data[i+1:]
				x, y := int(binary.LittleEndian.Uint16(d)), int(binary.LittleEndian.Uint16(d[2:]))
				first = image.Rect(x, y, x+int(binary.LittleEndian.Uint16(d[4:])), y+int(binary.LittleEndian.Uint16(d[6:])))
			}
			if frames++; frames >= stop {
				return frames, first, true
			}
			flags := data[i+9]
			i += 10
			if flags&0x80 != 0 { // local colour table
				i += 3 << (int(flags&7) + 1)
			}
			i++ // LZW minimum code size
			if !skipSubBlocks() {
				return frames, first, false
			}
		default:
			return frames, first, false
		}
	}
	return frames, first, false
}

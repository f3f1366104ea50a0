package imaging

// gifFrames counts a GIF's frames, up to stop, by walking its blocks without decompressing
// anything. ok is false when the structure is broken (the decoder then says how).
func gifFrames(data []byte, stop int) (frames int, ok bool) {
	if len(data) < 13 {
		return 0, false
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
			return frames, true
		case 0x21: // extension: label, then sub-blocks
			i += 2
			if !skipSubBlocks() {
				return frames, false
			}
		case 0x2C: // image descriptor
			if frames++; frames >= stop {
				return frames, true
			}
			if i+10 > len(data) {
				return frames, false
			}
			flags := data[i+9]
			i += 10
			if flags&0x80 != 0 { // local colour table
				i += 3 << (int(flags&7) + 1)
			}
			i++ // LZW minimum code size
			if !skipSubBlocks() {
				return frames, false
			}
		default:
			return frames, false
		}
	}
	return frames, false
}

package imaging

import (
	"encoding/binary"
	"hash/crc32"
)

// pngLayout is what a PNG's chunks say, walked by their lengths from the header on.
type pngLayout struct {
	transparent bool // a tRNS chunk before the image data
	// strip are the byte ranges a forwarded copy leaves out: every chunk the decoder does not
	// read (text, EXIF, ICC profile, time, physical size...) and anything after IEND.
	strip  [][2]int
	broken string
}

// pngKept are the chunks a decoder needs for the pixels: the header, the palette and its
// transparency, the image data and the end.
var pngKept = map[string]bool{"IHDR": true, "PLTE": true, "tRNS": true, "IDAT": true, "IEND": true}

// readPNG walks data's chunks after the signature. With checkSums it also checks each kept
// chunk's CRC, as the decoder does.
func readPNG(data []byte, checkSums bool) pngLayout {
	var l pngLayout
	sawData := false
	i := 8
	for {
		if i+12 > len(data) {
			l.broken = "truncated chunk"
			return l
		}
		n := int64(binary.BigEndian.Uint32(data[i:]))
		if n > int64(len(data)-i-12) {
			l.broken = "chunk runs past the end"
			return l
		}
		end := i + 12 + int(n)
		kind := string(data[i+4 : i+8])
		switch {
		case !pngKept[kind]:
			l.strip = append(l.strip, [2]int{i, end})
		case checkSums && crc32.ChecksumIEEE(data[i+4:end-4]) != binary.BigEndian.Uint32(data[end-4:]):
			l.broken = kind + " checksum"
			return l
		}
		switch kind {
		case "tRNS":
			l.transparent = l.transparent || !sawData
		case "IDAT":
			sawData = true
		case "IEND":
			if !sawData {
				l.broken = "no image data"
			}
			if end < len(data) {
				l.strip = append(l.strip, [2]int{end, len(data)})
			}
			return l
		}
		i = end
	}
}

// forwardable returns data as it may be forwarded undecoded: its structure checked as the
// decoder would check it (the marker walk and the cost limits have already run for a JPEG), and
// everything a provider does not need to see the pixels left out. The Adobe APP14 marker and
// the JFIF header stay, as they say how to read the colours; ICC profiles go, as the decoded
// path drops them too. It returns data itself when there is nothing to leave out.
func forwardable(format string, data []byte, c decodeCost) ([]byte, string) {
	strip := c.strip
	if format == "png" {
		l := readPNG(data, true)
		if l.broken != "" {
			return nil, l.broken
		}
		strip = l.strip
	}
	if len(strip) == 0 {
		return data, ""
	}
	kept := len(data)
	for _, r := range strip {
		kept -= r[1] - r[0]
	}
	out := make([]byte, 0, kept)
	from := 0
	for _, r := range strip {
		out = append(out, data[from:r[0]]...)
		from = r[1]
	}
	return append(out, data[from:]...), ""
}

// hasMetadata reports whether a PNG or JPEG still carries a chunk or segment that forwardable
// leaves out (for the tests' properties).
func hasMetadata(format string, data []byte) bool {
	switch format {
	case "png":
		return len(readPNG(data, false).strip) > 0
	case "jpeg":
		return len(readJPEG(data).strip) > 0
	}
	return false
}

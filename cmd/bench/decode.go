package main

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	_ "embed"
)

//go:embed ref/jpegdecode.c
var jpegDecodeSource []byte

// decodeFigures times the JPEG decode alone, where most of our time on a large JPEG goes:
// image/jpeg against libjpeg-turbo (what Pillow and libvips decode with) at full size and at
// half size (their shrink-on-load for a 1000-pixel picture bound for 450).
func decodeFigures(dir string, data []byte) string {
	head := "\n## Where the large JPEG's time goes: the decode alone\n\n"
	bin := filepath.Join(dir, "jpegdecode")
	check(os.WriteFile(bin+".c", jpegDecodeSource, 0o644))
	if b, err := exec.Command("cc", "-O2", "-o", bin, bin+".c", "-ljpeg").CombinedOutput(); err != nil {
		return head + "Not measured: compiling the libjpeg driver failed (apt-get install libjpeg-dev):\n\n```\n" + string(b) + "```\n"
	}
	file := filepath.Join(dir, "decode.jpg")
	check(os.WriteFile(file, data, 0o644))
	ours := testing.Benchmark(func(b *testing.B) {
		for b.Loop() {
			if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
	goNs := float64(ours.NsPerOp())
	full := reference(bin, "", file, 1, 2)
	half := reference(bin, "", file, 2, 2)
	fmt.Fprintf(os.Stderr, "decode 1000 JPEG: image/jpeg %.2f ms, libjpeg-turbo %.2f ms, at 1/2 %.2f ms\n", msOf(goNs), msOf(full), msOf(half))
	return head + fmt.Sprintf("The 1000×1000 JPEG of section 1, decoded to YCbCr and nothing else, in one process (`cmd/bench/ref/jpegdecode.c`, built with `cc -O2 -ljpeg` against Debian's libjpeg-turbo).\n\n"+
		"| decoder | ms | ÷ image/jpeg |\n|---|---:|---:|\n| image/jpeg (ours) | %.2f | 1.00× |\n| libjpeg-turbo, full size | %.2f | %.2f× |\n| libjpeg-turbo, half size (shrink-on-load) | %.2f | %.2f× |\n\n"+
		"A ratio below 1 means that decoder takes that fraction of our time. This is most of the gap in section 1. "+
		"An estimate from the parts, not a measurement: with libjpeg-turbo decoding at half size, our resize working on the "+
		"smaller picture, and our JPEG encode, the case would take about 12 ms (1.4× Pillow); with libjpeg-turbo encoding too, "+
		"about 9 ms (1.9×). Linking it means cgo and C libraries built for arm64 in the Lambda bootstrap, a decision the report leaves open.\n",
		msOf(goNs), msOf(full), full/goNs, msOf(half), half/goNs)
}

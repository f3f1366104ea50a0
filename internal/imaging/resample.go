package imaging

import "math"

// plane is one 8-bit channel of an image (Y, Cb, Cr, R, G or B). Samples are step bytes apart
// in a row (1 for a plane of its own, 4 for a channel of interleaved RGBA).
type plane struct {
	pix          []uint8
	w, h, stride int
	step         int
}

// span is a half-open range of source coordinates, in pixels of the plane it applies to.
type span struct{ lo, hi float64 }

// kernel holds, for every destination pixel along one axis, the source pixels it reads and their
// weights in 14-bit fixed point.
type kernel struct {
	start   []int
	offsets []int // weights of dst pixel d are weights[offsets[d]:offsets[d+1]]
	weights []int32
}

const weightBits = 14

// newKernel maps dstLen destination pixels, split into len(tiles) equal segments, onto the source
// ranges in tiles (one per segment). Downscaling averages with a triangle filter widened by the
// scale, like Pillow's and libvips' antialiased bilinear. Weights never reach outside a tile, so
// separators and neighbouring tiles do not bleed in.
func newKernel(dstLen int, tiles []span, srcLen int) kernel {
	k := kernel{start: make([]int, dstLen), offsets: make([]int, dstLen+1)}
	n := len(tiles)
	seg := float64(dstLen) / float64(n)
	var fw []float64
	for d := 0; d < dstLen; d++ {
		t := int((float64(d) + 0.5) / seg)
		if t >= n {
			t = n - 1
		}
		tile := tiles[t]
		scale := (tile.hi - tile.lo) / seg
		center := tile.lo + (float64(d)+0.5-float64(t)*seg)*scale
		radius := math.Max(scale, 1)
		lo := max(int(math.Floor(center-radius)), int(math.Floor(tile.lo)), 0)
		hi := min(int(math.Ceil(center+radius)), int(math.Ceil(tile.hi)), srcLen) // exclusive
		if hi <= lo {
			hi = lo + 1
		}
		fw = fw[:0]
		var sum float64
		for j := lo; j < hi; j++ {
			w := 1 - math.Abs(float64(j)+0.5-center)/radius
			if w < 0 {
				w = 0
			}
			fw = append(fw, w)
			sum += w
		}
		if sum == 0 { // center fell between samples at a tile edge: take the nearest one
			for i := range fw {
				fw[i] = 0
			}
			nearest := min(max(int(center), lo), hi-1) - lo
			fw[nearest], sum = 1, 1
		}
		// Trim zero weights at both ends so the inner loops do no useless work.
		first, last := 0, len(fw)-1
		for first < last && fw[first] == 0 {
			first++
		}
		for last > first && fw[last] == 0 {
			last--
		}
		k.start[d] = lo + first
		total := int32(0)
		for i := first; i <= last; i++ {
			w := int32(math.Round(fw[i] / sum * (1 << weightBits)))
			k.weights = append(k.weights, w)
			total += w
		}
		// Put the rounding error on the heaviest weight so every row sums to exactly 1.0.
		heaviest := k.offsets[d]
		for i := k.offsets[d]; i < len(k.weights); i++ {
			if k.weights[i] > k.weights[heaviest] {
				heaviest = i
			}
		}
		k.weights[heaviest] += (1 << weightBits) - total
		k.offsets[d+1] = len(k.weights)
	}
	return k
}

func clampByte(v int32) uint8 {
	v = (v + 1<<(weightBits-1)) >> weightBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// resample writes src, resized by the two kernels, into dst (whose size is the kernels' lengths).
// It runs the horizontal pass over only the source rows the vertical kernel reads.
func resample(dst, src plane, kx, ky kernel) {
	rowLo, rowHi := ky.start[0], 0
	for d := range ky.start {
		rowLo = min(rowLo, ky.start[d])
		rowHi = max(rowHi, ky.start[d]+ky.offsets[d+1]-ky.offsets[d])
	}
	tmp := make([]uint8, (rowHi-rowLo)*dst.w)
	step := max(src.step, 1)
	for y := rowLo; y < rowHi; y++ {
		in := src.pix[y*src.stride : y*src.stride+(src.w-1)*step+1]
		out := tmp[(y-rowLo)*dst.w : (y-rowLo+1)*dst.w]
		for x := range out {
			ws := kx.weights[kx.offsets[x]:kx.offsets[x+1]]
			var acc int32
			if step == 1 {
				px := in[kx.start[x] : kx.start[x]+len(ws)]
				for i, w := range ws {
					acc += w * int32(px[i])
				}
			} else {
				px := in[kx.start[x]*step:]
				for i, w := range ws {
					acc += w * int32(px[i*step])
				}
			}
			out[x] = clampByte(acc)
		}
	}
	acc := make([]int32, dst.w)
	for y := 0; y < dst.h; y++ {
		for x := range acc {
			acc[x] = 0
		}
		ws := ky.weights[ky.offsets[y]:ky.offsets[y+1]]
		for i, w := range ws {
			row := tmp[(ky.start[y]+i-rowLo)*dst.w : (ky.start[y]+i-rowLo+1)*dst.w]
			for x, p := range row {
				acc[x] += w * int32(p)
			}
		}
		out := dst.pix[y*dst.stride : y*dst.stride+dst.w]
		for x, a := range acc {
			out[x] = clampByte(a)
		}
	}
}

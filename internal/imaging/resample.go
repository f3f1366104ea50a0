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
// weights in 14-bit fixed point. Every pixel reads the same number of source pixels (n), padded
// with zero weights, so the inner loops have no per-pixel lengths to look up.
type kernel struct {
	start   []int
	n       int
	weights []int32 // dst pixel d's are weights[d*n : d*n+n]
}

const weightBits = 14

// newKernel maps dstLen destination pixels, split into len(tiles) equal segments, onto the source
// ranges in tiles (one per segment). Downscaling averages with a triangle filter widened by the
// scale, like Pillow's and libvips' antialiased bilinear. Weights never reach outside a tile, so
// separators and neighbouring tiles do not bleed in.
func newKernel(dstLen int, tiles []span, srcLen int) kernel {
	start, offsets := make([]int, dstLen), make([]int, dstLen+1)
	var weights []int32
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
		start[d] = lo + first
		total := int32(0)
		for i := first; i <= last; i++ {
			w := int32(math.Round(fw[i] / sum * (1 << weightBits)))
			weights = append(weights, w)
			total += w
		}
		// Put the rounding error on the heaviest weight so every row sums to exactly 1.0.
		heaviest := offsets[d]
		for i := offsets[d]; i < len(weights); i++ {
			if weights[i] > weights[heaviest] {
				heaviest = i
			}
		}
		weights[heaviest] += (1 << weightBits) - total
		offsets[d+1] = len(weights)
	}
	return packKernel(start, offsets, weights, srcLen)
}

// packKernel lays the weights out n to a pixel. A pixel whose n source pixels would run past
// the end reads from further back, with zeros in front; n never exceeds srcLen, as every pixel's
// weights lie within it.
func packKernel(start, offsets []int, weights []int32, srcLen int) kernel {
	k := kernel{start: start}
	for d := range start {
		k.n = max(k.n, offsets[d+1]-offsets[d])
	}
	k.weights = make([]int32, len(start)*k.n)
	for d := range start {
		ws := weights[offsets[d]:offsets[d+1]]
		pad := max(start[d]+k.n-srcLen, 0)
		k.start[d] -= pad
		copy(k.weights[d*k.n+pad:], ws)
	}
	return k
}

// taps returns the first source pixel that destination pixel d reads, and the weights it reads
// from there on.
func (k *kernel) taps(d int) (start int, weights []int32) {
	return k.start[d], k.weights[d*k.n : d*k.n+k.n]
}

// toByte rounds a sum of weighted samples to 8 bits. The weights are never negative and sum to
// exactly 1.0, so the sum lies between the smallest and largest sample: no clamping is needed.
func toByte(v int32) uint8 { return uint8((v + 1<<(weightBits-1)) >> weightBits) }

// resample writes the first channels samples of each pixel of src, resized by the two kernels,
// into the same samples of dst's pixels (dst's size is the kernels' lengths). Pixels are step
// bytes apart in both; channels is 1, or 3 for the R, G, B of RGBA pixels.
//
// The vertical pass runs first, one output row at a time: it reads whole source rows
// front to back, the fastest access there is, and leaves the horizontal pass, which costs more
// per sample, only dst.h rows to do.
func resample(dst, src plane, kx, ky kernel, channels int) {
	step, dstStep := max(src.step, 1), max(dst.step, 1)
	rowLen := (src.w-1)*step + channels
	acc := make([]int32, rowLen)
	row := make([]uint8, rowLen)
	for y := 0; y < dst.h; y++ {
		sy, wy := ky.taps(y)
		clear(acc)
		// Two source rows a sweep halves the loads and stores of acc.
		for j := 0; j < len(wy); j += 2 {
			in0 := src.pix[(sy+j)*src.stride:][:len(acc)]
			if j+1 == len(wy) {
				w := wy[j]
				for x, p := range in0 {
					acc[x] += w * int32(p)
				}
				break
			}
			w0, w1 := wy[j], wy[j+1]
			in1 := src.pix[(sy+j+1)*src.stride:][:len(acc)]
			for x, p := range in0 {
				acc[x] += w0*int32(p) + w1*int32(in1[x])
			}
		}
		row := row[:len(acc)]
		for x, a := range acc {
			row[x] = toByte(a)
		}
		out := dst.pix[y*dst.stride:][:(dst.w-1)*dstStep+channels]
		for x := 0; x < dst.w; x++ {
			sx, wx := kx.taps(x)
			px := row[sx*step:]
			if channels == 3 {
				var r, g, b int32
				for i, w := range wx {
					q := px[i*step : i*step+3]
					r += w * int32(q[0])
					g += w * int32(q[1])
					b += w * int32(q[2])
				}
				o := out[x*dstStep : x*dstStep+3]
				o[0], o[1], o[2] = toByte(r), toByte(g), toByte(b)
				continue
			}
			var a int32
			if step == 1 {
				px = px[:len(wx)]
				for i, w := range wx {
					a += w * int32(px[i])
				}
			} else {
				for i, w := range wx {
					a += w * int32(px[i*step])
				}
			}
			out[x*dstStep] = toByte(a)
		}
	}
}

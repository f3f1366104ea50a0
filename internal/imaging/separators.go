package imaging

// A screenshot of the widget shows the tiles with white separator lines between them (and often a
// white margin around them). findLayout locates those lines so each tile can be cut out exactly.

// minWhiteFraction is how much of a line must be white for it to count as a separator: a little
// below 1 so JPEG ringing along the edges does not hide a real separator.
const minWhiteFraction = 0.92

type band struct{ lo, hi int }

// whiteProfile counts the white pixels of every column and every row. Most pixels fail the first
// plane's test, so the other planes are looked at only for the few that pass.
func whiteProfile(s *source) (cols, rows []int) {
	cols, rows = make([]int, s.w), make([]int, s.h)
	p0, p1, p2 := s.planes[0], s.planes[1], s.planes[2]
	dx, dy := s.divX[1], s.divY[1]
	step0, step1 := max(p0.step, 1), max(p1.step, 1)
	for y := 0; y < s.h; y++ {
		row := p0.pix[y*p0.stride:]
		r1 := p1.pix[(y/dy)*p1.stride:]
		r2 := p2.pix[(y/dy)*p2.stride:]
		n := 0
		for x := 0; x < s.w; x++ {
			if row[x*step0] < whiteLevel {
				continue
			}
			a, b := r1[(x/dx)*step1], r2[(x/dx)*step1]
			if s.ycc {
				if absDiff(a, 128) > neutralChroma || absDiff(b, 128) > neutralChroma {
					continue
				}
			} else if a < whiteLevel || b < whiteLevel {
				continue
			}
			cols[x]++
			n++
		}
		rows[y] = n
	}
	return cols, rows
}

func whiteBands(counts []int, length int) []band {
	var bands []band
	limit := int(minWhiteFraction * float64(length))
	for i := 0; i < len(counts); {
		if counts[i] < limit {
			i++
			continue
		}
		j := i
		for j < len(counts) && counts[j] >= limit {
			j++
		}
		bands = append(bands, band{i, j})
		i = j
	}
	return bands
}

// tileSpans returns the n tile ranges along one axis if the bands are exactly a margin on either
// side (optional) and n-1 thin separators near the even split of what lies between.
func tileSpans(bands []band, size, n int) ([]span, bool) {
	lo, hi := 0, size
	if len(bands) > 0 && bands[0].lo == 0 {
		lo = bands[0].hi
		bands = bands[1:]
	}
	if len(bands) > 0 && bands[len(bands)-1].hi == size {
		hi = bands[len(bands)-1].lo
		bands = bands[:len(bands)-1]
	}
	content := hi - lo
	if len(bands) != n-1 || content < 2*n {
		return nil, false
	}
	tile := float64(content) / float64(n)
	spans := make([]span, 0, n)
	prev := lo
	for k, b := range bands {
		center := float64(b.lo+b.hi) / 2
		expected := float64(lo) + float64(k+1)*tile
		if b.hi-b.lo > int(tile/4) || abs(center-expected) > tile/8 {
			return nil, false
		}
		spans = append(spans, span{float64(prev), float64(b.lo)})
		prev = b.hi
	}
	spans = append(spans, span{float64(prev), float64(hi)})
	for _, sp := range spans {
		if sp.hi-sp.lo < tile/2 {
			return nil, false
		}
	}
	return spans, true
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

// layout is where the tiles of an n×n grid lie, per axis: between separators, or an even split.
type layout struct {
	x, y []span
}

func findLayout(cols, rows []int, w, h, n int) (layout, bool) {
	xs, okX := tileSpans(whiteBands(cols, h), w, n)
	ys, okY := tileSpans(whiteBands(rows, w), h, n)
	return layout{xs, ys}, okX && okY
}

func uniformLayout(w, h, n int) layout {
	l := layout{make([]span, n), make([]span, n)}
	for k := 0; k < n; k++ {
		l.x[k] = span{float64(k*w) / float64(n), float64((k+1)*w) / float64(n)}
		l.y[k] = span{float64(k*h) / float64(n), float64((k+1)*h) / float64(n)}
	}
	return l
}

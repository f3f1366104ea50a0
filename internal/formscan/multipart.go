package formscan

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"strings"
)

// Multipart reads a multipart/form-data body in two passes over the bytes in memory. The first
// counts the parts (at most max) and measures each against limit, keeping nothing but the
// sizes; the second reads each part into a buffer of exactly its size. So a part over its limit,
// or a part past the max-th, is refused before anything is allocated for it, and what is kept
// costs its own size once. The parts binary names (by name, and whether the part has a file
// name) become Bytes, the others Value.
func Multipart(body []byte, boundary string, max int, limit Limit, binary func(name string, file bool) bool) ([]Field, error) {
	if boundary == "" {
		return nil, ErrSyntax
	}
	var sizes []int64
	err := Parts(body, boundary, func(p *multipart.Part, name string, file bool) error {
		if len(sizes) == max {
			return &TooManyError{Max: max}
		}
		l := limit(name, file)
		n, err := io.Copy(io.Discard, io.LimitReader(p, int64(l)+1))
		if err != nil {
			return ErrSyntax
		}
		if n > int64(l) {
			return &TooLargeError{Name: name, Limit: l}
		}
		sizes = append(sizes, n)
		return nil
	})
	if err != nil {
		return nil, err
	}
	fields := make([]Field, 0, len(sizes))
	err = Parts(body, boundary, func(p *multipart.Part, name string, file bool) error {
		n := sizes[len(fields)]
		f := Field{Name: name, File: file}
		if binary(name, file) {
			f.Bytes = make([]byte, n)
			if _, err := io.ReadFull(p, f.Bytes); err != nil {
				return ErrSyntax
			}
		} else {
			var b strings.Builder
			b.Grow(int(n))
			if _, err := io.CopyN(&b, p, n); err != nil {
				return ErrSyntax
			}
			f.Value = b.String()
		}
		fields = append(fields, f)
		return nil
	})
	return fields, err
}

// Parts calls each for every part of the body, with its form name and whether it carries a
// file. A body that is not Closed is ErrSyntax.
func Parts(body []byte, boundary string, each func(p *multipart.Part, name string, file bool) error) error {
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			if !Closed(body, boundary) {
				return ErrSyntax
			}
			return nil
		}
		if err != nil {
			return ErrSyntax
		}
		if err := each(p, p.FormName(), p.FileName() != ""); err != nil {
			return err
		}
	}
}

// Closed reports whether a multipart body has its closing boundary. mime/multipart reports a
// body cut inside a part's headers as a plain end of input, so without this check the form
// would read as whole without the parts that were cut off.
func Closed(body []byte, boundary string) bool {
	return bytes.Contains(body, []byte("--"+boundary+"--"))
}

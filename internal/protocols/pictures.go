package protocols

import (
	"encoding/json"
	"reflect"

	"github.com/recaptcha-recognizer/recognizer/internal/formscan"
)

// onePicture is ComplexImageTask's imagesBase64, a list that must hold exactly one picture (the
// whole challenge). The list is read only as far as its second element: a list of a million
// elements costs what a list of two does, and only a list of one has its string decoded.
type onePicture struct {
	picture string
	count   int // 0, 1 or 2 (two or more)
}

// UnmarshalJSON reads the list in place; encoding/json has checked the whole body already.
func (o *onePicture) UnmarshalJSON(raw []byte) error {
	if string(raw) == "null" {
		*o = onePicture{}
		return nil
	}
	first, count, ok := formscan.FirstOfList(raw, 2)
	if !ok {
		return &json.UnmarshalTypeError{Value: "non-list", Type: reflect.TypeFor[[]string]()}
	}
	*o = onePicture{count: count}
	if count != 1 {
		return nil
	}
	if len(first) == 0 || first[0] != '"' {
		return &json.UnmarshalTypeError{Value: "non-string", Type: reflect.TypeFor[string]()}
	}
	return json.Unmarshal(first, &o.picture)
}

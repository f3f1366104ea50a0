// Package formscan reads the request forms of the solver protocols (a JSON object, a url-encoded
// form, a multipart form, a comma-separated list) from a body already in memory, within bounds:
// the number of fields and each field's size are checked while reading, before anything is
// allocated for them. Every field costs at most twice its own bytes (an escaped JSON string: the
// unescaped copy and the string), so a parse never allocates more than about twice the body,
// whatever the body holds.
//
// It decides nothing about names or meanings: the protocols do (internal/protocols).
package formscan

import (
	"errors"
	"fmt"
)

// ErrSyntax is a body that is not the form it claims to be.
var ErrSyntax = errors.New("the body does not parse")

// TooManyError is a form with more fields (or list items) than Max.
type TooManyError struct{ Max int }

func (e *TooManyError) Error() string { return fmt.Sprintf("more than %d fields", e.Max) }

// TooLargeError is a field over its size limit, found before it was read into memory.
type TooLargeError struct {
	Name  string
	Limit int
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("field %q is over %d bytes", e.Name, e.Limit)
}

// Limit is the most bytes a field of the given name may hold, as it stands in the body (before
// unescaping). file is true for a multipart part with a file name.
type Limit func(name string, file bool) int

// Field is one field of a form: its name and its value, decoded.
type Field struct {
	Name  string
	Value string
	// Bytes holds a binary multipart part's content (Value is then empty).
	Bytes []byte
	// File is true for a multipart part with a file name.
	File bool
	// Kind is what a JSON member's value is: String, Number, Bool (Value is then "true" or
	// "false") or Other (null, an object or a list; Value is empty). Every other form's fields
	// are strings.
	Kind Kind
}

// Kind is the type of a JSON member's value.
type Kind uint8

// The kinds of value a field holds.
const (
	String Kind = iota
	Number
	Bool
	Other
)

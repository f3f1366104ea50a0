// Package s3scope says which S3 objects a caller may have the service read: a list of scopes,
// each a whole bucket or one key prefix of it, and the rules every key and prefix must follow.
//
// A reference outside every scope is refused before anything is read, so its answer cannot tell
// whether the object exists or how large it is.
package s3scope

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Scope is a whole bucket (Prefix "") or the keys under Prefix, which ends with "/".
type Scope struct {
	Bucket string
	Prefix string
}

// String is the scope as written in SOURCE_BUCKETS.
func (s Scope) String() string {
	if s.Prefix == "" {
		return s.Bucket
	}
	return s.Bucket + "/" + s.Prefix
}

// Contains reports whether the object bucket/key is inside the scope.
func (s Scope) Contains(bucket, key string) bool {
	return bucket == s.Bucket && strings.HasPrefix(key, s.Prefix)
}

// Scopes is every place references may point to. The zero value allows nothing.
type Scopes []Scope

// Allows reports whether some scope contains bucket/key. It does not check the key's form: see
// CheckKey.
func (ss Scopes) Allows(bucket, key string) bool {
	for _, s := range ss {
		if s.Contains(bucket, key) {
			return true
		}
	}
	return false
}

// Parse reads a comma-separated list of "bucket" (the whole bucket) or "bucket/prefix/" (keys
// under prefix/ only). Blank entries are ignored.
func Parse(list string) (Scopes, error) {
	var ss Scopes
	var problems []string
	for _, entry := range strings.Split(list, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		bucket, prefix, hasPrefix := strings.Cut(entry, "/")
		if bucket == "" || strings.ContainsAny(bucket, " \t") {
			problems = append(problems, fmt.Sprintf("%q has no bucket name", entry))
			continue
		}
		if hasPrefix {
			if err := CheckPrefix(prefix); err != nil {
				problems = append(problems, fmt.Sprintf("%q: %v", entry, err))
				continue
			}
		}
		ss = append(ss, Scope{Bucket: bucket, Prefix: prefix})
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return ss, nil
}

// CheckKey refuses a key with an empty, "." or ".." segment (a leading, trailing or doubled
// "/"): S3 takes keys literally, but a proxy or SDK that normalizes paths would not, and such a
// key is never a picture a caller meant. It refuses a key that is not UTF-8 or holds a control
// character (NUL, a line break, ...) too: S3 keys are UTF-8, and such a key would only reach S3
// to be refused, or a log line to break it.
func CheckKey(key string) error {
	if key == "" {
		return errors.New("the key is empty")
	}
	if !utf8.ValidString(key) {
		return errors.New("the key is not UTF-8")
	}
	if strings.IndexFunc(key, unicode.IsControl) >= 0 {
		return errors.New("the key holds a control character")
	}
	for _, seg := range strings.Split(key, "/") {
		switch seg {
		case "":
			return errors.New("the key has an empty segment (a leading, trailing or doubled /)")
		case ".", "..":
			return errors.New("the key has a . or .. segment")
		}
	}
	return nil
}

// CheckPrefix checks a key prefix of configuration: non-empty, ending with "/", and made of
// segments CheckKey would accept.
func CheckPrefix(prefix string) error {
	rest, ok := strings.CutSuffix(prefix, "/")
	if !ok || rest == "" {
		return fmt.Errorf("prefix %q must be a folder: not empty, and ending with /", prefix)
	}
	if CheckKey(rest) != nil {
		return fmt.Errorf("prefix %q has an empty, . or .. segment", prefix)
	}
	return nil
}

// Overlap reports whether one prefix contains the other: an object could then be under both.
func Overlap(a, b string) bool {
	return strings.HasPrefix(a, b) || strings.HasPrefix(b, a)
}

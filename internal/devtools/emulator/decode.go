package emulator

import (
	"bytes"
	"crypto/sha256"
	"image"
	"sync"
)

// decoded keeps the pictures the emulators decoded, by their bytes' hash: tests send the same
// few pictures many times at once, and the emulators run inside race-instrumented test binaries,
// where decoding each again would make the providers, not the code under test, the slow part.
// Decoding is a pure function of the bytes, so an answer is the same with or without it.
var decoded struct {
	mu sync.Mutex
	m  map[[32]byte]decodedPicture
}

type decodedPicture struct {
	img    image.Image
	format string
	err    error
}

// maxDecoded bounds the memory: a few dozen pictures of 450×450 at most.
const maxDecoded = 32

// DecodePicture is image.Decode of raw, remembered for the bytes; the image must not be changed.
func DecodePicture(raw []byte) (image.Image, string, error) {
	key := sha256.Sum256(raw)
	decoded.mu.Lock()
	p, ok := decoded.m[key]
	decoded.mu.Unlock()
	if ok {
		return p.img, p.format, p.err
	}
	img, format, err := image.Decode(bytes.NewReader(raw))
	decoded.mu.Lock()
	if decoded.m == nil || len(decoded.m) >= maxDecoded {
		decoded.m = map[[32]byte]decodedPicture{}
	}
	decoded.m[key] = decodedPicture{img, format, err}
	decoded.mu.Unlock()
	return img, format, err
}

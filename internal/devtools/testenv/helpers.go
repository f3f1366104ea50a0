package testenv

import (
	"bytes"
	"mime/multipart"
	"sync"
)

// SyncBuffer is a log a child process writes while a test reads it.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// MultipartForm is a multipart/form-data body with fields and, unless image is nil, the image
// as the file part "image" named filename.
func MultipartForm(fields map[string]string, filename string, image []byte) (body []byte, contentType string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	if image != nil {
		p, _ := w.CreateFormFile("image", filename)
		p.Write(image)
	}
	w.Close()
	return b.Bytes(), w.FormDataContentType()
}

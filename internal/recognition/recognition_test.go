package recognition_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"slices"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
	"github.com/recaptcha-recognizer/recognizer/internal/question"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
)

// counting wraps an upstream and counts its calls.
type counting struct {
	recognition.Upstream
	calls int
}

func (c *counting) Recognize(ctx context.Context, image []byte, labelID string, size int) (*recognition.Solution, error) {
	c.calls++
	return c.Upstream.Recognize(ctx, image, labelID, size)
}

func service(up recognition.Upstream) *recognition.Service {
	return &recognition.Service{Questions: question.Default, Limits: imaging.DefaultLimits, Upstream: up}
}

// A widget screenshot: the clicks land in the middle of the right tiles of the caller's own
// picture, and the solution is the upstream's fields as sent, then grid and clicks.
func TestRecognizeScreenshot(t *testing.T) {
	ch := testimage.Challenge{Grid: 4, Tile: 93, Separator: 4, Margin: 2, Label: "/m/0k4j", Targets: []int{3, 9, 14}, Seed: 3}
	res, err := service(testenv.FakeUpstream{}).Recognize(context.Background(), recognition.Input{Image: ch.JPEG(90), Question: "Select all images with <strong>cars</strong>"})
	if err != nil {
		t.Fatal(err)
	}
	var sol struct {
		Size    int
		Objects []int
		Grid    string
		Clicks  []recognition.Click
	}
	if err := json.Unmarshal(res.Solution, &sol); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sol.Objects, ch.Targets) || sol.Grid != "4x4" || sol.Size != 450 || len(sol.Clicks) != 3 {
		t.Fatalf("solution %s", res.Solution)
	}
	for i, c := range sol.Clicks {
		tile := ch.Targets[i]
		cx := ch.Margin + (tile%4)*(ch.Tile+ch.Separator) + ch.Tile/2
		cy := ch.Margin + (tile/4)*(ch.Tile+ch.Separator) + ch.Tile/2
		if c.Index != tile || abs(c.X-cx) > 2 || abs(c.Y-cy) > 2 {
			t.Errorf("click %+v, want tile %d at about (%d,%d)", c, tile, cx, cy)
		}
	}
}

// Cheap refusals come first: an unknown question or grid never reaches the upstream, nor does a
// picture refused from its header.
func TestRefusalsBeforeTheUpstream(t *testing.T) {
	good := testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j"}.PNG()
	for _, c := range []struct {
		in   recognition.Input
		code apierr.Code
	}{
		{recognition.Input{Image: good, Question: "giraffes"}, apierr.CodeUnsupportedQuestion},
		{recognition.Input{Image: good, Question: "cars", Grid: "5x5"}, apierr.CodeInvalidGrid},
		{recognition.Input{Image: testimage.PNGHeader(100000, 100000), Question: "cars"}, apierr.CodeTooLarge},
		{recognition.Input{Image: []byte("not a picture"), Question: "cars"}, apierr.CodeInvalidImage},
	} {
		up := &counting{Upstream: testenv.FakeUpstream{}}
		_, err := service(up).Recognize(context.Background(), c.in)
		if apierr.As(err).Code != c.code || up.calls != 0 {
			t.Errorf("%q grid %q: %v after %d upstream calls, want %s before any", c.in.Question, c.in.Grid, err, up.calls, c.code)
		}
	}
}

// A standard-size picture is forwarded undecoded; when the upstream refuses it and it does not
// decode, the caller hears that their picture is broken, not that the upstream failed.
func TestRefusedForwardedPictureIsTheCallersError(t *testing.T) {
	png := testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j"}.PNG()
	broken := scrambledIDAT(t, png) // every chunk well formed, so it is forwarded; its pixels do not inflate
	_, err := service(rejecting{}).Recognize(context.Background(), recognition.Input{Image: broken, Question: "cars"})
	if apierr.As(err).Code != apierr.CodeInvalidImage {
		t.Fatalf("%v, want invalid_image", err)
	}
	// A picture that decodes keeps the upstream's error.
	_, err = service(rejecting{}).Recognize(context.Background(), recognition.Input{Image: png, Question: "cars"})
	if apierr.As(err).Code != apierr.CodeUpstreamError || !errors.Is(err, recognition.ErrRejected) {
		t.Fatalf("%v, want the upstream's refusal", err)
	}
}

// scrambledIDAT returns png with its image data's compressed bytes replaced by others of the
// same length, each chunk's CRC recomputed: the structure passes every check before forwarding.
func scrambledIDAT(t *testing.T, png []byte) []byte {
	out := append([]byte{}, png...)
	for i := 8; i+12 <= len(out); {
		n := int(binary.BigEndian.Uint32(out[i:]))
		if string(out[i+4:i+8]) == "IDAT" {
			data := out[i+8 : i+8+n]
			for j := 2; j < len(data); j++ { // past the zlib header
				data[j] = byte(j*131 + 7)
			}
			binary.BigEndian.PutUint32(out[i+8+n:], crc32.ChecksumIEEE(out[i+4:i+8+n]))
			return out
		}
		i += 12 + n
	}
	t.Fatal("the picture has no IDAT chunk")
	return nil
}

type rejecting struct{}

func (rejecting) Recognize(context.Context, []byte, string, int) (*recognition.Solution, error) {
	return nil, apierr.Wrap(recognition.ErrRejected, apierr.CodeUpstreamError, "the upstream refused the request")
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

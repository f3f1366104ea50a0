package answerid

import (
	"context"
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
)

type fixedSecret struct {
	value string
	err   error
}

func (s fixedSecret) Value(context.Context) (string, error) { return s.value, s.err }

var ctx = context.Background()

var consensus = []recognition.Answer{
	{Provider: "capsolver", TaskID: "5e1f3c2a-8d1b-4c55-9a0e-2f6b7d9e0c11"},
	{Provider: "capmonster", TaskID: "7654321"},
	{Provider: "acedata"},
}

// An id reads back on another instance of the deployment (another Codec, the same secret), for
// the caller it was issued to: the label and every provider's own task id.
func TestSealOpen(t *testing.T) {
	at := time.Unix(1_800_000_000, 0)
	issuer := &Codec{Secret: fixedSecret{value: "deployment-a"}, Now: func() time.Time { return at }}
	id, err := issuer.Seal(ctx, "default", "/m/0k4j", consensus)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(id, "capsolver") || strings.Contains(id, "7654321") || len(id) > maxIDLen {
		t.Fatalf("the id shows what it carries, or is too long: %s", id)
	}
	other := &Codec{Secret: fixedSecret{value: "deployment-a"}, Now: func() time.Time { return at.Add(MaxAge) }}
	label, answers, err := other.Open(ctx, "default", id)
	want := []recognition.Answer{{Provider: "capsolver", TaskID: consensus[0].TaskID}, {Provider: "capmonster", TaskID: "7654321"}, {Provider: "acedata"}}
	if err != nil || label != "/m/0k4j" || !reflect.DeepEqual(answers, want) {
		t.Fatalf("open: %q %+v %v", label, answers, err)
	}
	again, _ := issuer.Seal(ctx, "default", "/m/0k4j", consensus)
	if again == id {
		t.Fatal("two ids of the same answer are equal: the nonce is not drawn each time")
	}
}

// Every id that is not this deployment's for this caller is refused alike; an old one is
// refused as such.
func TestOpenRefuses(t *testing.T) {
	at := time.Unix(1_800_000_000, 0)
	now := at
	c := &Codec{Secret: fixedSecret{value: "deployment-a"}, Now: func() time.Time { return now }}
	id, _ := c.Seal(ctx, "default", "/m/0k4j", consensus[:1])
	raw, _ := base64.RawURLEncoding.DecodeString(id)
	flipped := append([]byte(nil), raw...)
	flipped[len(flipped)-20] ^= 1
	otherVersion := append([]byte{2}, raw[1:]...)
	otherDeployment, _ := (&Codec{Secret: fixedSecret{value: "deployment-b"}, Now: c.Now}).Seal(ctx, "default", "/m/0k4j", consensus[:1])
	for name, tc := range map[string]struct{ caller, id string }{
		"another caller":     {"other", id},
		"another deployment": {"default", otherDeployment},
		"altered":            {"default", base64.RawURLEncoding.EncodeToString(flipped)},
		"another version":    {"default", base64.RawURLEncoding.EncodeToString(otherVersion)},
		"cut short":          {"default", id[:20]},
		"not base64":         {"default", "!!" + id[2:]},
		"empty":              {"default", ""},
		"too long":           {"default", id + strings.Repeat("A", maxIDLen)},
	} {
		if _, _, err := c.Open(ctx, tc.caller, tc.id); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	now = at.Add(MaxAge + time.Second)
	if _, _, err := c.Open(ctx, "default", id); !errors.Is(err, ErrExpired) {
		t.Errorf("an hour and a second old: %v, want ErrExpired", err)
	}
	now = at.Add(-2 * time.Minute)
	if _, _, err := c.Open(ctx, "default", id); !errors.Is(err, ErrExpired) {
		t.Errorf("issued in the future: %v, want ErrExpired", err)
	}
}

// Without a deployment secret the process draws one: its ids read in the process. A secret that
// cannot be read fails both ways, with its own error.
func TestSecrets(t *testing.T) {
	var c Codec
	id, err := c.Seal(ctx, "default", "/m/0k4j", consensus[:2])
	if err != nil {
		t.Fatal(err)
	}
	if _, answers, err := (&Codec{}).Open(ctx, "default", id); err != nil || len(answers) != 2 {
		t.Fatalf("another codec of the process: %v %v", answers, err)
	}
	down := errors.New("secrets manager down")
	broken := &Codec{Secret: fixedSecret{err: down}}
	if _, err := broken.Seal(ctx, "default", "/m/0k4j", nil); !errors.Is(err, down) {
		t.Errorf("seal: %v", err)
	}
	if _, _, err := broken.Open(ctx, "default", id); !errors.Is(err, down) {
		t.Errorf("open: %v", err)
	}
	// A replaced secret counts at once.
	s := &fixedSecret{value: "one"}
	rotating := &Codec{Secret: s}
	first, _ := rotating.Seal(ctx, "default", "/m/0k4j", nil)
	s.value = "two"
	if _, _, err := rotating.Open(ctx, "default", first); !errors.Is(err, ErrInvalid) {
		t.Errorf("an id under the replaced secret: %v", err)
	}
}

// Fields are bounded: more answers than a request can have are cut, a field over 255 bytes is
// carried empty.
func TestSealBounds(t *testing.T) {
	var c Codec
	long := strings.Repeat("x", 300)
	many := []recognition.Answer{{Provider: "a", TaskID: long}, {Provider: "b"}, {Provider: "c"}, {Provider: "d"}}
	id, _ := c.Seal(ctx, "default", "/m/0k4j", many)
	_, answers, err := c.Open(ctx, "default", id)
	if err != nil || len(answers) != recognition.MaxConsensusCalls || answers[0].TaskID != "" || answers[0].Provider != "a" {
		t.Fatalf("%d answers, first task id %d bytes, %v", len(answers), len(answers[0].TaskID), err)
	}
}

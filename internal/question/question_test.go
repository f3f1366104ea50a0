package question

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"recognizer/internal/apierr"
)

func TestResolve(t *testing.T) {
	cases := []struct{ in, want string }{
		{"/m/0k4j", "/m/0k4j"},
		{"  /M/0K4J ", "/m/0k4j"},
		{"cars", "/m/0k4j"},
		{"car", "/m/0k4j"},
		{"CARS", "/m/0k4j"},
		{"bus", "/m/01bjv"},
		{"buses", "/m/01bjv"},
		{"Buses", "/m/01bjv"},
		{"school bus", "/m/02yvhj"},
		{"school buses", "/m/02yvhj"},
		{"Select all images with <strong>school buses</strong>", "/m/02yvhj"},
		{"Select all images with <strong>buses</strong> Click verify once there are none left.", "/m/01bjv"},
		{"Select all squares with <strong>motorcycles</strong> If there are none, click skip", "/m/04_sv"},
		{"fire hydrants", "/m/01pns0"},
		{"fire hydrant", "/m/01pns0"},
		{"Select all images with a <b>fire&nbsp;hydrant</b>", "/m/01pns0"},
		{"pedestrian crossings", "/m/014xcs"},
		{"crosswalk", "/m/014xcs"},
		{"traffic lights", "/m/015qff"},
		{"taxis", "/m/0pg52"},
		{"taxi", "/m/0pg52"},
		{"chimney", "/m/01jk_4"},
		{"mountains or hills", "/m/09d_r"},
		{"hills", "/m/09d_r"},
		{"stairs", "/m/01lynh"},
		{"staircase", "/m/01lynh"},
		{"palm trees", "/m/0cdl1"},
		{"parking meter", "/m/015qbp"},
		{"bicycles", "/m/0199g"},
		{"tractor", "/m/013xlm"},
		{"bridges", "/m/015kr"},
		{"boat", "/m/019jd"},
		{"汽车", "/m/0k4j"},
		{"校车", "/m/02yvhj"},
		{"巴士", "/m/01bjv"},
		{"公共汽车", "/m/01bjv"},
		{"选择包含<strong>消防栓</strong>的所有图片", "/m/01pns0"},
		{"请选择包含 红绿灯 的所有图片", "/m/015qff"},
	}
	for _, c := range cases {
		got, err := Default.Resolve(c.in)
		if err != nil {
			t.Errorf("Resolve(%q): %v", c.in, err)
			continue
		}
		if got.ID != c.want {
			t.Errorf("Resolve(%q) = %s (%s), want %s", c.in, got.ID, got.Name(), c.want)
		}
	}
}

func TestResolveRejects(t *testing.T) {
	cases := []struct{ in, wantInMessage string }{
		{"", "question is required"},
		{"   ", "question is required"},
		{"dogs", "names no supported label"},
		{"Select all images with vehicles", "names no supported label"},
		{"cares", "names no supported label"},
		{"/m/nothing", "names no supported label"},
		{"cars and boats", "more than one label"},
		{strings.Repeat("a", MaxBytes+1), "longer than"},
		{"\xff\xfe", "not valid UTF-8"},
	}
	for _, c := range cases {
		_, err := Default.Resolve(c.in)
		var e *apierr.Error
		if !errors.As(err, &e) {
			t.Errorf("Resolve(%q): error %v is not an *apierr.Error", c.in, err)
			continue
		}
		if e.Status() != http.StatusBadRequest || e.Code != apierr.CodeUnsupportedQuestion {
			t.Errorf("Resolve(%q) = %d %s, want 400 %s", c.in, e.Status(), e.Code, apierr.CodeUnsupportedQuestion)
		}
		if !strings.Contains(e.Message, c.wantInMessage) {
			t.Errorf("Resolve(%q) message %q lacks %q", c.in, e.Message, c.wantInMessage)
		}
	}
}

func TestUnknownQuestionListsEveryLabel(t *testing.T) {
	_, err := Default.Resolve("dogs")
	msg := apierr.As(err).Message
	for _, l := range Default.Labels() {
		if !strings.Contains(msg, l.ID) {
			t.Errorf("message does not list %s: %s", l.ID, msg)
		}
	}
}

// The table is the seed's: 17 labels, each reachable by its id and by each of its names.
func TestEveryNameResolvesToItsLabel(t *testing.T) {
	labels := Default.Labels()
	if len(labels) != 17 {
		t.Fatalf("table has %d labels, the upstream has 17", len(labels))
	}
	for _, l := range labels {
		for lang, names := range l.Names {
			for _, n := range names {
				got, err := Default.Resolve(n)
				if err != nil || got.ID != l.ID {
					t.Errorf("%s name %q resolves to %v, %v; want %s", lang, n, got.ID, err, l.ID)
				}
			}
		}
	}
}

func TestLoadRejectsBadTables(t *testing.T) {
	for _, doc := range []string{
		`{`,
		`{"labels":[{"id":"0k4j","names":{"en":["cars"]}}]}`,
		`{"labels":[{"id":"/m/1","names":{"en":["a"]}},{"id":"/m/1","names":{"en":["b"]}}]}`,
		`{"labels":[{"id":"/m/1","names":{"en":[" "]}}]}`,
	} {
		if _, err := Load([]byte(doc)); err == nil {
			t.Errorf("Load(%s) accepted a bad table", doc)
		}
	}
}

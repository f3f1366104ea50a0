//go:build e2e

package playground_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/api"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/taskemu"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
)

var screenshotPath = flag.String("screenshot", "", "also write the playground's screenshot here (make screenshot writes docs/playground.png)")

// startServer runs make run's binary as a user would: no token (the emulator), no AWS.
func startServer(t *testing.T) *testenv.Local {
	t.Helper()
	bin, err := testenv.BuildLocal(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := testenv.StartLocal(bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func sample(t *testing.T, name string) string {
	p, err := filepath.Abs(filepath.Join("..", "..", "..", "events", "images", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// drawn is what the page shows after an answer, read from the page itself.
type drawn struct {
	Answer      string
	Tiles       int
	Chosen      []int
	Confidences []string
	Clicks      []struct {
		Index            int
		X, Y             float64 // the mark's centre in the picture's pixels, as drawn
		ScreenX, ScreenY float64 // the same, measured on the screen from the picture's box
	}
	Curl, Source, Summary string
	Resources             []string
}

const readPage = `
const svg = document.getElementById("overlay"), pic = document.getElementById("picture");
const box = pic.getBoundingClientRect();
return {
  answer: document.getElementById("answer").textContent,
  tiles: svg.querySelectorAll("rect.tile").length,
  chosen: [...svg.querySelectorAll("rect.tile.chosen")].map((e) => +e.dataset.index),
  confidences: [...svg.querySelectorAll("text.conf")].map((e) => e.textContent),
  clicks: [...svg.querySelectorAll("circle.click")].map((e) => {
    const r = e.getBoundingClientRect();
    return {index: +e.dataset.index, x: +e.getAttribute("cx"), y: +e.getAttribute("cy"),
      screenX: (r.left + r.width / 2 - box.left) * pic.naturalWidth / box.width,
      screenY: (r.top + r.height / 2 - box.top) * pic.naturalHeight / box.height};
  }),
  curl: document.getElementById("curl").textContent,
  source: document.body.dataset.source,
  summary: document.getElementById("summary").textContent,
  resources: performance.getEntriesByType("resource").map((e) => e.name),
};`

// check compares what the page drew with the answer it shows, and the answer with the one the
// emulator gives the sample.
func check(t *testing.T, b *browser, origin, grid string, objects []int) (drawn, api.Answer) {
	t.Helper()
	var d drawn
	b.script(&d, readPage)
	var a api.Answer
	if err := json.Unmarshal([]byte(d.Answer), &a); err != nil {
		t.Fatalf("the page's answer %q: %v", d.Answer, err)
	}
	s := a.Solution
	if s.Grid != grid || !slices.Equal(s.Objects, objects) {
		t.Fatalf("answer %s %v, want %s %v", s.Grid, s.Objects, grid, objects)
	}
	n := map[string]int{"1x1": 1, "3x3": 9, "4x4": 16}[grid]
	if d.Tiles != n || !slices.Equal(d.Chosen, s.Objects) {
		t.Errorf("drew %d tiles with %v highlighted, want %d with %v", d.Tiles, d.Chosen, n, s.Objects)
	}
	if len(d.Confidences) != len(s.Confidences) {
		t.Fatalf("%d confidences drawn, the answer has %d", len(d.Confidences), len(s.Confidences))
	}
	for i, c := range s.Confidences {
		if d.Confidences[i] != fmt.Sprintf("%.2f", c) {
			t.Errorf("tile %d shows %s, the answer says %v", i, d.Confidences[i], c)
		}
	}
	if len(d.Clicks) != len(s.Clicks) {
		t.Fatalf("%d click marks for %d clicks", len(d.Clicks), len(s.Clicks))
	}
	for i, c := range s.Clicks {
		m := d.Clicks[i]
		// The mark is where the answer says, and on the screen it lands on that point of the
		// picture (within a pixel of the picture, whatever the scale it is shown at).
		if m.Index != c.Index || m.X != float64(c.X) || m.Y != float64(c.Y) ||
			math.Abs(m.ScreenX-float64(c.X)) > 1.5 || math.Abs(m.ScreenY-float64(c.Y)) > 1.5 {
			t.Errorf("click mark %+v, the answer's click %+v", m, c)
		}
	}
	for _, r := range d.Resources {
		if !strings.HasPrefix(r, origin+"/") && !strings.HasPrefix(r, "blob:"+origin+"/") {
			t.Errorf("the page loaded %s, which is not from its server", r)
		}
	}
	return d, a
}

// TestPlaygroundInBrowser: headless Chromium loads the page, uploads a sample from
// events/images, asks, and the tiles, confidences and click marks it draws are the answer's.
// Then a widget screenshot arrives by drag and drop, with the widget's sentence as the
// question; a pasted picture is taken too. The curl command it shows gives the same answer.
func TestPlaygroundInBrowser(t *testing.T) {
	b := startBrowser(t)
	srv := startServer(t)
	b.open(srv.URL + "/")
	b.waitState("empty")
	// The label list arrives after the page (one fetch, appended at once): the caption below
	// names the label from it too.
	b.waitTrue(`document.querySelectorAll("#labels option").length > 0`)
	var labels int
	b.script(&labels, `return document.querySelectorAll("#labels option").length`)

	b.typeInto("#file", sample(t, "cars-3x3.jpg"))
	b.waitState("chosen")
	b.typeInto("#question", "cars")
	b.click("#go")
	if b.waitState("done", "error") != "done" {
		var msg string
		b.script(&msg, `return document.getElementById("error").textContent`)
		t.Fatalf("the page shows an error: %s", msg)
	}
	d, a := check(t, b, srv.URL, "3x3", []int{0, 4, 8})
	// The caption names the label as people say it, with the id the answer carries.
	if d.Source != "file" || !strings.Contains(d.Summary, "3x3 grid, cars (/m/0k4j): click tiles 0, 4, 8") {
		t.Errorf("source %q, summary %q", d.Source, d.Summary)
	}
	if labels < 17 {
		t.Errorf("the question box offers %d labels", labels)
	}
	runCurl(t, d.Curl, a)
	path := filepath.Join(t.TempDir(), "playground.png")
	if *screenshotPath != "" {
		path = *screenshotPath
	}
	b.screenshot(path)

	// Drag and drop: the file arrives through the drop zone's drop event, as from a desktop.
	b.typeInto("#file", sample(t, "buses-screenshot.jpg"))
	b.waitState("chosen")
	b.script(nil, `const dt = new DataTransfer(); dt.items.add(document.getElementById("file").files[0]);
		document.getElementById("drop").dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));`)
	b.script(nil, `document.getElementById("question").value = ""`)
	b.typeInto("#question", "Select all images with <strong>buses</strong>")
	b.click("#go")
	b.waitState("done")
	d, a = check(t, b, srv.URL, "4x4", []int{1, 6})
	if d.Source != "drop" {
		t.Errorf("source %q, want drop", d.Source)
	}
	runCurl(t, d.Curl, a)

	// Paste: a picture on the clipboard is taken as the picture.
	b.script(nil, `const dt = new DataTransfer(); dt.items.add(document.getElementById("file").files[0]);
		document.dispatchEvent(new ClipboardEvent("paste", {clipboardData: dt, bubbles: true, cancelable: true}));`)
	b.waitState("chosen")
	var source string
	b.script(&source, `return document.body.dataset.source`)
	if source != "paste" {
		t.Errorf("source %q after a paste", source)
	}
}

// runCurl runs the page's curl command from events/images (where the sample is) and compares
// its answer with the page's.
func runCurl(t *testing.T, command string, want api.Answer) {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Log("curl is not installed: the page's curl command was not run")
		return
	}
	cmd := exec.Command("sh", "-c", command)
	cmd.Dir = filepath.Dir(sample(t, "cars-3x3.jpg"))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", command, err)
	}
	var got api.Answer
	if err := json.Unmarshal(out, &got); err != nil || !slices.Equal(got.Solution.Objects, want.Solution.Objects) || got.Solution.Grid != want.Solution.Grid {
		t.Fatalf("%s answered %s, the page %+v", command, out, want.Solution)
	}
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(m.Run())
}

// The playground draws every answer shape: a task provider's answers carry no confidences, and a
// single tile's is only whether it shows the label. Through make run's binary with CapSolver's
// emulator as its only provider: a 3×3 grid and a 1×1 tile are each drawn, tiles and clicks,
// with no confidence shown.
func TestPlaygroundDrawsEveryAnswerShape(t *testing.T) {
	cs, err := taskemu.New(taskemu.CapSolver, "cs-key").Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	bin, err := testenv.BuildLocal(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := testenv.StartLocal(bin, "PROVIDERS=capsolver", "CAPSOLVER_API_URL="+cs.URL, `RECOGNITION_TOKEN={"capsolver": "cs-key"}`)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	b := startBrowser(t)
	b.open(srv.URL + "/")
	b.waitState("empty")
	tile := filepath.Join(t.TempDir(), "tile.png")
	if err := os.WriteFile(tile, testimage.Challenge{Grid: 1, Tile: 100, Label: "/m/0k4j", Targets: []int{0}}.PNG(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		file, grid string
		objects    []int
	}{
		{sample(t, "cars-3x3.jpg"), "3x3", []int{0, 4, 8}},
		{tile, "1x1", []int{0}},
	} {
		b.typeInto("#file", c.file)
		b.waitState("chosen")
		b.script(nil, `document.getElementById("question").value = ""; document.getElementById("grid").value = arguments[0]`, c.grid)
		b.typeInto("#question", "cars")
		b.click("#go")
		if b.waitState("done", "error") != "done" {
			var msg string
			b.script(&msg, `return document.getElementById("error").textContent`)
			t.Fatalf("%s: the page shows an error: %s", c.grid, msg)
		}
		d, a := check(t, b, srv.URL, c.grid, c.objects)
		if a.Solution.Confidences != nil || len(d.Confidences) != 0 || a.Solution.Provider != "capsolver" {
			t.Fatalf("%s: answer %s, %d confidences drawn", c.grid, d.Answer, len(d.Confidences))
		}
		if !strings.Contains(d.Summary, "click tile") {
			t.Errorf("%s: summary %q", c.grid, d.Summary)
		}
	}
}

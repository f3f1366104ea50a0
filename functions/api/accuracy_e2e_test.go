//go:build e2e

package main

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"testing"
)

// The deployment's accuracy settings through the real bootstrap and the providers' emulators:
// a threshold leaves the tiles of a provider without confidences unclicked and uncertain, and
// passes AceData's sure tiles; consensus asks a second provider for an answer without
// confidences and says who agreed.
func TestAccuracySettingsEndToEnd(t *testing.T) {
	for _, c := range []struct {
		name      string
		env       []string
		objects   []int
		uncertain []int // nil: no uncertain field
		agreed    []string
		requests  []int // acedata, capsolver, yescaptcha, capmonster
	}{
		{"threshold, no confidences", []string{"PROVIDERS=capsolver", "MIN_CONFIDENCE=0.5"}, []int{}, []int{0, 4, 8}, nil, []int{0, 1, 0, 0}},
		{"threshold, confidences", []string{"PROVIDERS=acedata", "MIN_CONFIDENCE=0.5"}, []int{0, 4, 8}, []int{}, nil, []int{1, 0, 0, 0}},
		{"consensus", []string{"PROVIDERS=capsolver,yescaptcha,capmonster", "CONSENSUS=on"}, []int{0, 4, 8}, nil,
			[]string{"capsolver", "yescaptcha"}, []int{0, 1, 1, 0}},
		{"consensus and threshold: agreed tiles pass", []string{"PROVIDERS=capsolver,yescaptcha", "CONSENSUS=on", "MIN_CONFIDENCE=0.9"},
			[]int{0, 4, 8}, []int{}, []string{"capsolver", "yescaptcha"}, []int{0, 1, 1, 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ch := startChain(t, allKeys(), c.env...)
			resp := ch.invoke(jsonEvent("/recognize", map[string]any{"image": base64.StdEncoding.EncodeToString(std3x3.PNG()), "question": "cars"}))
			var doc struct {
				Solution struct {
					Objects   []int    `json:"objects"`
					Clicks    []any    `json:"clicks"`
					Uncertain []int    `json:"uncertain"`
					Agreed    []string `json:"agreed"`
				} `json:"solution"`
			}
			if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &doc) != nil {
				t.Fatalf("%d %s", resp.StatusCode, resp.Body)
			}
			s := doc.Solution
			if !slices.Equal(s.Objects, c.objects) || len(s.Clicks) != len(c.objects) || !slices.Equal(s.Uncertain, c.uncertain) ||
				(s.Uncertain == nil) != (c.uncertain == nil) || !slices.Equal(s.Agreed, c.agreed) || !slices.Equal(ch.requests(), c.requests) {
				t.Fatalf("%s; provider requests %v, want %v", resp.Body, ch.requests(), c.requests)
			}
		})
	}
}

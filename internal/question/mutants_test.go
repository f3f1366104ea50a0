package question

import "testing"

// The widget's markup sits right against the words ("with<strong>cars</strong><span>Click"):
// every tag stands for a space, or the label's name joins its neighbours and matches nothing.
// Entities are text: v&eacute;los is vélos.
func TestMarkupAndEntitiesSeparateWords(t *testing.T) {
	for in, want := range map[string]string{
		"Select all images with<strong>cars</strong><span>Click verify once there are none left.</span>": "/m/0k4j",
		"<strong>buses</strong><br>": "/m/01bjv",
		"Sélectionnez toutes les images contenant des <strong>v&eacute;los</strong>.": "/m/0199g",
		"<strong>bouches d&#39;incendie</strong>":                                     "/m/01pns0",
		"<strong>traffic&nbsp;lights</strong>":                                        "/m/015qff",
	} {
		got, err := Default.Resolve(in)
		if err != nil || got.ID != want {
			t.Errorf("%q: %s, %v; want %s", in, got.ID, err, want)
		}
	}
}

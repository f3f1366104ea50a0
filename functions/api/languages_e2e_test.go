//go:build e2e

package main

// End to end, widget sentences in every script the label table covers (docs/languages.md): the
// real bootstrap resolves the question a browser in that language shows, and the emulator,
// which only knows label ids, finds that label's tiles.

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
)

func TestQuestionsInEveryScript(t *testing.T) {
	f := start(t)
	challenge := func(label string, seed uint64) testimage.Challenge {
		return testimage.Challenge{Grid: 3, Tile: 100, Label: label, Targets: []int{1, 5, 6}, Seed: seed}
	}
	jsonQuestion := func(ch testimage.Challenge, q string) events.APIGatewayV2HTTPRequest {
		return jsonEvent("/recognize", map[string]any{"image": base64.StdEncoding.EncodeToString(ch.PNG()), "question": q})
	}
	cases := []struct {
		script, question string
		ch               testimage.Challenge
		form             string
	}{
		{"Latin (de, dative plural)", "Wählen Sie alle Bilder mit <strong>Fahrrädern</strong> aus.", challenge("/m/0199g", 11), "json"},
		{"Latin (pl, instrumental)", "Zaznacz wszystkie kwadraty z <strong>sygnalizacją świetlną</strong>", challenge("/m/015qff", 12), "query"},
		{"Cyrillic (ru, instrumental)", "Выберите все изображения с <strong>велосипедами</strong>", challenge("/m/0199g", 13), "multipart"},
		{"Cyrillic (uk)", "Виберіть усі зображення, на яких є <strong>світлофори</strong>.", challenge("/m/015qff", 14), "json"},
		{"CJK (ja, 車 inside 自転車)", "<strong>自転車</strong>の画像をすべて選択してください。", challenge("/m/0199g", 15), "json"},
		{"CJK (zh-TW)", "請選取所有包含<strong>消防栓</strong>的圖片。", challenge("/m/01pns0", 16), "multipart"},
		{"Hangul (ko, with a particle)", "<strong>횡단보도</strong>이(가) 있는 이미지를 모두 선택하세요.", challenge("/m/014xcs", 17), "json"},
		{"Arabic", "اختر جميع الصور التي تحتوي على <strong>إشارات المرور</strong>.", challenge("/m/015qff", 18), "query"},
		{"Devanagari (hi)", "<strong>स्कूल बस</strong> वाली सभी इमेज चुनें.", challenge("/m/02yvhj", 19), "json"},
		{"Thai", "เลือกรูปภาพทั้งหมดที่มี<strong>รถจักรยานยนต์</strong>", challenge("/m/04_sv", 20), "multipart"},
		{"Greek (capitals without accents)", "ΕΠΙΛΕΞΤΕ ΟΛΕΣ ΤΙΣ ΕΙΚΟΝΕΣ ΜΕ <strong>ΓΕΦΥΡΕΣ</strong>", challenge("/m/015kr", 23), "json"},
		{"Arabic script (fa, zero-width non-joiner)", "همه تصاویر دارای <strong>قایق\u200cها</strong> را انتخاب کنید.", challenge("/m/019jd", 24), "multipart"},
	}
	for _, c := range cases {
		t.Run(c.script, func(t *testing.T) {
			var ev events.APIGatewayV2HTTPRequest
			switch c.form {
			case "json":
				ev = jsonQuestion(c.ch, c.question)
			case "multipart":
				ev = multipartEvent(map[string]string{"question": c.question}, c.ch.PNG())
			case "query":
				ev = event("POST", "/recognize", "question="+url.QueryEscape(c.question), "image/png", c.ch.PNG(), true)
			}
			wantSolved(t, f.invoke(ev), c.ch)
		})
	}

	// Refusals name what was wrong, in any script: two labels are listed, an unknown name lists
	// the languages.
	t.Run("two labels", func(t *testing.T) {
		a := wantError(t, f.invoke(jsonQuestion(challenge("/m/0199g", 21), "Выберите все изображения с велосипедами и светофорами")), 400, "unsupported_question")
		if !strings.Contains(a.Error.Message, "/m/0199g (bicycles), /m/015qff (traffic lights)") {
			t.Errorf("message %q does not name both labels", a.Error.Message)
		}
	})
	t.Run("a word that holds a name", func(t *testing.T) {
		a := wantError(t, f.invoke(jsonQuestion(challenge("/m/0k4j", 22), "電車の画像をすべて選択してください")), 400, "unsupported_question")
		for _, lang := range []string{"en", "de", "ja", "ko", "ar", "hi", "th", "zh-TW", "el", "fa"} {
			if !strings.Contains(a.Error.Message, lang) {
				t.Errorf("message %q does not list %s", a.Error.Message, lang)
			}
		}
	})
}

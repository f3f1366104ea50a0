package question

import (
	"golang.org/x/text/unicode/norm"

	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"
	"unicode"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
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
		{"红绿 灯", "/m/015qff"}, // spaces inside a Chinese name do not count
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

// Widget-style sentences, at least two per language, as a browser in that language shows them.
func TestResolveWidgetSentences(t *testing.T) {
	cases := []struct{ lang, in, want string }{
		{"en", "Select all images with <strong>crosswalks</strong> Click verify once there are none left.", "/m/014xcs"},
		{"en", "Select all squares with <strong>fire hydrants</strong> If there are none, click skip", "/m/01pns0"},
		{"zh-CN", "选择包含<strong>自行车</strong>的所有图片。", "/m/0199g"},
		{"zh-CN", "请选择包含“停车计价表”的所有方块。如果没有，请点击“跳过”。", "/m/015qbp"},
		{"zh-TW", "請選取所有包含<strong>紅綠燈</strong>的圖片。如果沒有，請按一下「略過」。", "/m/015qff"},
		{"zh-TW", "選取所有含有 計程車 的圖塊", "/m/0pg52"},
		{"ja", "<strong>自転車</strong>の画像をすべて選択してください。", "/m/0199g"},
		{"ja", "車が写っている画像をすべて選んでください。すべて選択し終わったら [確認] をクリックしてください。", "/m/0k4j"},
		{"ja", "<strong>横断歩道</strong>のタイルをすべて選択してください。", "/m/014xcs"},
		{"ko", "<strong>신호등</strong>이(가) 있는 이미지를 모두 선택하세요.", "/m/015qff"},
		{"ko", "자전거가 포함된 타일을 모두 선택하세요. 없으면 건너뛰기를 클릭하세요.", "/m/0199g"},
		{"es", "Selecciona todas las imágenes con <strong>semáforos</strong>", "/m/015qff"},
		{"es", "Selecciona todos los cuadrados con <strong>pasos de peatones</strong> Si no hay ninguno, haz clic en Saltar.", "/m/014xcs"},
		{"pt-BR", "Selecione todas as imagens com <strong>carros</strong> Clique em verificar quando não houver mais nenhuma.", "/m/0k4j"},
		{"pt-BR", "Selecione todos os quadrados com <strong>faixas de pedestres</strong>", "/m/014xcs"},
		{"pt-PT", "Selecione todas as imagens com <strong>autocarros</strong>", "/m/01bjv"},
		{"pt-PT", "Selecione todos os quadrados com <strong>passadeiras</strong> Se não existir nenhum, clique em ignorar.", "/m/014xcs"},
		{"fr", "Sélectionnez toutes les images contenant des <strong>feux de circulation</strong>.", "/m/015qff"},
		{"fr", "Sélectionnez tous les carrés contenant des <strong>bouches d’incendie</strong> S'il n'y en a aucun, cliquez sur Ignorer.", "/m/01pns0"},
		{"de", "Wählen Sie alle Bilder mit <strong>Ampeln</strong> aus.", "/m/015qff"},
		{"de", "Wählen Sie alle Felder mit <strong>Fahrrädern</strong> aus. Wenn keine vorhanden sind, klicken Sie auf „Überspringen“.", "/m/0199g"},
		{"de", "Wählen Sie alle Bilder mit <strong>Bussen</strong> aus.", "/m/01bjv"},
		{"de", "Wählen Sie alle Bilder mit <strong>Zebrastreifen</strong> aus.", "/m/014xcs"},
		{"de", "Wählen Sie alle Bilder mit <strong>Fußgängerüberwegen</strong> aus.", "/m/014xcs"},
		{"de", "Wählen Sie alle Bilder mit Fussgängerüberwegen aus.", "/m/014xcs"}, // ß written ss
		{"it", "Seleziona tutte le immagini con <strong>semafori</strong>", "/m/015qff"},
		{"it", "Seleziona tutti i riquadri con <strong>strisce pedonali</strong> Se non ce ne sono, fai clic su Salta.", "/m/014xcs"},
		{"nl", "Selecteer alle afbeeldingen met <strong>verkeerslichten</strong>", "/m/015qff"},
		{"nl", "Selecteer alle vakjes met <strong>auto's</strong> Als er geen zijn, klik je op Overslaan.", "/m/0k4j"},
		{"ru", "Выберите все изображения с <strong>велосипедами</strong>", "/m/0199g"},
		{"ru", "Выберите все изображения, где есть <strong>светофоры</strong>.", "/m/015qff"},
		{"ru", "Выберите все квадраты с пешеходными переходами. Если их нет, нажмите «Пропустить».", "/m/014xcs"},
		{"ru", "Выберите все изображения с <strong>парковочными счетчиками</strong>", "/m/015qbp"}, // ё written е
		{"uk", "Виберіть усі зображення з <strong>велосипедами</strong>", "/m/0199g"},
		{"uk", "Виберіть усі зображення, на яких є <strong>світлофори</strong>.", "/m/015qff"},
		{"pl", "Zaznacz wszystkie obrazy z <strong>sygnalizacją świetlną</strong>", "/m/015qff"},
		{"pl", "Zaznacz wszystkie kwadraty z <strong>rowerami</strong> Jeśli nie ma żadnych, kliknij Pomiń.", "/m/0199g"},
		{"tr", "<strong>Trafik ışıkları</strong> içeren tüm resimleri seçin.", "/m/015qff"},
		{"tr", "Otobüsler olan tüm kareleri seçin. Hiç yoksa atla'yı tıklayın.", "/m/01bjv"},
		{"tr", "Tüm trafik ışıklarını seçin", "/m/015qff"}, // a case ending on the listed form
		{"tr", "TRAFİK IŞIKLARI", "/m/015qff"},
		{"vi", "Chọn tất cả hình ảnh có <strong>đèn giao thông</strong>", "/m/015qff"},
		{"vi", "Chọn tất cả các ô có <strong>xe đạp</strong> Nếu không có, hãy nhấp vào bỏ qua.", "/m/0199g"},
		{"id", "Pilih semua gambar dengan <strong>lampu lalu lintas</strong>", "/m/015qff"},
		{"id", "Pilih semua kotak dengan <strong>sepeda motor</strong> Jika tidak ada, klik lewati.", "/m/04_sv"},
		{"th", "เลือกรูปภาพทั้งหมดที่มี<strong>สัญญาณไฟจราจร</strong>", "/m/015qff"},
		{"th", "เลือกสี่เหลี่ยมทั้งหมดที่มี รถจักรยานยนต์ หากไม่มี ให้คลิกข้าม", "/m/04_sv"},
		{"ar", "اختر جميع الصور التي تحتوي على <strong>إشارات المرور</strong>.", "/m/015qff"},
		{"ar", "اختر كل المربعات التي تحتوي على <strong>دراجات نارية</strong>", "/m/04_sv"},
		{"ar", "اختر جميع الصور التي تحتوي على اشارات المرور", "/m/015qff"}, // hamza seat left out
		{"hi", "<strong>ट्रैफ़िक लाइट</strong> वाली सभी इमेज चुनें.", "/m/015qff"},
		{"hi", "साइकिल वाले सभी स्क्वेयर चुनें. अगर कोई नहीं है, तो 'छोड़ें' पर क्लिक करें.", "/m/0199g"},
		{"hi", "ट्रैफ़िक लाइट", "/m/015qff"}, // फ़ as one precomposed letter (U+095E)
		{"cs", "Vyberte všechny obrázky s <strong>jízdními koly</strong>", "/m/0199g"},
		{"cs", "Vyberte všechny čtverce se semafory. Pokud žádné nejsou, klikněte na Přeskočit.", "/m/015qff"},
		{"sv", "Markera alla bilder med <strong>trafikljus</strong>", "/m/015qff"},
		{"sv", "Markera alla rutor med bussar Klicka på hoppa över om det inte finns några.", "/m/01bjv"},
		{"ro", "Selectați toate imaginile cu <strong>semafoare</strong>", "/m/015qff"},
		{"ro", "Selectaţi toate pătratele cu coşuri de fum", "/m/01jk_4"}, // cedillas for commas
		{"el", "Επιλέξτε όλες τις εικόνες με <strong>φανάρια</strong>", "/m/015qff"},
		{"el", "ΕΠΙΛΕΞΤΕ ΟΛΑ ΤΑ ΤΕΤΡΑΓΩΝΑ ΜΕ ΛΟΦΟΥΣ", "/m/09d_r"}, // capitals without tonos
		{"fa", "همه تصاویر دارای <strong>چراغ راهنمایی</strong> را انتخاب کنید.", "/m/015qff"},
		{"fa", "همه مربع\u200cهای دارای دوچرخه\u200cها را انتخاب کنید", "/m/0199g"},
		{"fa", "تاكسي", "/m/0pg52"}, // Arabic kaf and yeh
	}
	seen := map[string]int{}
	for _, c := range cases {
		seen[c.lang]++
		got, err := Default.Resolve(c.in)
		if err != nil {
			t.Errorf("%s: Resolve(%q): %v", c.lang, c.in, err)
			continue
		}
		if got.ID != c.want {
			t.Errorf("%s: Resolve(%q) = %s (%s), want %s", c.lang, c.in, got.ID, got.Name(), c.want)
		}
	}
	for _, l := range Default.Languages() {
		if seen[l.Code] < 2 {
			t.Errorf("%s has %d widget sentences in this test, want at least 2", l.Code, seen[l.Code])
		}
	}
}

// Every name of every language, in every sentence of that language: the frame's own words never
// name a label, and no name of another language hides in them.
func TestEveryNameInEveryFrame(t *testing.T) {
	n := 0
	for _, lang := range Default.Languages() {
		for _, l := range Default.Labels() {
			for _, name := range l.Names[lang.Code] {
				for _, frame := range lang.Frames {
					q := fmt.Sprintf(frame, name)
					n++
					got, err := Default.Resolve(q)
					if err != nil || got.ID != l.ID {
						t.Errorf("%s: Resolve(%q) = %s, %v; want %s", lang.Code, q, got.ID, err, l.ID)
					}
				}
			}
		}
		for _, frame := range lang.Frames {
			if frame == "%s" {
				continue
			}
			q := fmt.Sprintf(frame, "")
			if got, err := Default.Resolve(q); err == nil {
				t.Errorf("%s: the bare frame %q resolves to %s", lang.Code, q, got.ID)
			}
		}
	}
	t.Logf("%d sentences", n)
}

// The bar: at least 20 languages, all 17 labels in each, and two widget sentences each.
func TestCoverage(t *testing.T) {
	labels, langs := Default.Labels(), Default.Languages()
	if len(labels) != 17 {
		t.Fatalf("table has %d labels, the upstream has 17", len(labels))
	}
	if len(langs) < 20 {
		t.Errorf("%d languages, want at least 20", len(langs))
	}
	for _, lang := range langs {
		for _, l := range labels {
			if len(l.Names[lang.Code]) == 0 {
				t.Errorf("%s has no name for %s (%s)", lang.Code, l.ID, l.Name())
			}
		}
		sentences := 0
		for _, f := range lang.Frames {
			if f != "%s" {
				sentences++
			}
		}
		if sentences < 2 {
			t.Errorf("%s has %d widget sentences, want at least 2", lang.Code, sentences)
		}
	}
}

// A name inside a longer one never counts; words that only contain a name are not that label.
func TestTraps(t *testing.T) {
	cases := []struct{ in, want string }{
		{"自転車", "/m/0199g"}, // ja: 車 (cars) inside 自転車 (bicycles)
		{"<strong>自転車</strong>の画像をすべて選択してください", "/m/0199g"},
		{"駐車メーター", "/m/015qbp"},                                                       // ja: 車 inside parking meter
		{"Wählen Sie alle Bilder mit <strong>Schulbussen</strong> aus.", "/m/02yvhj"}, // de: Bussen inside Schulbussen
		{"Select all images with a <strong>school bus</strong>.", "/m/02yvhj"},        // bus inside school bus
		{"スクールバス", "/m/02yvhj"},
		{"스쿨버스가 있는 이미지를 모두 선택하세요", "/m/02yvhj"},
		{"รถจักรยานยนต์", "/m/04_sv"}, // th: จักรยาน (bicycle) inside motorcycle
		{"دراجات نارية", "/m/04_sv"},  // ar: دراجات (bicycles) inside motorcycles
		{"سيارات الأجرة", "/m/0pg52"}, // ar: سيارات (cars) inside taxis
		{"Pilih semua gambar dengan sepeda motor", "/m/04_sv"},
		{"cầu thang", "/m/01lynh"}, // vi: cầu (bridge) inside stairs
		{"Selecione todas as imagens com ônibus escolares", "/m/02yvhj"},
		{"车", "/m/0k4j"},       // zh: a peer's name for cars...
		{"自行车", "/m/0199g"},    // ...inside bicycles,
		{"停车计价表", "/m/015qbp"}, // parking meters
		{"公交车", "/m/01bjv"},    // and buses
	}
	for _, c := range cases {
		got, err := Default.Resolve(c.in)
		if err != nil || got.ID != c.want {
			t.Errorf("Resolve(%q) = %s, %v; want %s", c.in, got.ID, err, c.want)
		}
	}
	// Words that hold a name but are something else: no label.
	for _, q := range []string{
		"Select all images with <strong>bus stops</strong>", // a widget label the upstream lacks
		"電車",               // ja: a train holds 車
		"消防車",              // ja: a fire engine holds 車
		"火車",               // zh-TW: a train holds 車
		"火车", "卡车", "公交车站", // zh: a train, a lorry, a bus stop hold 车
		"버스 정류장", // ko: bus stop
		"Wählen Sie alle Bilder mit <strong>Bushaltestellen</strong> aus.",
		"Busfahrer", "rowerek", "scarsity", "scares", "cares", // a name inside a longer word
		"Select all images with vehicles",
		"yêu cầu", // vi: cầu inside "request" (two syllables, one word)
	} {
		if got, err := Default.Resolve(q); err == nil {
			t.Errorf("Resolve(%q) = %s, want no label", q, got.ID)
		}
	}
}

func TestResolveRejects(t *testing.T) {
	cases := []struct{ in, wantInMessage string }{
		{"", "question is required"},
		{"   ", "question is required"},
		{"dogs", "names no supported label"},
		{"Select all images with vehicles", "names no supported label"},
		{"Wählen Sie alle Bilder mit aus.", "names no supported label"},
		{"cares", "names no supported label"},
		{"/m/nothing", "names no supported label"},
		{"cars and boats", "more than one label: /m/0k4j (cars), /m/019jd (boats)"},
		{"Wählen Sie alle Bilder mit Autos und Booten aus.", "more than one label: /m/0k4j (cars), /m/019jd (boats)"},
		{"自転車とバス", "more than one label: /m/0199g (bicycles), /m/01bjv (bus)"},
		{"светофоры и велосипеды", "more than one label: /m/015qff (traffic lights), /m/0199g (bicycles)"},
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

func TestUnknownQuestionListsLanguagesAndLabels(t *testing.T) {
	_, err := Default.Resolve("dogs")
	msg := apierr.As(err).Message
	for _, l := range Default.Labels() {
		if !strings.Contains(msg, l.ID) {
			t.Errorf("message does not list %s: %s", l.ID, msg)
		}
	}
	for _, l := range Default.Languages() {
		if !strings.Contains(msg, l.Code) {
			t.Errorf("message does not list %s: %s", l.Code, msg)
		}
	}
}

// Every name resolves alone to its label, and no two languages give one text two labels (Load
// refuses that; this checks the embedded files load at all and each name survives).
func TestEveryNameResolvesToItsLabel(t *testing.T) {
	for _, l := range Default.Labels() {
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
	en := "language: English\n/m/0k4j: cars | car\n/m/019jd: boats\n"
	cases := []struct {
		name string
		fs   fstest.MapFS
		want string
	}{
		{"no en.txt", fstest.MapFS{"de.txt": {Data: []byte("language: German\n")}}, "en.txt is missing"},
		{"no labels", fstest.MapFS{"en.txt": {Data: []byte("language: English\n")}}, "no labels"},
		{"no language line", fstest.MapFS{"en.txt": {Data: []byte("/m/0k4j: cars\n")}}, "language"},
		{"bad id", fstest.MapFS{"en.txt": {Data: []byte(en + "0k4j: cars\n")}}, "unknown directive"},
		{"id twice", fstest.MapFS{"en.txt": {Data: []byte(en + "/m/0k4j: autos\n")}}, "listed twice"},
		{"empty name", fstest.MapFS{"en.txt": {Data: []byte(en + "/m/1: a | , \n")}}, "empty name"},
		{"no value", fstest.MapFS{"en.txt": {Data: []byte(en + "/m/1:\n")}}, "directive: value"},
		{"not UTF-8", fstest.MapFS{"en.txt": {Data: []byte(en + "/m/1: \xff\n")}}, "UTF-8"},
		{"frame without %s", fstest.MapFS{"en.txt": {Data: []byte(en + "frame: Select all images\n")}}, "%s once"},
		{"label not in en", fstest.MapFS{"en.txt": {Data: []byte(en)}, "de.txt": {Data: []byte("language: German\n/m/2: Zwei\n")}}, "not in en.txt"},
		{"id twice in a language", fstest.MapFS{"en.txt": {Data: []byte(en)}, "de.txt": {Data: []byte("language: German\n/m/0k4j: Autos\n/m/0k4j: Auto\n")}}, "listed twice"},
		{"one text, two labels", fstest.MapFS{"en.txt": {Data: []byte(en)}, "de.txt": {Data: []byte("language: German\n/m/019jd: Cars\n")}}, `"cars" is /m/0k4j in en.txt and /m/019jd in de.txt`},
		{"a decoy that is a name", fstest.MapFS{"en.txt": {Data: []byte(en + "not: car\n")}}, "decoy"},
	}
	for _, c := range cases {
		_, err := Load(c.fs)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Load = %v, want an error with %q", c.name, err, c.want)
		}
	}
	tbl, err := Load(fstest.MapFS{"en.txt": {Data: []byte(en)}, "de.txt": {Data: []byte("language: German\n/m/0k4j: Autos\n")}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := tbl.Resolve("Wählen Sie alle Bilder mit Autos aus"); err != nil || got.ID != "/m/0k4j" {
		t.Errorf("a small table: %v, %v", got.ID, err)
	}
}

func TestNormalize(t *testing.T) {
	cases := []struct{ in, want string }{
		{"  Traffic   LIGHTS! ", "traffic lights"},
		{"Fußgängerüberwege", "fussgängerüberwege"},
		{"СЧЁТЧИКИ", "счетчики"},
		{"İTFAİYE ışık", "itfaiye işik"},
		{"红绿 灯，的", "红绿灯的"},
		{"bus, 汽车 and", "bus 汽车 and"},
		{"إشارة", "اشاره"},
		{"مُدَخِّنَة", "مدخنه"},
		{"\u095e", "\u092b\u093c"},
		{"auto's", "auto s"},
		{"ΦΑΝΑΡΙΑ φανάρια ΤΑΞΊ", "φαναρια φαναρια ταξι"},
		{"Ș ț ş", "ş ţ ş"},
		{"ی ک", "ي ك"},
		{"a\u00adb\u200dc", "abc"},
	}
	for _, c := range cases {
		if got := string(normalizeAppend(nil, c.in)); got != c.want {
			t.Errorf("normalize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func ExampleTable_Resolve() {
	for _, q := range []string{
		"/m/0k4j",
		"Wählen Sie alle Bilder mit <strong>Fahrrädern</strong> aus.",
		"Выберите все изображения с <strong>велосипедами</strong>",
		"<strong>自転車</strong>の画像をすべて選択してください",
	} {
		l, err := Default.Resolve(q)
		fmt.Println(l.ID, l.Name(), err)
	}
	// Output:
	// /m/0k4j cars <nil>
	// /m/0199g bicycles <nil>
	// /m/0199g bicycles <nil>
	// /m/0199g bicycles <nil>
}

// classOf's fast paths agree with Unicode: a separator is exactly what is not a letter, mark or
// digit, and the scripts written without spaces are Han, kana, Thai, Lao, Myanmar and Khmer.
func TestClassOfAgreesWithUnicode(t *testing.T) {
	for r := rune(0); r <= 0x3FFFF; r++ {
		letter := unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsNumber(r)
		c := classOf(r)
		switch {
		case !letter && c != classSep:
			t.Errorf("classOf(%U) = %d, want a separator", r, c)
		case letter && c == classSep:
			t.Errorf("classOf(%U) is a separator, want a letter", r)
		case letter && unicode.In(r, noSpaces...) && c != classCont:
			t.Errorf("classOf(%U) = %d, want classCont", r, c)
		case c == classCont && !unicode.In(r, noSpaces...) && !unicode.In(r, unicode.Common, unicode.Inherited):
			t.Errorf("classOf(%U) = classCont, but its script writes spaces", r)
		}
	}
}

// isNormal never vouches for a string normalization would change: checked on every name of every
// language, their upper-case forms, and strings made of the characters it treats specially.
func TestIsNormal(t *testing.T) {
	var samples []string
	for _, l := range Default.Labels() {
		for _, names := range l.Names {
			for _, n := range names {
				samples = append(samples, n, strings.ToUpper(n), n+" ", "x  "+n, n+" 汽车", "汽车 "+n)
			}
		}
	}
	samples = append(samples, "ß", "ё", "أ", "ة", "ى", "\u095e", "ı", "ș", "ά", "ς", "a\u200db", "a'b", "÷")
	normal := 0
	for _, s := range samples {
		if isNormal(s) {
			normal++
			if got := string(normalizeAppend(nil, s)); got != s {
				t.Errorf("isNormal(%q), but it normalizes to %q", s, got)
			}
		}
	}
	if normal < len(samples)/10 {
		t.Errorf("isNormal accepts %d of %d samples: the fast path is not taken", normal, len(samples))
	}
}

// Every name resolves to its label written decomposed (NFD, as macOS writes folder names) and in
// compatibility forms (NFKD); fullwidth Latin is read as Latin.
func TestEveryNameResolvesInAnyNormalForm(t *testing.T) {
	for _, l := range Default.Labels() {
		for lang, names := range l.Names {
			for _, n := range names {
				for form, text := range map[string]string{"NFD": norm.NFD.String(n), "NFKD": norm.NFKD.String(n)} {
					if got, err := Default.Resolve(text); err != nil || got.ID != l.ID {
						t.Errorf("%s name %q in %s resolves to %v, %v; want %s", lang, n, form, got.ID, err, l.ID)
					}
				}
			}
		}
	}
	for q, want := range map[string]string{"Fahrra\u0308der": "/m/0199g", "Ｃａｒｓ": "/m/0k4j", "ＢＵＳ": "/m/01bjv",
		"Select all images with <b>ﬁre hydrants</b>": "/m/01pns0"} {
		if got, err := Default.Resolve(q); err != nil || got.ID != want {
			t.Errorf("%q: %v, %v; want %s", q, got.ID, err, want)
		}
	}
}

// A removed tag separates words: "</strong><span>" between two words is a space, so the words
// are not joined into one that no label has, and a label is not found inside joined words.
func TestStrippedTagSeparatesWords(t *testing.T) {
	if got, err := Default.Resolve("<strong>fire</strong><span>hydrant</span>"); err != nil || got.ID != "/m/01pns0" {
		t.Errorf("tags between words: %v, %v; want fire hydrant", got.ID, err)
	}
	if got, err := Default.Resolve("<b>school</b><i>bus</i>"); err != nil || got.ID != "/m/02yvhj" {
		t.Errorf("<b>school</b><i>bus</i>: %v, %v; want school bus", got.ID, err)
	}
}

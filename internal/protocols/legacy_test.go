package protocols

import (
	"net/url"
	"strings"
	"testing"
)

// in.php takes its parameters from the query, JSON (whatever the content type), url-encoded
// forms and multipart, mixed; answers OK|<id> or {"status": 1, "request": "<id>"}; res.php then
// answers the 1-based clicks.
func TestInPHPEveryEncoding(t *testing.T) {
	f := newFixture(t)
	pic := b64(carsPicture)
	multi, multiType := multipartBody(map[string]string{"key": aliceKey, "method": "post", "recaptcha": "1", "textinstructions": "cars", "recaptcharows": "3", "recaptchacols": "3"}, carsPicture)
	for _, c := range []struct {
		name, method, contentType, body string
		query                           url.Values
		json                            bool
	}{
		{"JSON numbers (captcha-solver)", "POST", "application/json", `{"key":"` + aliceKey + `","json":1,"header_acao":1,"soft_id":4587,"body":"` + pic + `","textinstructions":"cars","recaptcharows":3,"recaptchacols":3,"method":"base64","recaptcha":1}`, nil, true},
		{"query and JSON as text/plain (2captcha)", "POST", "text/plain;charset=UTF-8", `{"body":"` + pic + `"}`,
			url.Values{"recaptcha": {"1"}, "textinstructions": {"cars"}, "recaptcharows": {"3"}, "recaptchacols": {"3"}, "key": {aliceKey}, "json": {"1"}, "soft_id": {"3316"}, "method": {"base64"}}, true},
		{"url-encoded (node_two_captcha)", "POST", "application/x-www-form-urlencoded",
			url.Values{"body": {pic}, "method": {"base64"}, "recaptcha": {"1"}, "textinstructions": {"cars"}, "recaptcharows": {"3"}, "recaptchacols": {"3"}, "key": {aliceKey}, "soft_id": {"2386"}}.Encode(), nil, false},
		{"url-encoded with the base64's + unescaped", "POST", "application/x-www-form-urlencoded",
			"key=" + aliceKey + "&method=base64&recaptcha=1&textinstructions=cars&body=" + pic, nil, false},
		{"multipart file", "POST", multiType, string(multi), nil, false},
		{"GET, all in the query", "GET", "", "", url.Values{"key": {aliceKey}, "method": {"base64"}, "recaptcha": {"1"}, "textinstructions": {"Select all images with <strong>cars</strong>"}, "body": {pic}}, false},
		{"names in any case", "POST", "application/json", `{"KEY":"` + aliceKey + `","Body":"` + pic + `","TextInstructions":"/m/0k4j","Recaptcha":"1","JSON":"1"}`, nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, doc := f.legacy(t, c.method, InPath, c.query, c.contentType, []byte(c.body))
			var id string
			if c.json {
				if doc["status"] != float64(1) {
					t.Fatalf("in.php: %s", resp.Body)
				}
				id = doc["request"].(string)
			} else {
				got := string(resp.Body)
				if !strings.HasPrefix(got, "OK|") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
					t.Fatalf("in.php: %q (%s)", got, resp.Header.Get("Content-Type"))
				}
				id = strings.TrimPrefix(got, "OK|")
			}
			resp, _ = f.legacy(t, "GET", ResPath, url.Values{"key": {aliceKey}, "action": {"get"}, "id": {id}}, "", nil)
			if string(resp.Body) != "OK|click:1/5/9" {
				t.Fatalf("res.php: %q", resp.Body)
			}
			_, doc = f.legacy(t, "GET", ResPath, url.Values{"key": {aliceKey}, "action": {"get"}, "id": {id}, "json": {"1"}}, "", nil)
			if doc["status"] != float64(1) || doc["request"] != "click:1/5/9" {
				t.Fatalf("res.php json=1: %v", doc)
			}
		})
	}
}

func TestResPHPActions(t *testing.T) {
	f := newFixture(t)
	submit := func(picture []byte, q string) string {
		resp, _ := f.legacy(t, "POST", InPath, nil, "application/x-www-form-urlencoded",
			[]byte(url.Values{"key": {aliceKey}, "method": {"base64"}, "recaptcha": {"1"}, "textinstructions": {q}, "body": {b64(picture)}}.Encode()))
		return strings.TrimPrefix(string(resp.Body), "OK|")
	}
	carsID, busesID, noneID := submit(carsPicture, "cars"), submit(busesShot, "buses"), submit(carsPicture, "boats")
	res := func(q url.Values) (string, map[string]any) {
		q.Set("key", aliceKey)
		resp, doc := f.legacy(t, "GET", ResPath, q, "", nil)
		return string(resp.Body), doc
	}
	for _, c := range []struct {
		q     url.Values
		plain string
	}{
		{url.Values{"action": {"get"}, "id": {busesID}}, "OK|click:2/7"},
		{url.Values{"action": {"get"}, "id": {noneID}}, "OK|" + noMatch},
		{url.Values{"action": {"get"}, "ids": {carsID + "," + busesID + ",42"}}, "OK|click:1/5/9|click:2/7|ERROR_WRONG_CAPTCHA_ID"},
		{url.Values{"action": {"getbalance"}}, "100"},
		{url.Values{"action": {"reportbad"}, "id": {carsID}}, "OK_REPORT_RECORDED"},
		{url.Values{"action": {"reportgood"}, "id": {carsID}}, "OK_REPORT_RECORDED"},
		{url.Values{"action": {"get"}, "id": {"987654321"}}, "ERROR_WRONG_CAPTCHA_ID"},
		{url.Values{"action": {"reportbad"}, "id": {"1"}}, "ERROR_WRONG_CAPTCHA_ID"},
		{url.Values{"action": {"userinfo"}}, "ERROR_EMPTY_ACTION"},
		{url.Values{}, "ERROR_EMPTY_ACTION"},
	} {
		if got, _ := res(c.q); got != c.plain {
			t.Errorf("%v: %q, want %q", c.q, got, c.plain)
		}
		c.q.Set("json", "1")
		_, doc := res(c.q)
		wantStatus, wantRequest := float64(1), strings.TrimPrefix(c.plain, "OK|")
		if strings.HasPrefix(c.plain, "ERROR_") {
			wantStatus = 0
		}
		if doc["status"] != wantStatus || doc["request"] != wantRequest {
			t.Errorf("%v: %v, want status %v request %q", c.q, doc, wantStatus, wantRequest)
		}
	}
	if strings.Join(f.reports.list, ",") != "bad:capsolver,bad:capsolver,good:capsolver,good:capsolver" {
		t.Errorf("reports counted: %v", f.reports.list)
	}
}

// header_acao=1 asks for Access-Control-Allow-Origin: *, and nothing else gives it.
func TestHeaderACAO(t *testing.T) {
	f := newFixture(t)
	q := url.Values{"key": {aliceKey}, "action": {"getbalance"}}
	if resp, _ := f.legacy(t, "GET", ResPath, q, "", nil); resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("ACAO without header_acao")
	}
	q.Set("header_acao", "1")
	if resp, _ := f.legacy(t, "GET", ResPath, q, "", nil); resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatal("no ACAO with header_acao=1")
	}
	if resp, _ := f.legacy(t, "POST", InPath, nil, "application/json", []byte(`{"key":"wrong-key-0123456789abc","header_acao":1}`)); resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatal("no ACAO on an error with header_acao=1")
	}
}

func TestLegacyErrors(t *testing.T) {
	f := newFixture(t)
	pic := b64(carsPicture)
	good := url.Values{"key": {aliceKey}, "method": {"base64"}, "recaptcha": {"1"}, "textinstructions": {"cars"}, "body": {pic}}
	with := func(k, v string) url.Values {
		q := url.Values{}
		for kk, vv := range good {
			q[kk] = vv
		}
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		return q
	}
	for _, c := range []struct {
		name, method, path, contentType, body string
		query                                 url.Values
		code                                  string
	}{
		{"wrong key", "POST", InPath, "", "", with("key", "wrong-key-0123456789abcdef"), "ERROR_KEY_DOES_NOT_EXIST"},
		{"no key", "POST", InPath, "", "", with("key", ""), "ERROR_KEY_DOES_NOT_EXIST"},
		{"wrong key res.php", "GET", ResPath, "", "", url.Values{"key": {"nope"}, "action": {"getbalance"}}, "ERROR_KEY_DOES_NOT_EXIST"},
		{"token method", "POST", InPath, "", "", with("method", "userrecaptcha"), "ERROR_BAD_PARAMETERS"},
		{"not the grid method", "POST", InPath, "", "", url.Values{"key": {aliceKey}, "method": {"base64"}, "body": {pic}}, "ERROR_BAD_PARAMETERS"},
		{"no question", "POST", InPath, "", "", with("textinstructions", ""), "ERROR_BAD_PARAMETERS"},
		{"imginstructions only", "POST", InPath, "", "", func() url.Values { q := with("textinstructions", ""); q.Set("imginstructions", pic); return q }(), "ERROR_IMGINSTRUCTIONS_NOT_SUPPORTED"},
		{"unknown question", "POST", InPath, "", "", with("textinstructions", "llamas"), "ERROR_BAD_PARAMETERS"},
		{"rows and cols differ", "POST", InPath, "", "", func() url.Values { q := with("recaptcharows", "3"); q.Set("recaptchacols", "4"); return q }(), "ERROR_BAD_PARAMETERS"},
		{"no picture", "POST", InPath, "", "", with("body", ""), "ERROR_IMAGE_TYPE_NOT_SUPPORTED"},
		{"not a picture", "POST", InPath, "", "", with("body", "bm90IGEgcGljdHVyZQ=="), "ERROR_IMAGE_TYPE_NOT_SUPPORTED"},
		{"broken JSON", "POST", InPath, "application/json", `{"key":`, nil, "ERROR_BAD_PARAMETERS"},
		{"broken multipart", "POST", InPath, "multipart/form-data; boundary=x", "--x\r\nnope", nil, "ERROR_BAD_PARAMETERS"},
		{"broken form", "POST", InPath, "application/x-www-form-urlencoded", "a=%zz", nil, "ERROR_BAD_PARAMETERS"},
		{"PUT", "PUT", InPath, "", "", good, "ERROR_EMPTY_ACTION"},
		{"too large", "POST", InPath, "text/plain", "body=" + strings.Repeat("A", 6<<20), good, "ERROR_TOO_BIG_CAPTCHA_FILESIZE"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, _ := f.legacy(t, c.method, c.path, c.query, c.contentType, []byte(c.body))
			if string(resp.Body) != c.code {
				t.Fatalf("plain: %q, want %s", resp.Body, c.code)
			}
			q := url.Values{"json": {"1"}}
			for k, v := range c.query {
				q[k] = v
			}
			_, doc := f.legacy(t, c.method, c.path, q, c.contentType, []byte(c.body))
			if doc["status"] != float64(0) || doc["request"] != c.code || doc["error_text"] == "" {
				t.Fatalf("json=1: %v, want status 0 and %s with error_text", doc, c.code)
			}
		})
	}
}

// res.php answers up to 100 ids at once; more is refused as a whole.
func TestResPHPIDsLimit(t *testing.T) {
	f := newFixture(t)
	ids := func(n int) string { return strings.TrimSuffix(strings.Repeat("7,", n), ",") }
	resp, _ := f.legacy(t, "GET", ResPath, url.Values{"key": {aliceKey}, "action": {"get"}, "ids": {ids(100)}}, "", nil)
	if got := string(resp.Body); !strings.HasPrefix(got, "OK|") || strings.Count(got, "ERROR_WRONG_CAPTCHA_ID") != 100 {
		t.Errorf("100 ids: %.80s", got)
	}
	resp, _ = f.legacy(t, "GET", ResPath, url.Values{"key": {aliceKey}, "action": {"get"}, "ids": {ids(101)}}, "", nil)
	if got := string(resp.Body); got != "ERROR_BAD_PARAMETERS" {
		t.Errorf("101 ids: %q, want ERROR_BAD_PARAMETERS", got)
	}
}

// A request refused before its parameters are read (its method, a body that does not parse)
// still gets the header its query asks for.
func TestHeaderACAOOnEarlyErrors(t *testing.T) {
	f := newFixture(t)
	q := url.Values{"header_acao": {"1"}}
	for _, c := range []struct{ method, contentType, body string }{
		{"PUT", "", ""},
		{"POST", "multipart/form-data; boundary=x", "--x\r\nnot a part"},
	} {
		resp, _ := f.legacy(t, c.method, InPath, q, c.contentType, []byte(c.body))
		if !strings.HasPrefix(string(resp.Body), "ERROR_") || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s %q: %s %v, want an error with ACAO", c.method, c.body, resp.Body, resp.Header)
		}
	}
}

package samtemplate

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestVariablesOfTheProjectTemplate(t *testing.T) {
	tpl, err := Open("../../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	api, err := tpl.Variables("ApiFunction")
	if err != nil {
		t.Fatal(err)
	}
	if api["GOMEMLIMIT"] == "" || api["AUTH_MODE"] != "!Ref AuthMode" {
		t.Errorf("ApiFunction's variables: GOMEMLIMIT %q (want the Globals' value), AUTH_MODE %q (want \"!Ref AuthMode\")", api["GOMEMLIMIT"], api["AUTH_MODE"])
	}
	for id, want := range map[string]time.Duration{"ApiFunction": 29 * time.Second, "S3EventFunction": time.Minute} {
		if got, err := tpl.Timeout(id); err != nil || got != want {
			t.Errorf("%s's timeout = %v, %v; want %v (the Globals' is under the HTTP API's 30 s; the S3 function sets its own)", id, got, err, want)
		}
	}
	if _, err := tpl.Variables("NoSuchFunction"); err == nil {
		t.Error("a missing function read as having variables")
	}
}

// Flow style and anchors read the same as block style.
func TestVariablesInFlowStyleAndAnchors(t *testing.T) {
	const doc = `Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Runtime: provided.al2023, Environment: {Variables: {GOMEMLIMIT: 80MiB, SHARED: global}}}
Resources:
  One:
    Type: AWS::Serverless::Function
    Properties:
      Handler: bootstrap
      Environment:
        Variables: &vars
          SHARED: own
          MODE: !Ref Mode
          URL: !Sub "https://${AWS::Region}.example"
  Two:
    Type: AWS::Serverless::Function
    Properties: {Handler: bootstrap, Environment: {Variables: *vars}}
`
	path := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	tpl, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"One", "Two"} {
		v, err := tpl.Variables(id)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"GOMEMLIMIT": "80MiB", "SHARED": "own", "MODE": "!Ref Mode", "URL": "!Sub"}
		for k, w := range want {
			if v[k] != w {
				t.Errorf("%s: %s = %q, want %q", id, k, v[k], w)
			}
		}
	}
}

// Routes read with their condition and authorization as written, whatever the YAML style.
func TestRoutes(t *testing.T) {
	const doc = `Resources:
  Own:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Api, RouteKey: POST /recognize, AuthorizationType: !If [UseIam, AWS_IAM, NONE]}
  Keyed:
    Type: AWS::ApiGatewayV2::Route
    Condition: UseKeys
    Properties:
      ApiId: !Ref Api
      RouteKey: "GET /in.php"
      AuthorizationType: NONE
      Target: !Sub "integrations/${Integration}"
  Mixed:
    Type: AWS::ApiGatewayV2::Route
    Properties: {RouteKey: POST /x, AuthorizationType: !If [UseIam, !Ref Kind, NONE]}
  Fn:
    Type: AWS::Serverless::Function
    Properties: {Handler: bootstrap}
`
	path := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	tpl, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []Route{
		{LogicalID: "Keyed", Key: "GET /in.php", Condition: "UseKeys", Authorization: "NONE"},
		{LogicalID: "Own", Key: "POST /recognize", Authorization: "!If [UseIam, AWS_IAM, NONE]"},
		{LogicalID: "Mixed", Key: "POST /x", Authorization: "!If"},
	}
	if got := tpl.Routes(); !slices.Equal(got, want) {
		t.Fatalf("Routes() = %+v\nwant %+v", got, want)
	}
}

package openapi

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDocument(t *testing.T) {
	t.Parallel()
	b, err := Document()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Swagger     string                               `json:"swagger"`
		Info        struct{ Title string }               `json:"info"`
		Paths       map[string]map[string]map[string]any `json:"paths"`
		Definitions map[string]any                       `json:"definitions"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Swagger != "2.0" {
		t.Errorf("swagger = %q", doc.Swagger)
	}
	if strings.HasSuffix(doc.Info.Title, ".proto") {
		t.Errorf("title = %q, still the generator's file name", doc.Info.Title)
	}
	post := doc.Paths[UploadPath]["post"]
	if post == nil {
		t.Fatalf("no POST %s", UploadPath)
	}
	if doc.Paths[UploadPath]["get"] == nil {
		t.Errorf("adding POST lost GET %s", UploadPath)
	}
	params, _ := post["parameters"].([]any)
	if len(params) != 1 {
		t.Fatalf("parameters = %v", post["parameters"])
	}
	p := params[0].(map[string]any)
	if p["name"] != "file" || p["in"] != "formData" || p["type"] != "file" || p["required"] != true {
		t.Errorf("parameter = %v", p)
	}
	if doc.Definitions["v1UploadResponse"] == nil {
		t.Error("no v1UploadResponse definition")
	}
	for _, ref := range []string{"v1UploadResponse", "rpcStatus"} {
		if !strings.Contains(string(b), `"#/definitions/`+ref+`"`) {
			t.Errorf("no reference to %s", ref)
		}
	}

	for _, p := range CollaboratePaths {
		get := doc.Paths[p]["get"]
		if get == nil {
			t.Errorf("no GET %s (the collaboration WebSocket)", p)
			continue
		}
		if _, ok := get["responses"].(map[string]any)["101"]; !ok {
			t.Errorf("GET %s has no 101 response", p)
		}
	}
	for _, w := range watchDocPaths {
		get := doc.Paths[w.key]["get"]
		produces, _ := get["produces"].([]any)
		if len(produces) != 2 || produces[1] != "text/event-stream" {
			t.Errorf("GET %s produces %v, want JSON and text/event-stream", w.key, get["produces"])
		}
		if d, _ := get["description"].(string); !strings.Contains(d, "event: "+w.event) {
			t.Errorf("GET %s description does not name its events: %q", w.key, d)
		}
	}

	// Callers get their own copy.
	b[0] = 'X'
	again, err := Document()
	if err != nil || again[0] != '{' {
		t.Errorf("Document shares its buffer with callers")
	}
}

func TestBuildRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"not JSON", `{`, "generated document"},
		{"OpenAPI 3", `{"openapi":"3.0.0","paths":{},"definitions":{}}`, "Swagger 2.0"},
		{"no definitions", `{"swagger":"2.0","paths":{}}`, "no paths or definitions"},
		{"missing Video", `{"swagger":"2.0","paths":{},"definitions":{"rpcStatus":{}}}`, "v1Video"},
		{
			"upload already generated",
			`{"swagger":"2.0","paths":{"/v1/videos":{"post":{}}},"definitions":{"v1Video":{},"rpcStatus":{}}}`,
			"already has POST",
		},
		{
			"no watch route",
			`{"swagger":"2.0","paths":{},"definitions":{"v1Video":{},"rpcStatus":{}}}`,
			"lacks GET /v1/jobs/{jobId}:watch",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := build([]byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("build error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestGeneratedIsUntouched(t *testing.T) {
	t.Parallel()
	if _, err := Document(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(Generated()), "VideoService_UploadMultipart") {
		t.Error("building the served document changed the embedded one")
	}
}

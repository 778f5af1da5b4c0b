package openapi

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
)

//go:embed gen/clipmesh.swagger.json
var generated []byte

// UploadPath is the REST path of the hand-written multipart upload
// (POST /v1/videos); the gateway serves it outside the generated bindings
// because VideoService.Upload is a client stream, which has no JSON mapping.
const UploadPath = "/v1/videos"

// Generated returns the document exactly as protoc-gen-openapiv2 wrote it.
func Generated() []byte { return bytes.Clone(generated) }

// document is computed once: the generated file never changes at run time.
var document = sync.OnceValues(func() ([]byte, error) { return build(generated) })

// Document returns the document the gateway serves: the generated one plus
// the hand-written routes (POST /v1/videos, multipart field "file") and the
// definitions they refer to. It fails if the generated document is not
// Swagger 2.0 or already describes a hand-written route, since the gateway's
// own handler would then shadow a generated binding.
func Document() ([]byte, error) {
	doc, err := document()
	if err != nil {
		return nil, err
	}
	return bytes.Clone(doc), nil
}

// build adds the hand-written parts to a generated document. It works on
// generic JSON so that it keeps every field the generator may add later.
func build(src []byte) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("openapi: generated document: %w", err)
	}
	if v, _ := doc["swagger"].(string); v != "2.0" {
		return nil, fmt.Errorf("openapi: generated document is not Swagger 2.0 (swagger=%v)", doc["swagger"])
	}
	paths, _ := doc["paths"].(map[string]any)
	defs, _ := doc["definitions"].(map[string]any)
	if paths == nil || defs == nil {
		return nil, errors.New("openapi: generated document has no paths or definitions")
	}
	for _, ref := range []string{"v1Video", "rpcStatus"} {
		if defs[ref] == nil {
			return nil, fmt.Errorf("openapi: generated document lacks definition %q used by the upload route", ref)
		}
	}

	// The merged file takes its title from the first proto it read
	// ("clipmesh/common/v1/common.proto"), which means nothing to a reader.
	if info, _ := doc["info"].(map[string]any); info != nil {
		if t, _ := info["title"].(string); t == "" || strings.HasSuffix(t, ".proto") {
			info["title"] = "clipmesh REST API"
		}
	}

	item, _ := paths[UploadPath].(map[string]any)
	if item == nil {
		item = map[string]any{}
		paths[UploadPath] = item
	}
	if item["post"] != nil {
		return nil, fmt.Errorf("openapi: generated document already has POST %s; the gateway's multipart upload would shadow it", UploadPath)
	}
	item["post"] = uploadOperation()

	// Upload has no HTTP annotation, so the generator leaves its response
	// message out; keep a generated one if a later proto change brings it in.
	if defs["v1UploadResponse"] == nil {
		defs["v1UploadResponse"] = map[string]any{
			"type":        "object",
			"description": "UploadResponse returns the stored video.",
			"properties": map[string]any{
				"video": map[string]any{
					"$ref":        "#/definitions/v1Video",
					"description": "Video is the stored video with its probe.",
				},
				"created": map[string]any{
					"type":        "boolean",
					"description": "Created is false when the same content was already stored.",
				},
			},
		}
	}

	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("openapi: encode document: %w", err)
	}
	return append(out, '\n'), nil
}

// uploadOperation describes the gateway's multipart upload handler.
func uploadOperation() map[string]any {
	status := func(desc string) map[string]any {
		return map[string]any{"description": desc, "schema": map[string]any{"$ref": "#/definitions/rpcStatus"}}
	}
	uploaded := func(desc string) map[string]any {
		return map[string]any{"description": desc, "schema": map[string]any{"$ref": "#/definitions/v1UploadResponse"}}
	}
	return map[string]any{
		"summary": "Upload stores a video sent as multipart/form-data.",
		"description": "The file goes in the form field \"file\"; other fields are ignored. " +
			"The body is streamed to VideoService.Upload, never buffered whole, so files of " +
			"several GiB are fine up to the gateway's upload limit. The video's id is derived " +
			"from its content hash, so uploading the same file twice returns the same video.",
		"operationId": "VideoService_UploadMultipart",
		"consumes":    []any{"multipart/form-data"},
		"produces":    []any{"application/json"},
		"parameters": []any{
			map[string]any{
				"name":        "file",
				"in":          "formData",
				"description": "The video file. Its filename and Content-Type are recorded.",
				"required":    true,
				"type":        "file",
			},
		},
		"responses": map[string]any{
			"201":     uploaded("The video was stored."),
			"200":     uploaded("The same content was already stored; this is the existing video."),
			"400":     status("The body is not multipart/form-data, has no \"file\" field, the file is over the upload limit (the message states it), or the media was rejected (empty, corrupt, truncated, not media)."),
			"default": status("An unexpected error response."),
		},
		"tags": []any{"VideoService"},
	}
}

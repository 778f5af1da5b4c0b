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

// WatchJobPath and WatchBatchPath are the streaming routes the gateway also
// serves as Server-Sent Events (Accept: text/event-stream), written as the
// gateway registers them; the document names the parameters lowerCamel.
const (
	WatchJobPath   = "/v1/jobs/{job_id}:watch"
	WatchBatchPath = "/v1/batches/{batch_id}:watch"
)

// CollaboratePaths are the paths of the collaboration WebSocket, which
// carries CollabService.Session: the versioned one and the seed API's.
var CollaboratePaths = []string{"/v1/collaborate", "/collaborate"}

// watchDocPaths maps each SSE route to its key in the generated document
// and the event name of its messages.
var watchDocPaths = []struct{ key, event, schema string }{
	{"/v1/jobs/{jobId}:watch", "job", "v1Job"},
	{"/v1/batches/{batchId}:watch", "batch", "v1Batch"},
}

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

	for _, w := range watchDocPaths {
		item, _ := paths[w.key].(map[string]any)
		op, _ := item["get"].(map[string]any)
		if op == nil {
			return nil, fmt.Errorf("openapi: generated document lacks GET %s, which the gateway also serves as Server-Sent Events", w.key)
		}
		addEventStream(op, w.event, w.schema)
	}
	for _, p := range CollaboratePaths {
		if paths[p] != nil {
			return nil, fmt.Errorf("openapi: generated document already has %s; the gateway's WebSocket would shadow it", p)
		}
		paths[p] = map[string]any{"get": collaborateOperation(p)}
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

// addEventStream documents the Server-Sent Events form of a generated
// streaming operation: its media type, and what the events carry.
func addEventStream(op map[string]any, event, schema string) {
	op["produces"] = []any{"application/json", "text/event-stream"}
	desc, _ := op["description"].(string)
	if desc != "" {
		desc += "\n\n"
	}
	op["description"] = desc + "By default the response is newline-delimited JSON, one {\"result\":…} per message " +
		"(or {\"error\":…}). With `Accept: text/event-stream` it is Server-Sent Events instead: each message is " +
		"`event: " + event + "` with `data:` the " + schema + " as JSON, flushed at once; a `: heartbeat` comment " +
		"comes every 15 s while nothing changes; the stream ends after the final state. A failure is " +
		"`event: error` with data {\"code\",\"message\",\"details\"} (before the first event, the HTTP status " +
		"says it too). A browser's EventSource, which cannot send headers, may pass the API key as " +
		"`?access_token=`; close the EventSource on the final state, or it reconnects."
}

// collaborateOperation describes the collaboration WebSocket at path.
func collaborateOperation(path string) map[string]any {
	id := "CollabService_SessionWebSocket"
	if path != CollaboratePaths[0] {
		id += "2"
	}
	return map[string]any{
		"summary": "Collaborate opens a WebSocket carrying a CollabService.Session.",
		"description": "Upgrade to a WebSocket (RFC 6455). Each text frame from the client is one JSON object " +
			"{\"action\",\"project_id\",\"last_seen_sequence\",\"payload\"} (actions join_project, edit, leave; " +
			"payload is the action's body, e.g. the edit's operation); user_id is accepted and ignored, since " +
			"the user is the authenticated caller (Authorization header, or ?access_token= for browsers). " +
			"Each frame from the server is {\"kind\",\"sequence\",\"payload\",\"error\"} with kind joined, " +
			"operation or error. A malformed frame or unknown field answers an error frame and the connection " +
			"goes on; a frame over 64 KiB closes it with status 1009; a sender over the rate limit gets error " +
			"frames, then a close with status 1008 if it keeps flooding.",
		"operationId": id,
		"parameters": []any{
			map[string]any{
				"name":        "access_token",
				"in":          "query",
				"description": "API key, for browsers, which cannot set the Authorization header on a WebSocket.",
				"required":    false,
				"type":        "string",
			},
		},
		"responses": map[string]any{
			"101": map[string]any{"description": "Switching to the WebSocket protocol."},
			"400": map[string]any{"description": "Not a WebSocket handshake."},
			"403": map[string]any{"description": "The Origin is neither the gateway's host nor an allowed CORS origin."},
		},
		"tags": []any{"CollabService"},
	}
}

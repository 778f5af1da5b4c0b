package gateway

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	transcribev1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/transcribe/v1"
)

// TranscriptDownloadPath is the route of a video's transcript as a file:
// ?format=json|srt|vtt|txt (default json), ?source=uploaded|recognized
// (default: the uploaded one when there is one).
const TranscriptDownloadPath = "/v1/videos/{video_id}/transcript:download"

// transcriptFormats maps ?format= to the RPC's format.
var transcriptFormats = map[string]transcribev1.TranscriptFormat{
	"":     transcribev1.TranscriptFormat_TRANSCRIPT_FORMAT_JSON,
	"json": transcribev1.TranscriptFormat_TRANSCRIPT_FORMAT_JSON,
	"srt":  transcribev1.TranscriptFormat_TRANSCRIPT_FORMAT_SRT,
	"vtt":  transcribev1.TranscriptFormat_TRANSCRIPT_FORMAT_VTT,
	"txt":  transcribev1.TranscriptFormat_TRANSCRIPT_FORMAT_TEXT,
	"text": transcribev1.TranscriptFormat_TRANSCRIPT_FORMAT_TEXT,
}

// transcriptSources maps ?source= to the RPC's source.
var transcriptSources = map[string]transcribev1.TranscriptSource{
	"":           transcribev1.TranscriptSource_TRANSCRIPT_SOURCE_UNSPECIFIED,
	"uploaded":   transcribev1.TranscriptSource_TRANSCRIPT_SOURCE_UPLOADED,
	"recognized": transcribev1.TranscriptSource_TRANSCRIPT_SOURCE_RECOGNIZED,
}

// registerTranscriptDownloads serves GET TranscriptDownloadPath through
// TranscribeService.GetTranscript.
func (g *gateway) registerTranscriptDownloads(cc grpc.ClientConnInterface) error {
	if err := g.mux.HandlePath(http.MethodGet, TranscriptDownloadPath, g.transcriptFile(transcribev1.NewTranscribeServiceClient(cc))); err != nil {
		return fmt.Errorf("gateway: register %s: %w", TranscriptDownloadPath, err)
	}
	return nil
}

// transcriptFile answers the rendered transcript as an attachment with its
// own content type; errors (unknown video, no transcript yet, bad format)
// are the usual JSON error bodies. The caller's API key travels with the
// call, so another tenant's video is 404 like a missing one.
func (g *gateway) transcriptFile(client transcribev1.TranscribeServiceClient) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		_, outbound := runtime.MarshalerForRequest(g.mux, r)
		ctx, err := runtime.AnnotateContext(r.Context(), g.mux, r, transcribev1.TranscribeService_GetTranscript_FullMethodName,
			runtime.WithHTTPPathPattern(TranscriptDownloadPath))
		if err != nil {
			g.handleError(r.Context(), g.mux, outbound, w, r, err)
			return
		}
		q := r.URL.Query()
		format, ok := transcriptFormats[strings.ToLower(q.Get("format"))]
		if !ok {
			g.handleError(ctx, g.mux, outbound, w, r, status.Errorf(codes.InvalidArgument, "format %q: want json, srt, vtt or txt", q.Get("format")))
			return
		}
		source, ok := transcriptSources[strings.ToLower(q.Get("source"))]
		if !ok {
			g.handleError(ctx, g.mux, outbound, w, r, status.Errorf(codes.InvalidArgument, "source %q: want uploaded or recognized", q.Get("source")))
			return
		}
		resp, err := client.GetTranscript(ctx, &transcribev1.GetTranscriptRequest{VideoId: params["video_id"], Format: format, Source: source})
		if err != nil {
			g.handleError(ctx, g.mux, outbound, w, r, err)
			return
		}
		w.Header().Set("Content-Type", resp.GetContentType())
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, transcriptFileName(resp.GetFilename())))
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write([]byte(resp.GetContent()))
	}
}

// transcriptFileName keeps [A-Za-z0-9._-] of s, for a Content-Disposition
// file name.
func transcriptFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.' {
			return r
		}
		return -1
	}, s)
}

package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/clipmesh/clipmesh/gateway"
	transcribev1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/transcribe/v1"
)

// fakeTranscripts has a transcript for video "vid_1" of the caller with
// API key "k1" only (standing in for the transcribe service's tenant
// check), and renders it by format.
type fakeTranscripts struct {
	transcribev1.UnimplementedTranscribeServiceServer
	last *transcribev1.GetTranscriptRequest
}

func (f *fakeTranscripts) GetTranscript(ctx context.Context, req *transcribev1.GetTranscriptRequest) (*transcribev1.GetTranscriptResponse, error) {
	f.last = req
	md, _ := metadata.FromIncomingContext(ctx)
	if a := md.Get("authorization"); len(a) == 0 || a[0] != "Bearer k1" || req.GetVideoId() != "vid_1" {
		return nil, status.Error(codes.NotFound, "video not found: "+req.GetVideoId())
	}
	r := &transcribev1.GetTranscriptResponse{Filename: "vid_1.srt", ContentType: "application/x-subrip; charset=utf-8",
		Content: "1\n00:00:01,000 --> 00:00:02,000\nhello\n\n"}
	if req.GetFormat() == transcribev1.TranscriptFormat_TRANSCRIPT_FORMAT_TEXT {
		r.Filename, r.ContentType, r.Content = "vid_1.txt", "text/plain; charset=utf-8", "hello\n"
	}
	return r, nil
}

func TestTranscriptDownload(t *testing.T) {
	t.Parallel()
	f := &fakeTranscripts{}
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	transcribev1.RegisterTranscribeServiceServer(srv, f)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	cc, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	h, err := gateway.New(t.Context(), cc, gateway.Options{Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)

	get := func(path, key string) (*http.Response, string) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, hs.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	resp, body := get("/v1/videos/vid_1/transcript:download?format=srt&source=uploaded", "k1")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-subrip; charset=utf-8" ||
		resp.Header.Get("Content-Disposition") != `attachment; filename="vid_1.srt"` || !strings.HasPrefix(body, "1\n00:00:01,000") {
		t.Errorf("srt: %d %v %q", resp.StatusCode, resp.Header, body)
	}
	if f.last.GetFormat() != transcribev1.TranscriptFormat_TRANSCRIPT_FORMAT_SRT || f.last.GetSource() != transcribev1.TranscriptSource_TRANSCRIPT_SOURCE_UPLOADED {
		t.Errorf("request %v", f.last)
	}
	if resp, body := get("/v1/videos/vid_1/transcript:download?format=txt", "k1"); resp.StatusCode != http.StatusOK || body != "hello\n" {
		t.Errorf("txt: %d %q", resp.StatusCode, body)
	}
	for _, tt := range []struct {
		path, key string
		code      int
	}{
		{"/v1/videos/vid_1/transcript:download?format=docx", "k1", http.StatusBadRequest},
		{"/v1/videos/vid_1/transcript:download?source=guessed", "k1", http.StatusBadRequest},
		{"/v1/videos/vid_1/transcript:download", "k2", http.StatusNotFound},
		{"/v1/videos/vid_2/transcript:download", "k1", http.StatusNotFound},
	} {
		resp, body := get(tt.path, tt.key)
		var e struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		if resp.StatusCode != tt.code || json.Unmarshal([]byte(body), &e) != nil || e.Message == "" {
			t.Errorf("%s (key %s): %d %q, want %d with a JSON error", tt.path, tt.key, resp.StatusCode, body, tt.code)
		}
	}
	// The generated binding still serves the JSON form.
	if resp, body := get("/v1/videos/vid_1/transcript?format=TRANSCRIPT_FORMAT_TEXT", "k1"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"content":"hello\n"`) {
		t.Errorf("GetTranscript JSON: %d %q", resp.StatusCode, body)
	}
}

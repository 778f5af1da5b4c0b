package gateway_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/clipmesh/clipmesh/gateway"
	clipsv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/clips/v1"
	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
)

// fakeClips serves one clip's MP4 to the caller with API key "k1" only
// (standing in for the tenant check of the clips service).
type fakeClips struct {
	clipsv1.UnimplementedClipsServiceServer
	data    []byte
	sha     string
	streams atomic.Int32
}

func (f *fakeClips) ReadClipFile(req *clipsv1.ReadClipFileRequest, st grpc.ServerStreamingServer[clipsv1.ReadClipFileResponse]) error {
	f.streams.Add(1)
	md, _ := metadata.FromIncomingContext(st.Context())
	if a := md.Get("authorization"); len(a) == 0 || a[0] != "Bearer k1" || req.GetClipId() != "clp_1" {
		return status.Error(codes.NotFound, "clip not found: "+req.GetClipId())
	}
	if req.GetKind() != "clip" {
		return status.Error(codes.InvalidArgument, "invalid kind: the clip has no such file")
	}
	art := &commonv1.Artifact{Key: "clips/t1/clp_1/clip.mp4", Kind: "clip", ContentType: "video/mp4", SizeBytes: int64(len(f.data)), Sha256: f.sha}
	msg := &clipsv1.ReadClipFileResponse{File: art, ModTime: timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))}
	rest := f.data[min(req.GetOffset(), int64(len(f.data))):]
	for {
		n := min(len(rest), 64<<10)
		msg.Data = rest[:n]
		if err := st.Send(msg); err != nil {
			return err
		}
		rest = rest[n:]
		if len(rest) == 0 {
			return nil
		}
		msg = &clipsv1.ReadClipFileResponse{}
	}
}

func newClipsGateway(t *testing.T) (*httptest.Server, *fakeClips) {
	t.Helper()
	data := make([]byte, 1<<20+12345)
	_, _ = rand.Read(data)
	sum := sha256.Sum256(data)
	f := &fakeClips{data: data, sha: hex.EncodeToString(sum[:])}
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	clipsv1.RegisterClipsServiceServer(srv, f)
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
	return hs, f
}

func clipRequest(t *testing.T, method, url, key string, hdr map[string]string) *http.Request {
	t.Helper()
	req := newRequest(t, method, url, "", nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return req
}

func TestClipDownloadRanges(t *testing.T) {
	t.Parallel()
	hs, f := newClipsGateway(t)
	url := hs.URL + "/v1/clips/clp_1/files/clip"

	code, h, body := do(t, clipRequest(t, http.MethodGet, url, "k1", nil))
	if code != http.StatusOK || !bytes.Equal(body, f.data) {
		t.Fatalf("GET: %d, %d bytes (want %d)", code, len(body), len(f.data))
	}
	if h.Get("Content-Type") != "video/mp4" || h.Get("Accept-Ranges") != "bytes" || h.Get("ETag") != `"`+f.sha+`"` ||
		!strings.Contains(h.Get("Content-Disposition"), `filename="clp_1.mp4"`) {
		t.Errorf("headers %v", h)
	}

	for _, tc := range []struct {
		rng      string
		from, to int // inclusive
	}{
		{"bytes=1000-5095", 1000, 5095},
		{"bytes=700000-", 700000, len(f.data) - 1},
		{"bytes=-100", len(f.data) - 100, len(f.data) - 1},
	} {
		before := f.streams.Load()
		code, h, body := do(t, clipRequest(t, http.MethodGet, url, "k1", map[string]string{"Range": tc.rng}))
		if code != http.StatusPartialContent || !bytes.Equal(body, f.data[tc.from:tc.to+1]) {
			t.Errorf("%s: %d, %d bytes, want 206 and bytes %d-%d", tc.rng, code, len(body), tc.from, tc.to)
		}
		if want := "bytes " + itoa(tc.from) + "-" + itoa(tc.to) + "/" + itoa(len(f.data)); h.Get("Content-Range") != want {
			t.Errorf("%s: Content-Range %q, want %q", tc.rng, h.Get("Content-Range"), want)
		}
		// One stream for the size, one at the range's start.
		if n := f.streams.Load() - before; n > 2 {
			t.Errorf("%s: %d streams opened", tc.rng, n)
		}
	}

	// Two ranges: multipart/byteranges, each part its bytes.
	code, h, body = do(t, clipRequest(t, http.MethodGet, url, "k1", map[string]string{"Range": "bytes=0-9,500000-500099"}))
	_, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
	if code != http.StatusPartialContent || params["boundary"] == "" {
		t.Fatalf("multi-range: %d %s", code, h.Get("Content-Type"))
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for _, want := range [][]byte{f.data[0:10], f.data[500000:500100]} {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(p)
		if !bytes.Equal(got, want) {
			t.Errorf("part %s: %d bytes differ", p.Header.Get("Content-Range"), len(got))
		}
	}

	// Conditional and HEAD.
	if code, _, _ := do(t, clipRequest(t, http.MethodGet, url, "k1", map[string]string{"If-None-Match": `"` + f.sha + `"`})); code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", code)
	}
	code, h, body = do(t, clipRequest(t, http.MethodHead, url, "k1", nil))
	if code != http.StatusOK || len(body) != 0 || h.Get("Content-Length") != itoa(len(f.data)) {
		t.Errorf("HEAD: %d, %d body bytes, Content-Length %q", code, len(body), h.Get("Content-Length"))
	}
	// An unsatisfiable range.
	if code, _, _ := do(t, clipRequest(t, http.MethodGet, url, "k1", map[string]string{"Range": "bytes=99999999-"})); code != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("range past the end: %d, want 416", code)
	}
}

func TestClipDownloadErrors(t *testing.T) {
	t.Parallel()
	hs, _ := newClipsGateway(t)
	for _, tc := range []struct {
		name, path, key string
		code            int
	}{
		{"another tenant", "/v1/clips/clp_1/files/clip", "k2", http.StatusNotFound},
		{"no key", "/v1/clips/clp_1/files/clip", "", http.StatusNotFound},
		{"unknown clip", "/v1/clips/clp_2/files/clip", "k1", http.StatusNotFound},
		{"unknown kind", "/v1/clips/clp_1/files/gif", "k1", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, h, body := do(t, clipRequest(t, http.MethodGet, hs.URL+tc.path, tc.key, nil))
			if code != tc.code || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
				t.Fatalf("%d %s, want %d with a JSON error", code, h.Get("Content-Type"), tc.code)
			}
			if e := decodeError(t, body); e.Message == "" {
				t.Errorf("empty error message: %s", body)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

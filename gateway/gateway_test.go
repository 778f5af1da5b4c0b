package gateway_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/clipmesh/clipmesh/gateway"
	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
)

// waitTimeout bounds every wait on the fake server; reaching it is a failure,
// never a timing assertion.
const waitTimeout = 10 * time.Second

// uploadResult is what the fake server saw of one Upload stream.
type uploadResult struct {
	md        metadata.MD
	meta      *videosv1.UploadMetadata
	sha256    string
	size      int64
	chunks    int
	completed bool  // the client closed the stream and got a response
	err       error // why the stream ended otherwise
}

// fakeVideos stands in for the jobs process's VideoService: it hashes what
// it is streamed, counts chunks and records the incoming metadata.
type fakeVideos struct {
	videosv1.UnimplementedVideoServiceServer

	err         error             // every RPC fails with it when set (Upload after the metadata)
	uploads     chan uploadResult // one per Upload call
	gotMetadata chan struct{}     // one per Upload that received its metadata
	unary       chan metadata.MD  // one per GetVideo call
	uploadCalls atomic.Int32      // Upload calls, to check a bad request cost nothing

	mu   sync.Mutex
	seen map[string]bool // content already stored, for created=false
}

func newFakeVideos() *fakeVideos {
	return &fakeVideos{
		uploads:     make(chan uploadResult, 16),
		gotMetadata: make(chan struct{}, 16),
		unary:       make(chan metadata.MD, 16),
		seen:        map[string]bool{},
	}
}

func (f *fakeVideos) Upload(st grpc.ClientStreamingServer[videosv1.UploadRequest, videosv1.UploadResponse]) error {
	f.uploadCalls.Add(1)
	res := uploadResult{}
	res.md, _ = metadata.FromIncomingContext(st.Context())
	defer func() { f.uploads <- res }()

	first, err := st.Recv()
	if err != nil {
		res.err = err
		return err
	}
	res.meta = first.GetMetadata()
	f.gotMetadata <- struct{}{}
	if f.err != nil {
		res.err = f.err
		return f.err
	}
	h := sha256.New()
	for {
		req, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			res.err = err
			return err
		}
		h.Write(req.GetChunk())
		res.chunks++
		res.size += int64(len(req.GetChunk()))
	}
	res.sha256 = hex.EncodeToString(h.Sum(nil))
	res.completed = true

	f.mu.Lock()
	created := !f.seen[res.sha256]
	f.seen[res.sha256] = true
	f.mu.Unlock()
	return st.SendAndClose(&videosv1.UploadResponse{
		Video: &videosv1.Video{
			Id:          res.sha256[:16],
			Filename:    res.meta.GetFilename(),
			ContentType: res.meta.GetContentType(),
			SizeBytes:   res.size,
			Sha256:      res.sha256,
		},
		Created: created,
	})
}

func (f *fakeVideos) GetVideo(ctx context.Context, req *videosv1.GetVideoRequest) (*videosv1.GetVideoResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.unary <- md
	if f.err != nil {
		return nil, f.err
	}
	return &videosv1.GetVideoResponse{Video: &videosv1.Video{Id: req.GetVideoId(), Filename: "a.mp4", SizeBytes: 42}}, nil
}

// nextUpload waits for the fake server to finish an Upload.
func (f *fakeVideos) nextUpload(t *testing.T) uploadResult {
	t.Helper()
	select {
	case res := <-f.uploads:
		return res
	case <-time.After(waitTimeout):
		t.Fatal("the server never finished the Upload stream")
		return uploadResult{}
	}
}

// newTestGateway serves f over bufconn gRPC and the gateway over real HTTP.
// Only VideoService is registered, so other services answer Unimplemented.
func newTestGateway(t *testing.T, f *fakeVideos, opts gateway.Options) *httptest.Server {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	videosv1.RegisterVideoServiceServer(srv, f)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	cc, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc.NewClient: %v", err)
	}
	t.Cleanup(func() { _ = cc.Close() })

	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	h, err := gateway.New(t.Context(), cc, opts)
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs
}

// part is one field of a multipart body; filename "" makes a plain field.
type part struct {
	field, filename, contentType string
	data                         []byte
}

// writeMultipart writes parts to w and closes mw.
func writeMultipart(mw *multipart.Writer, parts []part) error {
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		disp := fmt.Sprintf(`form-data; name=%q`, p.field)
		if p.filename != "" {
			disp += fmt.Sprintf(`; filename=%q`, p.filename)
		}
		h.Set("Content-Disposition", disp)
		if p.contentType != "" {
			h.Set("Content-Type", p.contentType)
		}
		pw, err := mw.CreatePart(h)
		if err != nil {
			return err
		}
		if _, err := pw.Write(p.data); err != nil {
			return err
		}
	}
	return mw.Close()
}

// multipartBody returns a buffered body, sent with its Content-Length.
func multipartBody(t *testing.T, parts ...part) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := writeMultipart(mw, parts); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), &buf
}

// streamedBody returns a body written by a goroutine through a pipe, so the
// request is chunked and has no Content-Length. between, if set, runs after
// the first part's first `split` bytes are written.
func streamedBody(p part, split int, between func()) (string, io.Reader) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, p.field, p.filename))
		w, err := mw.CreatePart(h)
		if err == nil {
			_, err = w.Write(p.data[:split])
		}
		if err == nil && between != nil {
			between()
		}
		if err == nil {
			_, err = w.Write(p.data[split:])
		}
		if err == nil {
			err = mw.Close()
		}
		_ = pw.CloseWithError(err)
	}()
	return mw.FormDataContentType(), pr
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// do sends a request and returns the status, headers and body.
func do(t *testing.T, req *http.Request) (int, http.Header, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	return resp.StatusCode, resp.Header, body
}

func newRequest(t *testing.T, method, url, contentType string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

// errorBody is grpc-gateway's error shape.
type errorBody struct {
	Code    int               `json:"code"`
	Message string            `json:"message"`
	Details []json.RawMessage `json:"details"`
}

func decodeError(t *testing.T, body []byte) errorBody {
	t.Helper()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatalf("error body %q is not JSON: %v", body, err)
	}
	for _, k := range []string{"code", "message", "details"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("error body %s lacks %q", body, k)
		}
	}
	var e errorBody
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestUploadStreamsFileIntact(t *testing.T) {
	t.Parallel()
	f := newFakeVideos()
	hs := newTestGateway(t, f, gateway.Options{})
	data := randomBytes(t, 5<<20)

	// Same content twice: stored the first time (201), found the second (200).
	for i, wantStatus := range []int{http.StatusCreated, http.StatusOK} {
		t.Run(http.StatusText(wantStatus), func(t *testing.T) {
			// Chunked, no Content-Length: the gateway cannot know the size in
			// advance and must stream. A field before and one after the file
			// are ignored.
			pr, pw := io.Pipe()
			mw := multipart.NewWriter(pw)
			go func() {
				_ = pw.CloseWithError(writeMultipart(mw, []part{
					{field: "title", data: []byte("ignored")},
					{field: "file", filename: "clip.mp4", contentType: "video/mp4", data: data},
					{field: "after", data: []byte("ignored too")},
				}))
			}()
			req := newRequest(t, http.MethodPost, hs.URL+"/v1/videos", mw.FormDataContentType(), pr)
			req.Header.Set("Authorization", "Bearer key-123")
			req.Header.Set("Idempotency-Key", fmt.Sprintf("idem-%d", i))
			req.Header.Set("X-Request-Id", "req-7")

			code, hdr, body := do(t, req)
			if code != wantStatus {
				t.Fatalf("status = %d, want %d; body %s", code, wantStatus, body)
			}
			res := f.nextUpload(t)
			if !res.completed {
				t.Fatalf("upload not completed: %v", res.err)
			}
			if res.sha256 != sha(data) || res.size != int64(len(data)) {
				t.Errorf("server got %d bytes sha %s, want %d bytes sha %s", res.size, res.sha256, len(data), sha(data))
			}
			if res.chunks != 5 {
				t.Errorf("server got %d chunks, want 5 of 1 MiB", res.chunks)
			}
			if got := res.meta.GetFilename(); got != "clip.mp4" {
				t.Errorf("metadata filename = %q, want clip.mp4", got)
			}
			if got := res.meta.GetContentType(); got != "video/mp4" {
				t.Errorf("metadata content_type = %q, want video/mp4", got)
			}
			for key, want := range map[string]string{
				"authorization":   "Bearer key-123",
				"idempotency-key": fmt.Sprintf("idem-%d", i),
				"x-request-id":    "req-7",
			} {
				if got := res.md.Get(key); len(got) != 1 || got[0] != want {
					t.Errorf("metadata %q = %q, want [%q]", key, got, want)
				}
			}

			var resp struct {
				Video struct {
					ID        string `json:"id"`
					Filename  string `json:"filename"`
					SizeBytes string `json:"sizeBytes"`
					Sha256    string `json:"sha256"`
				} `json:"video"`
				Created bool `json:"created"`
			}
			if err := json.Unmarshal(body, &resp); err != nil {
				t.Fatalf("response %s: %v", body, err)
			}
			if resp.Video.Sha256 != sha(data) || resp.Video.SizeBytes != fmt.Sprint(len(data)) || resp.Video.Filename != "clip.mp4" {
				t.Errorf("response video = %+v", resp.Video)
			}
			if resp.Created != (wantStatus == http.StatusCreated) {
				t.Errorf("created = %v with status %d", resp.Created, code)
			}
			if wantStatus == http.StatusCreated && hdr.Get("Location") != "/v1/videos/"+resp.Video.ID {
				t.Errorf("Location = %q", hdr.Get("Location"))
			}
		})
	}
}

func TestUploadOverLimit(t *testing.T) {
	t.Parallel()
	const limit = 256 << 10
	tests := []struct {
		name string
		// body returns the content type and body; streamed bodies have no
		// Content-Length. Sizes stay within what net/http drains after a
		// handler, so the early 400 reaches the client reliably.
		body func(t *testing.T, f *fakeVideos) (string, io.Reader)
		// streamAborted: the server saw an Upload stream and it must end
		// cancelled; otherwise the server must not be called at all.
		streamAborted bool
	}{
		{
			name: "declared length",
			body: func(t *testing.T, _ *fakeVideos) (string, io.Reader) {
				ct, b := multipartBody(t, part{field: "file", filename: "big.mp4", data: randomBytes(t, limit+64<<10)})
				return ct, bytes.NewReader(b.Bytes())
			},
		},
		{
			name: "streamed",
			body: func(t *testing.T, f *fakeVideos) (string, io.Reader) {
				// Send the rest only once the server holds an open stream,
				// so that it is there to see the stream cancelled.
				return streamedBody(part{field: "file", filename: "big.mp4", data: randomBytes(t, limit+64<<10)}, 64<<10, func() {
					select {
					case <-f.gotMetadata:
					case <-time.After(waitTimeout):
					}
				})
			},
			streamAborted: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeVideos()
			hs := newTestGateway(t, f, gateway.Options{MaxUploadBytes: limit})
			ct, body := tc.body(t, f)

			code, _, resp := do(t, newRequest(t, http.MethodPost, hs.URL+"/v1/videos", ct, body))
			if code != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400; body %s", code, resp)
			}
			e := decodeError(t, resp)
			if !strings.Contains(e.Message, fmt.Sprint(limit)) {
				t.Errorf("message %q does not state the limit %d", e.Message, limit)
			}
			if e.Code != int(codes.InvalidArgument) {
				t.Errorf("code = %d, want %d", e.Code, codes.InvalidArgument)
			}

			if !tc.streamAborted {
				if n := f.uploadCalls.Load(); n != 0 {
					t.Errorf("server got %d Upload calls for a body refused by its length", n)
				}
				return
			}
			res := f.nextUpload(t)
			if res.completed {
				t.Fatal("server completed an upload that was over the limit")
			}
			if status.Code(res.err) != codes.Canceled {
				t.Errorf("server stream ended with %v, want Canceled", res.err)
			}
		})
	}
}

func TestUploadClientDisconnectCancelsStream(t *testing.T) {
	t.Parallel()
	f := newFakeVideos()
	hs := newTestGateway(t, f, gateway.Options{})

	ctx, cancel := context.WithCancel(t.Context())
	ct, body := streamedBody(part{field: "file", filename: "gone.mp4", data: randomBytes(t, 2<<20)}, 64<<10, func() {
		select {
		case <-f.gotMetadata:
		case <-time.After(waitTimeout):
		}
		cancel() // the client goes away mid-upload
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hs.URL+"/v1/videos", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}

	res := f.nextUpload(t)
	if res.completed {
		t.Fatal("server completed an upload whose client disconnected")
	}
	if status.Code(res.err) != codes.Canceled {
		t.Errorf("server stream ended with %v, want Canceled", res.err)
	}
}

func TestUploadBadRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		contentType string
		body        func(t *testing.T) io.Reader
		wantMessage string
	}{
		{
			name:        "not multipart",
			contentType: "application/json",
			body:        func(*testing.T) io.Reader { return strings.NewReader(`{"file":"x"}`) },
			wantMessage: "multipart/form-data",
		},
		{
			name:        "no content type",
			body:        func(*testing.T) io.Reader { return strings.NewReader("raw video bytes") },
			wantMessage: "multipart/form-data",
		},
		{
			name:        "missing file field",
			contentType: "multipart/form-data; boundary=b0undary",
			body: func(*testing.T) io.Reader {
				return strings.NewReader("--b0undary\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhello\r\n--b0undary--\r\n")
			},
			wantMessage: `"file"`,
		},
		{
			name:        "truncated multipart",
			contentType: "multipart/form-data; boundary=b0undary",
			body: func(*testing.T) io.Reader {
				return strings.NewReader("--b0undary\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhel")
			},
			wantMessage: "multipart",
		},
	}
	f := newFakeVideos()
	hs := newTestGateway(t, f, gateway.Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, _, body := do(t, newRequest(t, http.MethodPost, hs.URL+"/v1/videos", tc.contentType, tc.body(t)))
			if code != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400; body %s", code, body)
			}
			e := decodeError(t, body)
			if e.Code != int(codes.InvalidArgument) || !strings.Contains(e.Message, tc.wantMessage) {
				t.Errorf("error = %+v, want InvalidArgument mentioning %s", e, tc.wantMessage)
			}
		})
	}
	t.Cleanup(func() {
		if n := f.uploadCalls.Load(); n != 0 {
			t.Errorf("server got %d Upload calls for malformed requests", n)
		}
	})
}

func TestErrorMapping(t *testing.T) {
	t.Parallel()
	codesToHTTP := []struct {
		code codes.Code
		want int
	}{
		{codes.InvalidArgument, http.StatusBadRequest},
		{codes.NotFound, http.StatusNotFound},
		{codes.Unauthenticated, http.StatusUnauthorized},
		{codes.PermissionDenied, http.StatusForbidden},
		{codes.FailedPrecondition, http.StatusBadRequest},
		{codes.Unavailable, http.StatusServiceUnavailable},
	}
	routes := []struct {
		name string
		req  func(t *testing.T, base string) *http.Request
	}{
		{"get video", func(t *testing.T, base string) *http.Request {
			return newRequest(t, http.MethodGet, base+"/v1/videos/abc", "", nil)
		}},
		{"upload", func(t *testing.T, base string) *http.Request {
			// Small enough for net/http to drain after an early error.
			ct, body := multipartBody(t, part{field: "file", filename: "a.mp4", data: randomBytes(t, 200<<10)})
			return newRequest(t, http.MethodPost, base+"/v1/videos", ct, body)
		}},
	}
	for _, c := range codesToHTTP {
		for _, route := range routes {
			t.Run(route.name+"/"+c.code.String(), func(t *testing.T) {
				t.Parallel()
				f := newFakeVideos()
				msg := "the server says " + c.code.String()
				f.err = status.Error(c.code, msg)
				hs := newTestGateway(t, f, gateway.Options{})

				code, hdr, body := do(t, route.req(t, hs.URL))
				if code != c.want {
					t.Fatalf("status = %d, want %d; body %s", code, c.want, body)
				}
				e := decodeError(t, body)
				if e.Code != int(c.code) || e.Message != msg {
					t.Errorf("error = %+v, want code %d message %q", e, c.code, msg)
				}
				if c.code == codes.Unauthenticated && hdr.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			})
		}
	}
}

func TestGetVideoThroughMux(t *testing.T) {
	t.Parallel()
	f := newFakeVideos()
	hs := newTestGateway(t, f, gateway.Options{})

	req := newRequest(t, http.MethodGet, hs.URL+"/v1/videos/vid-1", "", nil)
	req.Header.Set("Authorization", "Bearer key-9")
	req.Header.Set("X-Request-Id", "req-1")
	req.Header.Set("Idempotency-Key", "idem-1")
	// Neither may become a metadata key the mesh trusts between services.
	req.Header.Set("X-Clipmesh-Tenant", "someone-else")
	req.Header.Set("Grpc-Metadata-X-Clipmesh-Tenant", "someone-else")

	code, hdr, body := do(t, req)
	if code != http.StatusOK {
		t.Fatalf("status = %d; body %s", code, body)
	}
	if ct := hdr.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var got map[string]map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	want := map[string]any{"id": "vid-1", "filename": "a.mp4", "sizeBytes": "42"}
	if fmt.Sprint(got["video"]) != fmt.Sprint(want) {
		t.Errorf("video = %v, want %v (lowerCamel, zero fields omitted)", got["video"], want)
	}

	var md metadata.MD
	select {
	case md = <-f.unary:
	case <-time.After(waitTimeout):
		t.Fatal("GetVideo never called")
	}
	for key, want := range map[string]string{"authorization": "Bearer key-9", "x-request-id": "req-1", "idempotency-key": "idem-1"} {
		if got := md.Get(key); len(got) != 1 || got[0] != want {
			t.Errorf("metadata %q = %q, want [%q]", key, got, want)
		}
	}
	for _, key := range []string{"x-clipmesh-tenant", "grpcgateway-authorization"} {
		if got := md.Get(key); len(got) != 0 {
			t.Errorf("metadata %q = %q, want absent", key, got)
		}
	}
}

func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	hs := newTestGateway(t, newFakeVideos(), gateway.Options{})

	code, hdr, body := do(t, newRequest(t, http.MethodGet, hs.URL+"/openapi.json", "", nil))
	if code != http.StatusOK {
		t.Fatalf("status = %d", code)
	}
	if ct := hdr.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var doc struct {
		Swagger string                                `json:"swagger"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if doc.Swagger != "2.0" {
		t.Errorf("swagger = %q", doc.Swagger)
	}
	for path, methods := range map[string][]string{
		"/v1/videos/{videoId}":   {"get", "delete"},
		"/v1/videos":             {"get", "post"},
		"/analyze/advanced":      {"post"},
		"/batch/process":         {"post"},
		"/analytics/detailed":    {"get"},
		"/v1/collaborate":        {"get"},
		"/collaborate":           {"get"},
		"/v1/jobs/{jobId}:watch": {"get"},
	} {
		for _, m := range methods {
			if _, ok := doc.Paths[path][m]; !ok {
				t.Errorf("document lacks %s %s", strings.ToUpper(m), path)
			}
		}
	}
	if !bytes.Contains(doc.Paths["/v1/videos"]["post"], []byte(`"formData"`)) {
		t.Errorf("POST /v1/videos has no formData parameter: %s", doc.Paths["/v1/videos"]["post"])
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		allowed   []string
		origin    string
		wantAllow string // expected Access-Control-Allow-Origin, "" for none
	}{
		{"allowed origin", []string{"https://app.example"}, "https://app.example", "https://app.example"},
		{"other origin", []string{"https://app.example"}, "https://evil.example", ""},
		{"wildcard", []string{"*"}, "https://anyone.example", "*"},
		{"not configured", nil, "https://app.example", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hs := newTestGateway(t, newFakeVideos(), gateway.Options{CORSAllowedOrigins: tc.allowed})
			req := newRequest(t, http.MethodOptions, hs.URL+"/v1/videos/abc", "", nil)
			req.Header.Set("Origin", tc.origin)
			req.Header.Set("Access-Control-Request-Method", http.MethodDelete)
			req.Header.Set("Access-Control-Request-Headers", "authorization, idempotency-key")

			_, hdr, _ := do(t, req)
			if got := hdr.Get("Access-Control-Allow-Origin"); got != tc.wantAllow {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tc.wantAllow)
			}
			if tc.wantAllow == "" {
				return
			}
			if got := strings.ToLower(hdr.Get("Access-Control-Allow-Headers")); !strings.Contains(got, "authorization") || !strings.Contains(got, "idempotency-key") {
				t.Errorf("Access-Control-Allow-Headers = %q", got)
			}
			if got := hdr.Get("Access-Control-Allow-Methods"); got != http.MethodDelete {
				t.Errorf("Access-Control-Allow-Methods = %q", got)
			}
		})
	}
}

func TestRequestBodyLimit(t *testing.T) {
	t.Parallel()
	const limit = 1 << 10
	big := `{"videoId":"` + strings.Repeat("a", 4*limit) + `"}`
	tests := []struct {
		name string
		body io.Reader
		want int
	}{
		{"declared length", strings.NewReader(big), http.StatusRequestEntityTooLarge},
		// A reader net/http cannot size is sent chunked: caught while decoding.
		{"chunked", io.MultiReader(strings.NewReader(big)), http.StatusRequestEntityTooLarge},
		// Under the limit it reaches the server, which (a VideoService only)
		// does not implement JobService.
		{"under the limit", strings.NewReader(`{"videoId":"abc"}`), http.StatusNotImplemented},
	}
	hs := newTestGateway(t, newFakeVideos(), gateway.Options{MaxRequestBytes: limit})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, _, body := do(t, newRequest(t, http.MethodPost, hs.URL+"/v1/jobs", "application/json", tc.body))
			if code != tc.want {
				t.Fatalf("status = %d, want %d; body %s", code, tc.want, body)
			}
			if e := decodeError(t, body); tc.want == http.StatusRequestEntityTooLarge && !strings.Contains(e.Message, fmt.Sprint(limit)) {
				t.Errorf("message %q does not state the limit", e.Message)
			}
		})
	}
}

// TestSpanNamedAfterRoute swaps the global tracer provider, so it must not
// run in parallel; parallel tests resume only after it has finished.
func TestSpanNamedAfterRoute(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	otel.SetTracerProvider(tp)
	t.Cleanup(func() {
		otel.SetTracerProvider(noop.NewTracerProvider())
		_ = tp.Shutdown(context.Background())
	})
	hs := newTestGateway(t, newFakeVideos(), gateway.Options{})

	ct, body := multipartBody(t, part{field: "file", filename: "s.mp4", data: []byte("tiny")})
	requests := []struct {
		req  *http.Request
		want string
	}{
		{newRequest(t, http.MethodGet, hs.URL+"/v1/videos/abc", "", nil), "GET /v1/videos/{video_id}"},
		{newRequest(t, http.MethodPost, hs.URL+"/v1/videos", ct, body), "POST /v1/videos"},
		{newRequest(t, http.MethodPost, hs.URL+"/v1/jobs/j1:cancel", "application/json", strings.NewReader("{}")), "POST /v1/jobs/{job_id}:cancel"},
		{newRequest(t, http.MethodGet, hs.URL+"/no/such/route", "", nil), "GET"},
	}
	for _, r := range requests {
		do(t, r.req)
	}
	// otelhttp ends a span after the response is written, so the client can
	// be done before the last span is.
	deadline := time.Now().Add(waitTimeout)
	for len(rec.Ended()) < len(requests) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	var got []string
	for _, s := range rec.Ended() {
		got = append(got, s.Name())
	}
	for _, r := range requests {
		found := false
		for _, name := range got {
			found = found || name == r.want
		}
		if !found {
			t.Errorf("no span named %q; spans: %q", r.want, got)
		}
	}
}

package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"
)

// newBareGateway is a gateway with no services, for middleware tests.
func newBareGateway(log *slog.Logger) *gateway {
	return &gateway{
		mux:          runtime.NewServeMux(),
		log:          log,
		errMarshaler: &runtime.JSONPb{MarshalOptions: protojson.MarshalOptions{EmitUnpopulated: true}},
	}
}

func TestRecoverPanics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler http.HandlerFunc
		// wantRepanic is the value the middleware must re-panic with; nil
		// means it must answer 500 itself.
		wantRepanic any
		wantLogged  bool
	}{
		{
			name:       "before the response",
			handler:    func(http.ResponseWriter, *http.Request) { panic("boom: secret detail") },
			wantLogged: true,
		},
		{
			name: "after the response started",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write([]byte(`{"partial":`))
				panic("boom: secret detail")
			},
			wantRepanic: http.ErrAbortHandler,
			wantLogged:  true,
		},
		{
			name:        "abort handler",
			handler:     func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) },
			wantRepanic: http.ErrAbortHandler,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			g := newBareGateway(slog.New(slog.NewJSONHandler(&logs, nil)))
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "/v1/videos/x", nil)

			var repanic any
			func() {
				defer func() { repanic = recover() }()
				g.recoverPanics(tc.handler).ServeHTTP(rec, req)
			}()

			if repanic != tc.wantRepanic {
				t.Fatalf("re-panicked with %v, want %v", repanic, tc.wantRepanic)
			}
			if got := strings.Contains(logs.String(), "boom: secret detail"); got != tc.wantLogged {
				t.Errorf("panic logged = %v, want %v; log %s", got, tc.wantLogged, logs.String())
			}
			if tc.wantRepanic != nil {
				return
			}
			if rec.Code != http.StatusInternalServerError {
				t.Fatalf("status = %d, want 500", rec.Code)
			}
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if body["message"] != "internal error" || body["code"] != float64(13) || body["details"] == nil {
				t.Errorf("body = %v, want code 13, message \"internal error\", details", body)
			}
			if strings.Contains(rec.Body.String(), "secret") {
				t.Error("the panic value leaked to the client")
			}
		})
	}
}

func TestFillKeepsTruncationAnError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		r       io.Reader
		size    int
		wantN   int
		wantErr error
	}{
		{"full buffer", strings.NewReader("abcdefgh"), 4, 4, nil},
		{"clean end", strings.NewReader("abc"), 8, 3, io.EOF},
		{"one byte at a time", iotest.OneByteReader(strings.NewReader("abcd")), 4, 4, nil},
		{"truncated", io.MultiReader(strings.NewReader("ab"), iotest.ErrReader(io.ErrUnexpectedEOF)), 8, 2, io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n, err := fill(tc.r, make([]byte, tc.size))
			if n != tc.wantN || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Errorf("fill = %d, %v; want %d, %v", n, err, tc.wantN, tc.wantErr)
			}
		})
	}
}

func TestIncomingHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header string
		want   string
		ok     bool
	}{
		// Forwarded unprefixed by grpc-gateway itself; no second copy.
		{"Authorization", "", false},
		{"idempotency-key", "idempotency-key", true},
		{"X-Request-ID", "x-request-id", true},
		{"Content-Type", "grpcgateway-Content-Type", true},
		{"X-Clipmesh-Tenant", "", false},
		{"Grpc-Metadata-X-Clipmesh-Tenant", "", false},
	}
	for _, tc := range tests {
		got, ok := incomingHeader(tc.header)
		if got != tc.want || ok != tc.ok {
			t.Errorf("incomingHeader(%q) = %q, %v; want %q, %v", tc.header, got, ok, tc.want, tc.ok)
		}
	}
}

func TestIECBytes(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{
		0:                      "0 B",
		1023:                   "1023 B",
		1024:                   "1 KiB",
		1536:                   "1.5 KiB",
		DefaultMaxRequestBytes: "1 MiB",
		DefaultMaxUploadBytes:  "8 GiB",
		1 << 62:                "4 EiB",
	} {
		if got := iecBytes(n); got != want {
			t.Errorf("iecBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

package callback_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/clipmesh/clipmesh/services/jobs/internal/callback"
)

func TestRefused(t *testing.T) {
	t.Parallel()
	s := &callback.Sender{}
	allowed := &callback.Sender{Allow: mustAllow(t, "10.1.0.0/16, 127.0.0.1")}
	for _, tc := range []struct {
		addr          string
		refused       bool
		refusedAllowd bool
	}{
		{"93.184.216.34", false, false},
		{"2606:2800:220:1:248:1893:25c8:1946", false, false},
		{"127.0.0.1", true, false},
		{"127.0.0.2", true, true},
		{"::1", true, true},
		{"::ffff:127.0.0.1", true, false},
		{"10.0.0.1", true, true},
		{"10.1.2.3", true, false},
		{"172.16.0.1", true, true},
		{"192.168.1.1", true, true},
		{"169.254.169.254", true, true},
		{"fe80::1", true, true},
		{"fd00:ec2::254", true, true},
		{"100.100.100.200", true, true},
		{"0.0.0.0", true, true},
		{"::", true, true},
		{"224.0.0.1", true, true},
	} {
		a := netip.MustParseAddr(tc.addr)
		if got := s.Refused(a) != ""; got != tc.refused {
			t.Errorf("Refused(%s) = %v, want %v", tc.addr, got, tc.refused)
		}
		if got := allowed.Refused(a) != ""; got != tc.refusedAllowd {
			t.Errorf("with allow list, Refused(%s) = %v, want %v", tc.addr, got, tc.refusedAllowd)
		}
	}
}

func mustAllow(t *testing.T, list string) []netip.Prefix {
	t.Helper()
	p, err := callback.ParseAllow(list)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseAllowRefusesGarbage(t *testing.T) {
	t.Parallel()
	for _, list := range []string{"10.0.0.0/33", "nope", "10.0.0.0/8,,x/1"} {
		if _, err := callback.ParseAllow(list); err == nil {
			t.Errorf("ParseAllow(%q) succeeded", list)
		}
	}
	if p, err := callback.ParseAllow(""); err != nil || len(p) != 0 {
		t.Errorf("ParseAllow(\"\") = %v, %v", p, err)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	s := &callback.Sender{}
	for _, tc := range []struct {
		url     string
		wantErr string // "" means accepted
	}{
		{"https://93.184.216.34/hook", ""},
		{"http://[2606:2800:220:1:248:1893:25c8:1946]:8080/hook", ""},
		{"https://127.0.0.1/hook", "loopback"},
		{"https://localhost/hook", "loopback"}, // refused after resolving the name
		{"https://[::1]/hook", "loopback"},
		{"http://169.254.169.254/latest/meta-data/", "link-local"},
		{"http://10.0.0.5/hook", "private"},
		{"http://100.100.100.200/", "carrier-grade NAT"},
		{"ftp://93.184.216.34/x", "scheme"},
		{"https:///nohost", "no host"},
		{"https://user:pw@93.184.216.34/", "credentials"},
		{"://bad", "invalid callback url"},
		{"https://no-such-host.invalid/", "cannot resolve"},
	} {
		err := s.Check(t.Context(), tc.url)
		if tc.wantErr == "" {
			if err != nil {
				t.Errorf("Check(%q) = %v, want accepted", tc.url, err)
			}
			continue
		}
		if !errors.Is(err, callback.ErrInvalidURL) || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("Check(%q) = %v, want ErrInvalidURL saying %q", tc.url, err, tc.wantErr)
		}
	}
	if err := (&callback.Sender{Allow: mustAllow(t, "127.0.0.0/8,::1")}).Check(t.Context(), "http://localhost:9/hook"); err != nil {
		t.Errorf("Check(localhost) with loopback allowed = %v", err)
	}
}

func TestSend(t *testing.T) {
	t.Parallel()
	secret := []byte("s3cret")
	var got struct {
		sig, body, ctype string
	}
	answer := http.StatusNoContent
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.sig, got.body, got.ctype = r.Header.Get(callback.SignatureHeader), string(b), r.Header.Get("Content-Type")
		if answer == http.StatusFound {
			http.Redirect(w, r, "http://169.254.169.254/", answer)
			return
		}
		w.WriteHeader(answer)
	}))
	t.Cleanup(srv.Close)
	body := []byte(`{"job":{"id":"job_1"}}`)

	allowed := &callback.Sender{Secret: secret, Allow: mustAllow(t, "127.0.0.1")}
	code, err := allowed.Send(t.Context(), srv.URL+"/hook", body)
	if err != nil || code != http.StatusNoContent {
		t.Fatalf("Send = %d, %v; want 204", code, err)
	}
	// The receiver can check the signature with the shared secret.
	if want := callback.Sign(secret, []byte(got.body)); got.sig != want || got.body != string(body) || got.ctype != "application/json" {
		t.Errorf("received %+v, want body %s signed %s", got, body, want)
	}
	if !strings.HasPrefix(got.sig, "sha256=") || len(got.sig) != len("sha256=")+64 {
		t.Errorf("signature %q is not sha256=<64 hex>", got.sig)
	}

	for _, tc := range []struct {
		answer    int
		permanent bool
	}{
		{http.StatusInternalServerError, false},
		{http.StatusServiceUnavailable, false},
		{http.StatusTooManyRequests, false},
		{http.StatusBadRequest, true},
		{http.StatusGone, true},
		{http.StatusFound, true}, // redirects are not followed
	} {
		answer = tc.answer
		code, err := allowed.Send(t.Context(), srv.URL, body)
		if code != tc.answer || err == nil || errors.Is(err, callback.ErrPermanent) != tc.permanent {
			t.Errorf("answer %d: Send = %d, %v; want an error, permanent %v", tc.answer, code, err, tc.permanent)
		}
	}

	// Without the allow list, the connection itself is refused, whatever
	// the URL said when it was accepted.
	answer = http.StatusOK
	if _, err := (&callback.Sender{Secret: secret}).Send(t.Context(), srv.URL, body); !errors.Is(err, callback.ErrPermanent) || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("Send to loopback without allow = %v, want a permanent loopback refusal", err)
	}
}

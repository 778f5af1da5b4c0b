// Package callback delivers a job's completion to its callback URL: an HTTP
// POST of a JSON body signed with HMAC-SHA256, sent only to public
// addresses. Loopback, private, link-local (which holds the cloud metadata
// address 169.254.169.254), carrier-grade NAT, multicast and unspecified
// addresses are refused unless an allowed prefix covers them, both when a
// URL is accepted (after resolving its host) and when each connection is
// made (so a DNS answer that changes in between cannot lead inside).
package callback

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
)

// SignatureHeader carries "sha256=" + the hex HMAC-SHA256 of the body.
const SignatureHeader = "X-Clipmesh-Signature"

// Errors of Check and Send.
var (
	// ErrInvalidURL wraps a callback URL that is malformed, cannot be
	// resolved or leads to a refused address.
	ErrInvalidURL = errors.New("invalid callback url")
	// ErrPermanent wraps a delivery that would fail again if retried (a
	// 4xx answer other than 408 and 429, a redirect, a refused address).
	ErrPermanent = errors.New("callback refused")
)

// cgnat is carrier-grade NAT space (RFC 6598), where some clouds put their
// metadata service (100.100.100.200).
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// Sender checks callback URLs and posts to them.
type Sender struct {
	// Secret is the master key: each API key's callbacks are signed with
	// its own secret derived from it (SecretFor).
	Secret []byte
	// Allow lists prefixes that may be called although refused by default
	// (e.g. 10.0.0.0/8 for receivers inside the cluster).
	Allow []netip.Prefix
	// Timeout bounds one attempt (default 10 s).
	Timeout time.Duration
	// Resolver resolves hosts (default net.DefaultResolver).
	Resolver *net.Resolver

	once   sync.Once
	client *http.Client
}

// ParseAllow parses a comma-separated list of CIDR prefixes or addresses.
func ParseAllow(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("callback: allowed address %q: %w", f, err)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("callback: allowed prefix %q: %w", f, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Refused reports why addr may not be called, or "" if it may.
func (s *Sender) Refused(addr netip.Addr) string {
	addr = addr.Unmap()
	for _, p := range s.Allow {
		if p.Contains(addr) {
			return ""
		}
	}
	switch {
	case addr.IsLoopback():
		return "loopback"
	case addr.IsPrivate():
		return "private"
	case addr.IsLinkLocalUnicast(), addr.IsLinkLocalMulticast():
		return "link-local (cloud metadata)"
	case addr.IsUnspecified():
		return "unspecified"
	case addr.IsMulticast(), addr.IsInterfaceLocalMulticast():
		return "multicast"
	case cgnat.Contains(addr):
		return "carrier-grade NAT (cloud metadata)"
	}
	return ""
}

// Check refuses a callback URL that is not http(s), has no host, or whose
// host resolves to any refused address. Errors wrap ErrInvalidURL.
func (s *Sender) Check(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%w: scheme must be http or https", ErrInvalidURL)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("%w: no host", ErrInvalidURL)
	}
	if u.User != nil {
		return fmt.Errorf("%w: credentials in the url are not allowed", ErrInvalidURL)
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		res := s.Resolver
		if res == nil {
			res = net.DefaultResolver
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		addrs, err = res.LookupNetIP(rctx, "ip", host)
		if err != nil || len(addrs) == 0 {
			return fmt.Errorf("%w: cannot resolve host %q", ErrInvalidURL, host)
		}
	}
	for _, a := range addrs {
		if why := s.Refused(a); why != "" {
			return fmt.Errorf("%w: host %q resolves to %s, a %s address", ErrInvalidURL, host, a.Unmap(), why)
		}
	}
	return nil
}

// SecretFor is the callback secret of the API key id submitter (or
// "local") of tenant: HMAC-SHA256 of both under the master Secret, in hex.
// Its owner learns it from JobService.GetCallbackSecret and checks
// signatures with it; another key's callbacks carry another signature, and
// rotating the master rotates every secret.
func (s *Sender) SecretFor(tenant, submitter string) []byte {
	m := hmac.New(sha256.New, s.Secret)
	m.Write([]byte("clipmesh-callback-secret/1\x00" + tenant + "\x00" + submitter))
	return []byte(hex.EncodeToString(m.Sum(nil)))
}

// Sign is the signature header value of body under secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Client is an HTTP client that connects only to allowed addresses, uses
// no proxy and follows no redirect (a URL import uses it too).
func (s *Sender) Client() *http.Client { return s.httpClient() }

// httpClient is a client that connects only to allowed addresses, uses no
// proxy and follows no redirect.
func (s *Sender) httpClient() *http.Client {
	s.once.Do(s.initClient)
	return s.client
}

func (s *Sender) initClient() {
	d := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: address %q: %v", ErrPermanent, address, err)
		}
		if why := s.Refused(ap.Addr()); why != "" {
			return fmt.Errorf("%w: %s is a %s address", ErrPermanent, ap.Addr().Unmap(), why)
		}
		return nil
	}}
	s.client = &http.Client{
		Transport: &http.Transport{Proxy: nil, DialContext: d.DialContext, ForceAttemptHTTP2: true,
			TLSHandshakeTimeout: 5 * time.Second, MaxIdleConns: 10, IdleConnTimeout: 30 * time.Second},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Send makes one POST of body (JSON) to raw signed with the master Secret
// (SendSigned says more).
func (s *Sender) Send(ctx context.Context, raw string, body []byte) (int, error) {
	return s.SendSigned(ctx, raw, s.Secret, body)
}

// SendSigned makes one POST of body (JSON) to raw signed with secret and
// returns the HTTP status (0 when none came). A 2xx answer is success; the
// error wraps ErrPermanent when trying again would not help.
func (s *Sender) SendSigned(ctx context.Context, raw string, secret, body []byte) (int, error) {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, raw, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrPermanent, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "clipmesh-callback/1")
	req.Header.Set(SignatureHeader, Sign(secret, body))
	res, err := s.httpClient().Do(req)
	if err != nil {
		if errors.Is(err, ErrPermanent) {
			return 0, err
		}
		return 0, fmt.Errorf("callback: post: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	switch c := res.StatusCode; {
	case c >= 200 && c < 300:
		return c, nil
	case c == http.StatusRequestTimeout, c == http.StatusTooManyRequests, c >= 500:
		return c, fmt.Errorf("callback: receiver answered %s", res.Status)
	default:
		return c, fmt.Errorf("%w: receiver answered %s", ErrPermanent, res.Status)
	}
}

// Package importer fetches batch items named by URL. Only URLs under a
// configured import prefix are accepted, and the connection follows the
// callbacks' rules (callback.Sender): loopback, private, link-local
// (cloud metadata) and other inside addresses are refused unless allowed,
// both when the URL is checked (after DNS resolution) and on each
// connection; no proxy, no redirects; the body is bounded by the upload
// limit.
package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/clipmesh/clipmesh/services/jobs/internal/callback"
)

// Errors of Check and Open.
var (
	// ErrInvalid wraps a URL that is malformed, outside every import
	// prefix, leads to a refused address, or names nothing to import.
	ErrInvalid = errors.New("invalid import url")
	// ErrUnavailable wraps a download that failed for a reason that may
	// pass (network, a 5xx answer).
	ErrUnavailable = errors.New("import failed")
	// ErrNotConfigured means no import prefix is configured.
	ErrNotConfigured = errors.New("url import not configured")
)

// Importer checks and opens import URLs.
type Importer struct {
	// Prefixes are the URLs under which imports are allowed.
	Prefixes []*url.URL
	// Guard holds the address rules and the guarded HTTP client.
	Guard *callback.Sender
	// MaxBytes refuses a download whose announced length is larger (0: no
	// bound); the ingest stops reading past its own limit either way.
	MaxBytes int64
	// Timeout bounds one download (default 10 minutes).
	Timeout time.Duration
}

// ParsePrefixes parses a comma-separated list of http(s) URL prefixes. A
// prefix names a folder: "https://media.example.com/in" allows
// https://media.example.com/in/a.mp4, not https://media.example.com/inbox.
func ParsePrefixes(list string) ([]*url.URL, error) {
	var out []*url.URL
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		u, err := url.Parse(f)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" {
			return nil, fmt.Errorf("importer: prefix %q must be an http(s) URL with a host and no credentials or query", f)
		}
		u.Host = strings.ToLower(u.Host)
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
		}
		out = append(out, u)
	}
	return out, nil
}

// Check parses raw and refuses it unless it is an http(s) URL under an
// import prefix whose host resolves only to allowed addresses.
func (im *Importer) Check(ctx context.Context, raw string) (*url.URL, error) {
	if len(im.Prefixes) == 0 {
		return nil, ErrNotConfigured
	}
	if len(raw) > 4096 {
		return nil, fmt.Errorf("%w: longer than 4096 bytes", ErrInvalid)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%w: scheme must be http or https", ErrInvalid)
	case u.Host == "":
		return nil, fmt.Errorf("%w: no host", ErrInvalid)
	case u.User != nil:
		return nil, fmt.Errorf("%w: credentials in the url are not allowed", ErrInvalid)
	case u.Opaque != "":
		return nil, fmt.Errorf("%w: not a hierarchical url", ErrInvalid)
	}
	// The URL fetched is the one checked: "." and ".." resolved.
	u.Host, u.Fragment, u.Path, u.RawPath = strings.ToLower(u.Host), "", path.Clean("/"+u.Path), ""
	if !im.under(u) {
		return nil, fmt.Errorf("%w: not under an allowed import prefix", ErrInvalid)
	}
	if err := im.Guard.Check(ctx, u.String()); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, strings.TrimPrefix(err.Error(), callback.ErrInvalidURL.Error()+": "))
	}
	return u, nil
}

// under reports whether u (its path clean) is inside one of the prefixes.
func (im *Importer) under(u *url.URL) bool {
	for _, p := range im.Prefixes {
		if u.Scheme == p.Scheme && u.Host == p.Host && strings.HasPrefix(u.Path, p.Path) {
			return true
		}
	}
	return false
}

// Open starts the download of a checked URL and returns its body (bounded
// by MaxBytes, which makes reading past it fail) and a file name for it.
// The caller closes the body.
func (im *Importer) Open(ctx context.Context, u *url.URL) (io.ReadCloser, string, error) {
	timeout := im.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		cancel()
		return nil, "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	req.Header.Set("User-Agent", "clipmesh-import/1")
	res, err := im.Guard.Client().Do(req)
	if err != nil {
		cancel()
		if errors.Is(err, callback.ErrPermanent) { // an address the rules refuse
			return nil, "", fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		return nil, "", fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	fail := func(err error) (io.ReadCloser, string, error) {
		_ = res.Body.Close()
		cancel()
		return nil, "", err
	}
	switch c := res.StatusCode; {
	case c >= 300 && c < 400:
		return fail(fmt.Errorf("%w: the server answered %s; redirects are not followed", ErrInvalid, res.Status))
	case c == http.StatusRequestTimeout, c == http.StatusTooManyRequests, c >= 500:
		return fail(fmt.Errorf("%w: the server answered %s", ErrUnavailable, res.Status))
	case c < 200 || c >= 300:
		return fail(fmt.Errorf("%w: the server answered %s", ErrInvalid, res.Status))
	}
	if im.MaxBytes > 0 && res.ContentLength > im.MaxBytes {
		return fail(fmt.Errorf("%w: %d bytes, over the limit of %d", ErrInvalid, res.ContentLength, im.MaxBytes))
	}
	name := path.Base(path.Clean("/" + u.Path))
	return &body{ReadCloser: res.Body, cancel: cancel}, name, nil
}

// body ends a download's context when closed, and names the import in
// its read errors. The size bound is the ingest's, which stops reading
// one byte past its limit.
type body struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		return n, fmt.Errorf("%w: download: %v", ErrUnavailable, err)
	}
	return n, err
}

func (b *body) Close() error {
	defer b.cancel()
	return b.ReadCloser.Close()
}

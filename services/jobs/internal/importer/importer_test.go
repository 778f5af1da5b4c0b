package importer_test

import (
	"errors"
	"testing"

	"github.com/clipmesh/clipmesh/services/jobs/internal/callback"
	"github.com/clipmesh/clipmesh/services/jobs/internal/importer"
)

func TestParsePrefixes(t *testing.T) {
	t.Parallel()
	ps, err := importer.ParsePrefixes(" https://Media.Example.com/in , http://10.0.0.5:8080/videos/ ")
	if err != nil || len(ps) != 2 || ps[0].String() != "https://media.example.com/in/" || ps[1].Path != "/videos/" {
		t.Fatalf("ParsePrefixes = %v, %v", ps, err)
	}
	for _, bad := range []string{"media.example.com/in", "ftp://h/x", "https://u:p@h/x", "https:///x", "https://h/x?a=1"} {
		if _, err := importer.ParsePrefixes(bad); err == nil {
			t.Errorf("ParsePrefixes(%q) accepted", bad)
		}
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	ps, err := importer.ParsePrefixes("http://93.184.216.34/in,http://127.0.0.1/local")
	if err != nil {
		t.Fatal(err)
	}
	im := &importer.Importer{Prefixes: ps, Guard: &callback.Sender{}}
	for _, tc := range []struct {
		url  string
		want error
	}{
		{"http://93.184.216.34/in/a.mp4", nil},
		{"http://93.184.216.34/in/x/../b.mp4", nil},
		{"http://93.184.216.34/in", importer.ErrInvalid},          // the folder itself
		{"http://93.184.216.34/inbox/a.mp4", importer.ErrInvalid}, // a look-alike
		{"http://93.184.216.34/in/../etc/passwd", importer.ErrInvalid},
		{"http://93.184.216.34/in/%2e%2e/etc/passwd", importer.ErrInvalid},
		{"https://93.184.216.34/in/a.mp4", importer.ErrInvalid}, // another scheme
		{"http://127.0.0.1/local/a.mp4", importer.ErrInvalid},   // under a prefix, but loopback
		{"http://[::1", importer.ErrInvalid},
		{"", importer.ErrInvalid},
	} {
		_, err := im.Check(t.Context(), tc.url)
		if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("Check(%q) = %v, want %v", tc.url, err, tc.want)
		}
	}
	if _, err := (&importer.Importer{}).Check(t.Context(), "http://93.184.216.34/in/a.mp4"); !errors.Is(err, importer.ErrNotConfigured) {
		t.Errorf("Check without prefixes = %v, want ErrNotConfigured", err)
	}
}

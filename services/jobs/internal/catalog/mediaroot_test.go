package catalog_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/clipmesh/clipmesh/services/jobs/internal/catalog"
)

func TestMediaRoot(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	root := filepath.Join(base, "media")
	outside := filepath.Join(base, "secret.mp4")
	for _, dir := range []string{root, filepath.Join(root, "shows")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(root, "shows", "a.mp4"), outside, filepath.Join(base, "media2.mp4")} {
		if err := os.WriteFile(f, []byte(filepath.Base(f)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"out.mp4":        outside,                               // a symlink leading out
		"in.mp4":         filepath.Join(root, "shows", "a.mp4"), // one staying in
		"shows/up":       "..",                                  // a relative one
		"escape":         base,                                  // a directory leading out
		"shows/loop.mp4": "../out.mp4",                          // a chain leading out
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	m := catalog.MediaRoot(root)
	tests := []struct {
		path, want string // want "" means refused
	}{
		{"shows/a.mp4", "shows/a.mp4"},
		{"./shows//a.mp4", "shows/a.mp4"},
		{filepath.Join(root, "shows", "a.mp4"), "shows/a.mp4"},
		{"in.mp4", "shows/a.mp4"},
		{"shows/up/shows/a.mp4", "shows/a.mp4"},
		{"shows/../shows/a.mp4", "shows/a.mp4"},
		{"../secret.mp4", ""},
		{"shows/../../secret.mp4", ""},
		{outside, ""},
		{"/etc/passwd", ""},
		{root + "2.mp4", ""}, // a sibling sharing the root's name as a prefix
		{"out.mp4", ""},
		{"shows/loop.mp4", ""},
		{"escape/secret.mp4", ""},
		{"shows", ""},    // a directory
		{"nope.mp4", ""}, // missing
		{"", ""},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			got, err := m.Rel(tc.path)
			if tc.want == "" {
				if !errors.Is(err, catalog.ErrInvalidArgument) {
					t.Errorf("Rel(%q) = %q, %v; want ErrInvalidArgument", tc.path, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Rel(%q) = %q, %v; want %q", tc.path, got, err, tc.want)
			}
			f, err := m.Open(got)
			if err != nil {
				t.Fatalf("Open(%q): %v", got, err)
			}
			defer f.Close()
			if b, _ := io.ReadAll(f); string(b) != "a.mp4" {
				t.Errorf("Open(%q) read %q", got, b)
			}
		})
	}
	// Open alone refuses to leave the root too, whatever it is given.
	for _, rel := range []string{"../secret.mp4", "out.mp4", "escape/secret.mp4"} {
		if f, err := m.Open(rel); err == nil {
			f.Close()
			t.Errorf("Open(%q) succeeded, want it refused", rel)
		}
	}
	if _, err := catalog.MediaRoot("").Rel("shows/a.mp4"); !errors.Is(err, catalog.ErrInvalidArgument) {
		t.Errorf("Rel with no root = %v, want ErrInvalidArgument", err)
	}
}

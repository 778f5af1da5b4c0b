package catalog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// MediaRoot is a server folder whose files clients may name for analysis
// (SubmitBatch paths). Nothing outside it can be reached: not with "..",
// not with an absolute path elsewhere, not through a symlink that leads out.
type MediaRoot string

// Rel resolves p (relative to the root, or absolute) to its path relative
// to the root after filepath.Clean and filepath.EvalSymlinks, refusing
// anything that leaves the root or is not a regular file. Errors wrap
// ErrInvalidArgument.
func (m MediaRoot) Rel(p string) (string, error) {
	if m == "" {
		return "", fmt.Errorf("%w: no media root is configured (--jobs-media-root, CLIPMESH_MEDIA_ROOT)", ErrInvalidArgument)
	}
	if p == "" || strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("%w: empty or malformed path", ErrInvalidArgument)
	}
	root, err := filepath.Abs(string(m))
	if err != nil {
		return "", fmt.Errorf("catalog: media root: %w", err)
	}
	full := filepath.Clean(p)
	if !filepath.IsAbs(full) {
		full = filepath.Join(root, full)
	}
	outside := fmt.Errorf("%w: %q is outside the media root", ErrInvalidArgument, p)
	// Lexically first, so nothing outside is even looked at.
	if !within(root, full) {
		return "", outside
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", fmt.Errorf("catalog: media root: %w", err)
	}
	real, err := filepath.EvalSymlinks(full)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("%w: %q does not exist under the media root", ErrInvalidArgument, p)
		}
		return "", fmt.Errorf("catalog: resolve %q: %w", p, err)
	}
	if !within(realRoot, real) {
		return "", outside
	}
	info, err := os.Stat(real)
	if err != nil {
		return "", fmt.Errorf("catalog: stat %q: %w", p, err)
	}
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("%w: %q is not a regular file", ErrInvalidArgument, p)
	}
	rel, err := filepath.Rel(realRoot, real)
	if err != nil {
		return "", outside
	}
	return rel, nil
}

// Open opens the file rel (from Rel) through os.Root, so a symlink swapped
// in after Rel still cannot lead out of the root.
func (m MediaRoot) Open(rel string) (*os.File, error) {
	realRoot, err := filepath.EvalSymlinks(string(m))
	if err != nil {
		return nil, fmt.Errorf("catalog: media root: %w", err)
	}
	r, err := os.OpenRoot(realRoot)
	if err != nil {
		return nil, fmt.Errorf("catalog: media root: %w", err)
	}
	defer r.Close()
	f, err := r.Open(rel)
	if err != nil {
		return nil, fmt.Errorf("%w: open %q under the media root: %v", ErrInvalidArgument, rel, err)
	}
	return f, nil
}

// within reports whether path is root or below it (both clean, absolute).
func within(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

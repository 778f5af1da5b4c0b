package models

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// EnvDir is the environment variable that overrides the default cache
// directory (a --models-dir flag overrides it in turn).
const EnvDir = "CLIPMESH_MODELS_DIR"

// Dir returns the models cache directory: override if not empty, else
// $CLIPMESH_MODELS_DIR, else $XDG_CACHE_HOME/clipmesh/models, else
// ~/.cache/clipmesh/models. Relative overrides are made absolute. It does not
// create the directory.
func Dir(override string) (string, error) {
	for _, d := range []string{override, os.Getenv(EnvDir)} {
		if d != "" {
			return filepath.Abs(d)
		}
	}
	// The XDG base directory spec says to ignore a relative value.
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "clipmesh", "models"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("models: no home directory (set %s or use --models-dir): %w", EnvDir, err)
	}
	return filepath.Join(home, ".cache", "clipmesh", "models"), nil
}

// FetchCommand is the command line that installs the models into dir: it
// names --models-dir only when dir is not the default.
func FetchCommand(dir string) string {
	if def, err := Dir(""); err == nil && filepath.Clean(dir) == def {
		return "clipmesh models fetch"
	}
	return "clipmesh models fetch --models-dir " + shellQuote(dir)
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:@=,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Errors that Path and Status report, matched with errors.Is. The errors
// themselves are *Error values whose message names the model, the file and
// the command that fixes it; services return them from their readiness check.
var (
	// ErrMissing: a file of the model is not in the cache.
	ErrMissing = errors.New("model not installed")
	// ErrChecksum: a file of the model is in the cache with the wrong sha256.
	ErrChecksum = errors.New("model checksum mismatch")
	// ErrUnknown: no manifest entry has that name.
	ErrUnknown = errors.New("unknown model")
)

// Error is the error Path and Status return about one model.
type Error struct {
	// Name is the manifest entry.
	Name string
	// Path is the file concerned (empty for ErrUnknown).
	Path string
	// Got and Want are the actual and expected sha256 (ErrChecksum only).
	Got, Want string
	// Fix is the command that repairs it, e.g. "clipmesh models fetch".
	Fix string
	// Err is ErrMissing, ErrChecksum or ErrUnknown.
	Err error
}

func (e *Error) Error() string {
	switch e.Err {
	case ErrMissing:
		return fmt.Sprintf("model %s is not installed: run `%s`", e.Name, e.Fix)
	case ErrChecksum:
		return fmt.Sprintf("model %s at %s has sha256 %s, want %s: run `%s`", e.Name, e.Path, e.Got, e.Want, e.Fix)
	case ErrUnknown:
		return fmt.Sprintf("unknown model %q (%s)", e.Name, e.Fix)
	}
	return fmt.Sprintf("model %s: %v", e.Name, e.Err)
}

// Unwrap returns the sentinel (ErrMissing, ErrChecksum or ErrUnknown).
func (e *Error) Unwrap() error { return e.Err }

// State is what Status found about an entry.
type State string

// States of an entry in the cache.
const (
	StatePresent State = "present" // every file there, sha256 verified
	StateMissing State = "missing" // a file is not there
	StateCorrupt State = "corrupt" // a file is there with the wrong sha256
)

// EntryStatus is the state of one entry in a cache directory.
type EntryStatus struct {
	Entry Entry
	State State
	// Path is where the entry's main file is (or would be) installed: the
	// converted file for an entry with Convert.
	Path string
	// Err is nil when State is StatePresent, else an *Error.
	Err error
}

// FilePath is where file f of entry e is installed under dir:
// dir/<entry name>/<base name of f.Path>.
func FilePath(dir string, e Entry, f File) string {
	return filepath.Join(dir, e.Name, path.Base(f.Path))
}

// MainFile is the file of e that Path returns: the converted file for an
// entry with Convert, else the source file.
func (e Entry) MainFile() File {
	if e.Converted != nil {
		return *e.Converted
	}
	return e.Files()[0]
}

// installedFiles are every file of e in the cache: the source files, then
// the converted one.
func (e Entry) installedFiles() []File {
	fs := e.Files()
	if e.Converted != nil {
		fs = append(fs, *e.Converted)
	}
	return fs
}

// Check hashes the installed files of e under dir and reports its state.
func (m *Manifest) Check(dir string, e Entry) EntryStatus {
	st := EntryStatus{Entry: e, Path: FilePath(dir, e, e.MainFile())}
	for _, f := range e.installedFiles() {
		p := FilePath(dir, e, f)
		got, _, err := hashFile(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			st.State, st.Err = StateMissing, &Error{Name: e.Name, Path: p, Fix: FetchCommand(dir), Err: ErrMissing}
			return st
		case err != nil:
			// Unreadable counts as corrupt: it is there but unusable.
			st.State, st.Err = StateCorrupt, &Error{Name: e.Name, Path: p, Got: "unreadable (" + err.Error() + ")", Want: f.SHA256, Fix: FetchCommand(dir), Err: ErrChecksum}
			return st
		case got != f.SHA256:
			st.State, st.Err = StateCorrupt, &Error{Name: e.Name, Path: p, Got: got, Want: f.SHA256, Fix: FetchCommand(dir), Err: ErrChecksum}
			return st
		}
	}
	st.State = StatePresent
	return st
}

// Status checks every entry under dir (hashing every installed file).
func (m *Manifest) Status(dir string) []EntryStatus {
	out := make([]EntryStatus, len(m.Entries))
	for i, e := range m.Entries {
		out[i] = m.Check(dir, e)
	}
	return out
}

// Path returns the path of the named entry's main file under dir after
// verifying the sha256 of every file of the entry (for a converted model,
// the .onnx file the conversion wrote). Its errors are *Error values
// wrapping ErrMissing, ErrChecksum or ErrUnknown,
// and their messages name the command to run.
func (m *Manifest) Path(dir, name string) (string, error) {
	e, ok := m.Entry(name)
	if !ok {
		return "", &Error{Name: name, Fix: "known: " + strings.Join(m.Names(), ", "), Err: ErrUnknown}
	}
	st := m.Check(dir, e)
	return st.Path, st.Err
}

// Path is Manifest.Path on the embedded manifest: what a service calls, at
// start or in its readiness check, to find a model it needs.
func Path(dir, name string) (string, error) {
	m, err := Load()
	if err != nil {
		return "", err
	}
	return m.Path(dir, name)
}

// Status is Manifest.Status on the embedded manifest.
func Status(dir string) ([]EntryStatus, error) {
	m, err := Load()
	if err != nil {
		return nil, err
	}
	return m.Status(dir), nil
}

// hashFile returns the lowercase hex sha256 and the size of the file at p.
func hashFile(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

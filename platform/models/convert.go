package models

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/clipmesh/clipmesh/platform/models/tfjs"
)

// sourcesPresent says whether every source file of e is installed with the
// right sha256 (the converted file aside).
func sourcesPresent(dir string, e Entry) bool {
	for _, f := range e.Files() {
		if got, _, err := hashFile(FilePath(dir, e, f)); err != nil || got != f.SHA256 {
			return false
		}
	}
	return true
}

// convert runs the entry's conversion on its installed source files and
// installs the result as its Converted file once size and sha256 match the
// manifest (via a temporary file, like every other file of the cache).
func (f *Fetcher) convert(dir string, e Entry) error {
	if e.Convert != ConvertTFJSGraphToONNX || e.Converted == nil {
		return fmt.Errorf("models: %s: unknown conversion %q", e.Name, e.Convert)
	}
	src := e.Files()
	modelJSON, err := os.ReadFile(FilePath(dir, e, src[0]))
	if err != nil {
		return fmt.Errorf("models: %s: %w", e.Name, err)
	}
	// The shards are the companions; model.json names them by file name.
	shards := map[string]string{}
	for _, c := range src[1:] {
		shards[path.Base(c.Path)] = FilePath(dir, e, c)
	}
	out, err := tfjs.Convert(modelJSON, func(name string) ([]byte, error) {
		p, ok := shards[path.Base(name)]
		if !ok {
			return nil, fmt.Errorf("weight shard %s is not a companion of the manifest entry", name)
		}
		return os.ReadFile(p)
	})
	if err != nil {
		return fmt.Errorf("models: %s: converting: %w", e.Name, err)
	}
	want := *e.Converted
	sum := sha256.Sum256(out)
	if got := hex.EncodeToString(sum[:]); got != want.SHA256 || int64(len(out)) != want.Size {
		return fmt.Errorf("models: %s: converted %s has sha256 %s (%d bytes), want %s (%d bytes): the converter (tfjs.Version %s) or its input changed; not installed",
			e.Name, want.Path, got, len(out), want.SHA256, want.Size, tfjs.Version)
	}
	final := FilePath(dir, e, want)
	tmp, err := os.CreateTemp(filepath.Dir(final), "."+want.Path+".partial-")
	if err != nil {
		return fmt.Errorf("models: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(out); err != nil {
		tmp.Close()
		return fmt.Errorf("models: %w", err)
	}
	if err := commit(dir, []target{{e, want}}, []*os.File{tmp}); err != nil {
		return err
	}
	f.progress("%s: converted %s to %s (%s, sha256 verified)", e.Name, e.Convert, final, HumanSize(want.Size))
	return nil
}

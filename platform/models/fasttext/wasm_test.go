package fasttext_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clipmesh/clipmesh/platform/models"
)

// checkJS runs fastText's own C++ (compiled to WebAssembly in the npm
// package the model comes from) on the texts in texts.json and prints the
// top 3 labels and probabilities of each as JSON.
const checkJS = `
import { getLIDModel } from './package/dist/main/node.mjs'
import fs from 'fs'
const m = await getLIDModel()
await m.load()
const out = []
for (const text of JSON.parse(fs.readFileSync('texts.json', 'utf8'))) {
  const p = m.model.predict(text, 3, 0.0)
  const r = []
  for (let i = 0; i < p.size(); i++) { const x = p.get(i); r.push([x[1].replace('__label__', ''), x[0]]) }
  out.push(r)
}
console.log(JSON.stringify(out))
`

// TestMatchesFastText compares Predict with fastText itself: the
// WebAssembly build in fasttext.wasm.js@1.0.0, the npm package lid-176 is
// taken from (its tarball, kept by `clipmesh models fetch` and checked
// against the manifest's sha256), run by Node.js on the short texts.
func TestMatchesFastText(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed (it comes with npm, which `make deps` installs)")
	}
	man, err := models.Load()
	if err != nil {
		t.Fatal(err)
	}
	e, _ := man.Entry("lid-176")
	dir, err := models.Dir("")
	if err != nil {
		t.Fatal(err)
	}
	tgz := filepath.Join(dir, models.DownloadsDir, "fasttext.wasm.js-1.0.0.tgz")
	work := t.TempDir()
	if err := extract(tgz, e.Source.TarballSHA256, work); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			t.Skipf("%v: the kept tarball was deleted; `clipmesh models fetch lid-176` after removing the lid-176 folder brings it back", err)
		}
		t.Fatal(err)
	}
	texts := shortTexts(t)
	b, _ := json.Marshal(texts)
	if err := os.WriteFile(filepath.Join(work, "texts.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "check.mjs"), []byte(checkJS), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), node, "check.mjs")
	cmd.Dir = work
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var want [][][2]any
	if err := json.Unmarshal(out, &want); err != nil || len(want) != len(texts) {
		t.Fatalf("node output (%d results for %d texts): %v", len(want), len(texts), err)
	}
	m := lid(t)
	worst := 0.0
	for i, text := range texts {
		got := m.Predict(text, 3, 0)
		if len(got) != len(want[i]) {
			t.Errorf("%q: %+v, fastText %v", text, got, want[i])
			continue
		}
		for k, w := range want[i] {
			if got[k].Label != w[0].(string) {
				t.Errorf("%q: %+v, fastText %v", text, got, want[i])
				break
			}
			worst = math.Max(worst, math.Abs(got[k].Probability-w[1].(float64)))
		}
	}
	t.Logf("%d texts: same top-3 labels as fastText, largest probability difference %.2g", len(texts), worst)
	if worst > 1e-5 {
		t.Errorf("probabilities differ from fastText's by up to %.2g", worst)
	}
}

// extract unpacks package/dist of the tarball at path into dir after
// checking its sha256.
func extract(path, sha string, dir string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != sha {
		return errors.New(path + " does not have the manifest's sha256")
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Clean(h.Name)
		if h.Typeflag != tar.TypeReg || !strings.HasPrefix(name, "package/dist/") || strings.Contains(name, "..") {
			continue
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
}

// shortTexts are platform/langid's short sentences, lower-cased.
func shortTexts(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("../../langid/testdata/short.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var texts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lang, text, ok := strings.Cut(sc.Text(), "\t")
		if ok && !strings.HasPrefix(lang, "#") {
			texts = append(texts, strings.ToLower(text))
		}
	}
	return texts
}

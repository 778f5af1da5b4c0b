// Package orttest finds the models that tests run for real and initializes
// ONNX Runtime for them. A model that is not installed fails the test (it
// never skips it): the message names `clipmesh models fetch`, which `make
// deps` runs.
package orttest

import (
	"testing"

	"github.com/clipmesh/clipmesh/platform/models"
	"github.com/clipmesh/clipmesh/platform/ort"
)

// Model returns the verified path of the manifest entry name in the models
// cache (models.Dir("")), failing the test if it is missing or corrupt.
func Model(t testing.TB, name string) string {
	t.Helper()
	dir, err := models.Dir("")
	if err != nil {
		t.Fatalf("models cache: %v", err)
	}
	p, err := models.Path(dir, name)
	if err != nil {
		t.Fatalf("%v\nTests run the real models: install them with `clipmesh models fetch` (part of `make deps`).", err)
	}
	return p
}

// Init initializes ONNX Runtime from the models cache (the entry
// "onnxruntime"), failing the test if the library is missing.
func Init(t testing.TB) {
	t.Helper()
	if err := ort.Init(Model(t, "onnxruntime")); err != nil {
		t.Fatal(err)
	}
}

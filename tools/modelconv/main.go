// Command modelconv converts a TensorFlow.js graph model to ONNX with the
// converter `clipmesh models fetch` runs (platform/models/tfjs), for
// inspecting a model or trying one before it goes into the manifest:
//
//	go run ./tools/modelconv path/to/model.json out.onnx
//
// The weight shards are read from beside model.json. The same directory
// holds tfjs_reference.py, the NumPy forward pass of the original TF.js
// graph that the equivalence test compares the converted model against.
package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"

	"github.com/clipmesh/clipmesh/platform/models/tfjs"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "modelconv:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: modelconv MODEL.json OUT.onnx")
	}
	js, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	dir := filepath.Dir(args[0])
	onnx, err := tfjs.Convert(js, func(name string) ([]byte, error) {
		return os.ReadFile(filepath.Join(dir, filepath.Base(name)))
	})
	if err != nil {
		return err
	}
	if err := os.WriteFile(args[1], onnx, 0o644); err != nil {
		return err
	}
	fmt.Printf("%s  %d bytes  sha256 %x\n", args[1], len(onnx), sha256.Sum256(onnx))
	return nil
}

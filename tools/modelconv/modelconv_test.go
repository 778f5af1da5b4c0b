package main

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/platform/ort/orttest"
)

// TestConvertedMatchesTFJS runs each converted model (installed by
// `clipmesh models fetch`) in ONNX Runtime and the original TF.js graph in
// tfjs_reference.py (NumPy, TensorFlow semantics) on the same random
// inputs, and bounds the largest difference of every output.
func TestConvertedMatchesTFJS(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the NumPy reference (a few seconds)")
	}
	if _, err := exec.LookPath("/usr/bin/python3"); err != nil {
		t.Fatal("needs /usr/bin/python3 with numpy (Debian python3-numpy)")
	}
	orttest.Init(t)
	cases := []struct {
		model   string
		shape   []int64
		lo, hi  float32
		outputs []string
		tol     float64 // largest absolute difference allowed
	}{
		// Probabilities.
		{"human-emotion", []int64{3, 64, 64, 1}, -1, 1, []string{"Identity:0"}, 1e-4},
		// Landmarks in pixels of a 64x64 input.
		{"human-iris", []int64{2, 64, 64, 3}, 0, 1, []string{"Identity:0"}, 2e-3},
		// Landmarks in pixels of a 192x192 input, presence, contours.
		{"human-facemesh", []int64{2, 192, 192, 3}, 0, 1, []string{"Identity:0", "Identity_1:0", "Identity_2:0"}, 5e-3},
		// Class scores and box-distance logits.
		{"human-nanodet", []int64{1, 3, 416, 416}, -2, 2, []string{"Identity:0", "Identity_1:0", "Identity_2:0", "Identity_3:0", "Identity_4:0", "Identity_5:0"}, 2e-3},
		// Age distribution, gender, and the 1024-d face descriptor.
		{"human-faceres", []int64{2, 224, 224, 3}, 0, 1, []string{"age_pred/Softmax:0", "gender_pred/Sigmoid:0", "global_pooling/Mean:0"}, 1e-4},
	}
	for _, tc := range cases {
		t.Run(tc.model, func(t *testing.T) {
			onnxPath := orttest.Model(t, tc.model)
			jsonPath := strings.TrimSuffix(onnxPath, ".onnx") + ".json"
			r := rand.New(rand.NewPCG(1, uint64(len(tc.model))))
			s, err := ort.NewSession(onnxPath, []string{"input_1:0"}, tc.outputs, ort.Options{IntraOpThreads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			in, err := s.Float32Input("input_1:0", tc.shape...)
			if err != nil {
				t.Fatal(err)
			}
			for i := range in {
				in[i] = tc.lo + (tc.hi-tc.lo)*r.Float32()
			}
			dir := t.TempDir()
			inFile, outFile := filepath.Join(dir, "in.npy"), filepath.Join(dir, "out.npz")
			if err := os.WriteFile(inFile, npy(in, tc.shape), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.CommandContext(t.Context(), "/usr/bin/python3", "tfjs_reference.py", jsonPath, inFile, outFile)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("reference: %v\n%s", err, out)
			}
			want, err := readNPZ(outFile)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Run(); err != nil {
				t.Fatal(err)
			}
			for _, name := range tc.outputs {
				got, _, err := s.Float32Output(name)
				if err != nil {
					t.Fatal(err)
				}
				w, ok := want[name]
				if !ok || len(w) != len(got) {
					t.Fatalf("%s: reference has %d values, ONNX Runtime %d", name, len(w), len(got))
				}
				var diff, scale float64
				for i := range got {
					diff = max(diff, math.Abs(float64(got[i]-w[i])))
					scale = max(scale, math.Abs(float64(w[i])))
				}
				t.Logf("%s: %d values, max |ref| %.4g, max |onnx - ref| %.3g", name, len(got), scale, diff)
				if diff > tc.tol || math.IsNaN(diff) {
					t.Errorf("%s: max difference %.3g > %.3g", name, diff, tc.tol)
				}
				if scale == 0 {
					t.Errorf("%s: reference output is all zero: the comparison proves nothing", name)
				}
			}
		})
	}
}

// npy encodes a float32 array in NumPy's .npy format (version 1.0).
func npy(data []float32, shape []int64) []byte {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = strconv.FormatInt(d, 10)
	}
	header := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%s,), }", strings.Join(dims, ", "))
	pad := 64 - (10+len(header)+1)%64
	header += strings.Repeat(" ", pad%64) + "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	_ = binary.Write(&b, binary.LittleEndian, uint16(len(header)))
	b.WriteString(header)
	_ = binary.Write(&b, binary.LittleEndian, data)
	return b.Bytes()
}

var descrRE = regexp.MustCompile(`'descr':\s*'<f4'`)

// readNPZ reads the float32 arrays of an .npz file, by array name.
func readNPZ(path string) (map[string][]float32, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	out := map[string][]float32{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
		if len(b) < 10 || string(b[:6]) != "\x93NUMPY" {
			return nil, fmt.Errorf("%s: not a .npy", f.Name)
		}
		hl := int(binary.LittleEndian.Uint16(b[8:10]))
		if b[6] != 1 || !descrRE.Match(b[10:10+hl]) {
			return nil, fmt.Errorf("%s: want a version 1 little-endian float32 array: %s", f.Name, b[10:10+hl])
		}
		data := b[10+hl:]
		v := make([]float32, len(data)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
		out[strings.TrimSuffix(f.Name, ".npy")] = v
	}
	return out, nil
}

package tfjs_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/clipmesh/clipmesh/platform/models/tfjs"
	"github.com/clipmesh/clipmesh/platform/ort"
	"github.com/clipmesh/clipmesh/platform/ort/orttest"
)

// tinyModel is a TF.js graph: a 3x3 SAME convolution with stride 2 of a
// 1-channel NHWC image into 2 channels, with bias and Relu, then a 2x2
// VALID max pool. The filter and bias are float16-quantised.
func tinyModel(op string) ([]byte, []byte) {
	js := fmt.Sprintf(`{"format":"graph-model","generatedBy":"test","modelTopology":{"node":[
 {"name":"x","op":"Placeholder","attr":{"shape":{"shape":{"dim":[{"size":"-1"},{"size":"5"},{"size":"5"},{"size":"1"}]}},"dtype":{"type":"DT_FLOAT"}}},
 {"name":"w","op":"Const"},{"name":"b","op":"Const"},
 {"name":"conv","op":"%s","input":["x","w","b"],"attr":{"fused_ops":{"list":{"s":["Qmlhc0FkZA==","UmVsdQ=="]}},"padding":{"s":"U0FNRQ=="},"strides":{"list":{"i":["1","2","2","1"]}},"data_format":{"s":"TkhXQw=="}}},
 {"name":"pool","op":"MaxPool","input":["conv"],"attr":{"ksize":{"list":{"i":["1","2","2","1"]}},"strides":{"list":{"i":["1","1","1","1"]}},"padding":{"s":"VkFMSUQ="}}},
 {"name":"Identity","op":"Identity","input":["pool"]}]},
 "weightsManifest":[{"paths":["t.bin"],"weights":[
 {"name":"w","shape":[3,3,1,2],"dtype":"float32","quantization":{"dtype":"float16","original_dtype":"float32"}},
 {"name":"b","shape":[2],"dtype":"float32"}]}]}`, op)
	var bin bytes.Buffer
	for i := range 9 { // HWIO: channel 0 weights 1, channel 1 weights -i/8
		binary.Write(&bin, binary.LittleEndian, half(1))
		binary.Write(&bin, binary.LittleEndian, half(-float32(i)/8))
	}
	binary.Write(&bin, binary.LittleEndian, []float32{0.5, 3})
	return []byte(js), bin.Bytes()
}

// half encodes the few exact values the test uses as binary16.
func half(f float32) uint16 {
	if f == 0 {
		return 0
	}
	bits := math.Float32bits(f)
	sign := uint16(bits>>16) & 0x8000
	exp := int(bits>>23&0xff) - 127 + 15
	return sign | uint16(exp)<<10 | uint16(bits>>13&0x3ff)
}

func TestTinyModel(t *testing.T) {
	js, bin := tinyModel("_FusedConv2D")
	read := func(name string) ([]byte, error) {
		if name != "t.bin" {
			return nil, fmt.Errorf("unexpected shard %s", name)
		}
		return bin, nil
	}
	a, err := tfjs.Convert(js, read)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tfjs.Convert(js, read)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two conversions of the same model differ")
	}
	orttest.Init(t)
	path := t.TempDir() + "/tiny.onnx"
	if err := os.WriteFile(path, a, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := ort.NewSession(path, []string{"x:0"}, []string{"Identity:0"}, ort.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in, err := s.Float32Input("x:0", 1, 5, 5, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		in[i] = float32(i) // x[y][x] = 5y + x
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	got, shape, err := s.Float32Output("Identity:0")
	if err != nil {
		t.Fatal(err)
	}
	want, wshape := reference(in)
	if fmt.Sprint(shape) != fmt.Sprint(wshape) {
		t.Fatalf("shape %v, want %v", shape, wshape)
	}
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-4 {
			t.Fatalf("output %v, want %v", got, want)
		}
	}
}

// reference computes the tiny model by hand, with TF's SAME padding (5 ->
// 3 with stride 2 pads 1 before and 1 after).
func reference(in []float32) ([]float32, []int64) {
	conv := make([]float32, 3*3*2)
	for oy := range 3 {
		for ox := range 3 {
			for c := range 2 {
				sum := []float32{0.5, 3}[c]
				for ky := range 3 {
					for kx := range 3 {
						y, x := oy*2+ky-1, ox*2+kx-1
						if y < 0 || x < 0 || y >= 5 || x >= 5 {
							continue
						}
						w := float32(1)
						if c == 1 {
							w = -float32(ky*3+kx) / 8
						}
						sum += in[y*5+x] * w
					}
				}
				conv[(oy*3+ox)*2+c] = max(0, sum)
			}
		}
	}
	out := make([]float32, 2*2*2)
	for oy := range 2 {
		for ox := range 2 {
			for c := range 2 {
				m := float32(math.Inf(-1))
				for dy := range 2 {
					for dx := range 2 {
						m = max(m, conv[((oy+dy)*3+ox+dx)*2+c])
					}
				}
				out[(oy*2+ox)*2+c] = m
			}
		}
	}
	return out, []int64{1, 2, 2, 2}
}

func TestUnsupportedOp(t *testing.T) {
	js, bin := tinyModel("Conv3D")
	_, err := tfjs.Convert(js, func(string) ([]byte, error) { return bin, nil })
	if err == nil || !strings.Contains(err.Error(), "Conv3D") || !strings.Contains(err.Error(), "conv") {
		t.Errorf("unsupported op: %v, want an error naming the node and op", err)
	}
}

func TestShortWeights(t *testing.T) {
	js, bin := tinyModel("_FusedConv2D")
	_, err := tfjs.Convert(js, func(string) ([]byte, error) { return bin[:10], nil })
	if err == nil || !strings.Contains(err.Error(), "weight") {
		t.Errorf("truncated shard: %v", err)
	}
}

package tfjs

import (
	"encoding/binary"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// The few ONNX protobuf messages the converter writes (field numbers from
// onnx/onnx.proto), encoded with protowire: no generated ONNX package is
// needed, and the bytes depend only on this code, so a conversion is
// reproducible byte for byte and its sha256 can be pinned in the manifest.

// ONNX TensorProto data types.
const (
	dtFloat = 1
	dtInt32 = 6
	dtInt64 = 7
)

// ONNX AttributeProto types.
const (
	attrFloat  = 1
	attrInt    = 2
	attrString = 3
	attrInts   = 7
)

type tensor struct {
	name  string
	dtype int
	dims  []int64
	raw   []byte // little-endian values
}

func floatTensor(name string, dims []int64, v []float32) tensor {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return tensor{name: name, dtype: dtFloat, dims: dims, raw: b}
}

func int64Tensor(name string, dims []int64, v []int64) tensor {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	return tensor{name: name, dtype: dtInt64, dims: dims, raw: b}
}

func int32Tensor(name string, dims []int64, v []int32) tensor {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
	}
	return tensor{name: name, dtype: dtInt32, dims: dims, raw: b}
}

type attr struct {
	name string
	typ  int
	f    float32
	i    int64
	s    string
	ints []int64
}

func aInt(name string, v int64) attr     { return attr{name: name, typ: attrInt, i: v} }
func aInts(name string, v ...int64) attr { return attr{name: name, typ: attrInts, ints: v} }
func aFloat(name string, v float32) attr { return attr{name: name, typ: attrFloat, f: v} }
func aString(name string, v string) attr { return attr{name: name, typ: attrString, s: v} }

type node struct {
	op      string
	name    string
	inputs  []string
	outputs []string
	attrs   []attr
}

// valueInfo is a graph input or output: a float tensor whose dims are
// fixed sizes, or -1 for a free dimension (named by param).
type valueInfo struct {
	name  string
	dtype int
	dims  []int64 // nil: shape unknown
	param string  // the name of free dimensions
}

type graph struct {
	name    string
	nodes   []node
	inits   []tensor
	inputs  []valueInfo
	outputs []valueInfo
}

func appendMsg(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func (t tensor) marshal() []byte {
	var b []byte
	for _, d := range t.dims {
		b = appendVarint(b, 1, uint64(d))
	}
	b = appendVarint(b, 2, uint64(t.dtype))
	b = appendString(b, 8, t.name)
	return appendMsg(b, 9, t.raw)
}

func (a attr) marshal() []byte {
	b := appendString(nil, 1, a.name)
	switch a.typ {
	case attrFloat:
		b = protowire.AppendTag(b, 2, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.f))
	case attrInt:
		b = appendVarint(b, 3, uint64(a.i))
	case attrString:
		b = appendString(b, 4, a.s)
	case attrInts:
		for _, v := range a.ints {
			b = appendVarint(b, 8, uint64(v))
		}
	}
	return appendVarint(b, 20, uint64(a.typ))
}

func (n node) marshal() []byte {
	var b []byte
	for _, in := range n.inputs {
		b = appendString(b, 1, in)
	}
	for _, out := range n.outputs {
		b = appendString(b, 2, out)
	}
	b = appendString(b, 3, n.name)
	b = appendString(b, 4, n.op)
	for _, a := range n.attrs {
		b = appendMsg(b, 5, a.marshal())
	}
	return b
}

func (v valueInfo) marshal() []byte {
	var tt []byte // TypeProto.Tensor
	tt = appendVarint(tt, 1, uint64(v.dtype))
	if v.dims != nil {
		var shape []byte
		for _, d := range v.dims {
			var dim []byte
			if d < 0 {
				dim = appendString(dim, 2, v.param)
			} else {
				dim = appendVarint(dim, 1, uint64(d))
			}
			shape = appendMsg(shape, 1, dim)
		}
		tt = appendMsg(tt, 2, shape)
	}
	typ := appendMsg(nil, 1, tt)
	b := appendString(nil, 1, v.name)
	return appendMsg(b, 2, typ)
}

func (g graph) marshal() []byte {
	var b []byte
	for _, n := range g.nodes {
		b = appendMsg(b, 1, n.marshal())
	}
	b = appendString(b, 2, g.name)
	for _, t := range g.inits {
		b = appendMsg(b, 5, t.marshal())
	}
	for _, v := range g.inputs {
		b = appendMsg(b, 11, v.marshal())
	}
	for _, v := range g.outputs {
		b = appendMsg(b, 12, v.marshal())
	}
	return b
}

// marshalModel encodes a ModelProto holding g, for the default ONNX domain
// at opset, with IR version ir.
func marshalModel(g graph, ir, opset int64, producer, version, doc string) []byte {
	b := appendVarint(nil, 1, uint64(ir))
	b = appendString(b, 2, producer)
	b = appendString(b, 3, version)
	b = appendString(b, 6, doc)
	b = appendMsg(b, 7, g.marshal())
	op := appendString(nil, 1, "")
	op = appendVarint(op, 2, uint64(opset))
	return appendMsg(b, 8, op)
}

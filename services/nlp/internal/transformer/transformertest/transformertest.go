// Package transformertest generates a small transformer-shaped ONNX graph
// for the tests of the ONNX plug-in path.
package transformertest

import (
	"os/exec"
	"testing"
)

// genGraph is run by Debian's python3 (with python3-onnx and numpy): it
// writes a small BERT-shaped graph (token embedding lookup, masked states,
// mean pooling, a linear head), its vocab.txt, and numpy's outputs for one
// input, so the Go path is checked against an independent computation.
const genGraph = `
import sys, json
import numpy as np
from onnx import helper, TensorProto, numpy_helper, save, checker
out = sys.argv[1]
vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "dog", "cat", "pet", "car", "engine", "drive", "##s", "my", "the", "is", "loud", "sleeping"]
open(out + "/vocab.txt", "w").write("\n".join(vocab) + "\n")
V, H = len(vocab), 8
rng = np.random.default_rng(7)
E = rng.normal(0, 0.1, (V, H)).astype(np.float32)
for w in ["dog", "cat", "pet", "sleeping"]:
    E[vocab.index(w), 0] += 1
for w in ["car", "engine", "drive", "loud"]:
    E[vocab.index(w), 1] += 1
W = np.zeros((H, 2), np.float32); W[0, 0] = 4; W[1, 1] = 4
nodes = [
    helper.make_node("Gather", ["E", "input_ids"], ["states"]),
    helper.make_node("Cast", ["attention_mask"], ["maskf"], to=TensorProto.FLOAT),
    helper.make_node("Unsqueeze", ["maskf"], ["mask3"], axes=[2]),
    helper.make_node("Mul", ["states", "mask3"], ["last_hidden_state"]),
    helper.make_node("ReduceMean", ["last_hidden_state"], ["pooled"], axes=[1], keepdims=0),
    helper.make_node("MatMul", ["pooled", "W"], ["logits"]),
]
graph = helper.make_graph(nodes, "tiny-bert",
    [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, "T"]),
     helper.make_tensor_value_info("attention_mask", TensorProto.INT64, [1, "T"])],
    [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, [1, "T", H]),
     helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2])],
    [numpy_helper.from_array(E, "E"), numpy_helper.from_array(W, "W")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 12)])
model.ir_version = 7
checker.check_model(model)
save(model, out + "/model.onnx")
ids = [2, 11, 4, 13, 15, 3]
pooled = E[ids].mean(axis=0)
logits = pooled @ W
json.dump({"ids": ids, "embedding": (pooled / np.linalg.norm(pooled)).tolist(),
           "probs": (np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()).tolist()},
          open(out + "/expected.json", "w"))
`

// Graph generates the test graph into a temporary directory and returns
// it: model.onnx (inputs input_ids and attention_mask, outputs
// last_hidden_state [1,T,8] and logits [1,2] for labels animals, vehicles),
// vocab.txt and expected.json (numpy's embedding and probabilities for
// "my dog is sleeping").
func Graph(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("/usr/bin/python3", "-c", genGraph, dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generate the test graph (needs Debian's python3-onnx): %v\n%s", err, out)
	}
	return dir
}

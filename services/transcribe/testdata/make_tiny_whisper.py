#!/usr/bin/python3
"""Writes a tiny Whisper-shaped ONNX export for the whisper package's tests.

The layout is the one Hugging Face Optimum writes for
automatic-speech-recognition-with-past: encoder_model.onnx
(input_features [1, n_mels, 3000] -> last_hidden_state [1, 1500, d]) and
decoder_model_merged.onnx (input_ids, encoder_hidden_states,
past_key_values.{i}.{decoder,encoder}.{key,value}, use_cache_branch ->
logits, present.{i}.{decoder,encoder}.{key,value}), with an If node on
use_cache_branch like the real merged decoder. Its weights are not learned:
the next token is a fixed function of the last input token (a transition
table: a scripted "speech"), plus a bias from the mean of the encoder's
output, so loud audio says something else than silence. The decoder's KV
cache grows by the new tokens when use_cache_branch is true and is rebuilt
from the new tokens when it is false, as in the real model.

Usage: make_tiny_whisper.py OUT_DIR N_MELS TABLE.json
TABLE.json: {"vocab": V, "next": {"<token id>": <next id>, ...},
             "loud": {"<token id>": <next id when the audio is loud>},
             "default": <id>}
Needs Debian's python3-onnx and python3-numpy (run with /usr/bin/python3).
"""
import json
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out, n_mels, table_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
table = json.load(open(table_path))
V = int(table["vocab"])
D, H, L = 8, 2, 2
DH = D // H
OPSET = [helper.make_opsetid("", 13)]

# Encoder: every other mel frame, projected to d_model by a fixed matrix.
w_enc = np.full((n_mels, D), 1.0 / n_mels, dtype=np.float32)
enc_nodes = [
    helper.make_node("Slice", ["input_features", "s_start", "s_end", "s_axes", "s_steps"], ["half"]),  # [1, n_mels, 1500]
    helper.make_node("Transpose", ["half"], ["half_t"], perm=[0, 2, 1]),  # [1, 1500, n_mels]
    helper.make_node("MatMul", ["half_t", "w_enc"], ["last_hidden_state"]),
]
enc_init = [
    numpy_helper.from_array(w_enc, "w_enc"),
    numpy_helper.from_array(np.array([0], np.int64), "s_start"),
    numpy_helper.from_array(np.array([3000], np.int64), "s_end"),
    numpy_helper.from_array(np.array([2], np.int64), "s_axes"),
    numpy_helper.from_array(np.array([2], np.int64), "s_steps"),
]
enc = helper.make_graph(
    enc_nodes, "encoder",
    [helper.make_tensor_value_info("input_features", TensorProto.FLOAT, [1, n_mels, 3000])],
    [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, [1, 1500, D])],
    enc_init)
onnx.save(helper.make_model(enc, opset_imports=OPSET), out + "/encoder_model.onnx")

# Decoder: logits[t] = quiet[ids[t]] + loudness * (loud[ids[t]] - quiet[ids[t]]),
# loudness = clip(mean(encoder_hidden_states) + 1.5, 0, 1) (silence is -1.5).
quiet = np.full((V, V), -10.0, np.float32)
loud = np.full((V, V), -10.0, np.float32)
for i in range(V):
    quiet[i, int(table["default"])] = 10.0
    loud[i, int(table["default"])] = 10.0
for k, v in table["next"].items():
    quiet[int(k)] = -10.0
    quiet[int(k), int(v)] = 10.0
    loud[int(k)] = quiet[int(k)]
for k, v in table.get("loud", {}).items():
    loud[int(k)] = -10.0
    loud[int(k), int(v)] = 10.0
emb = np.arange(V * D, dtype=np.float32).reshape(V, D) / (V * D)

nodes = [
    helper.make_node("Gather", ["quiet", "input_ids"], ["lq"], axis=0),  # [1, T, V]
    helper.make_node("Gather", ["loud", "input_ids"], ["ll"], axis=0),
    helper.make_node("ReduceMean", ["encoder_hidden_states"], ["em"], keepdims=0),
    helper.make_node("Add", ["em", "c15"], ["em2"]),
    helper.make_node("Clip", ["em2", "c0", "c1"], ["loudness"]),
    helper.make_node("Sub", ["ll", "lq"], ["ld"]),
    helper.make_node("Mul", ["ld", "loudness"], ["ldw"]),
    helper.make_node("Add", ["lq", "ldw"], ["logits"]),
    # New keys/values: token embeddings as [1, H, T, DH].
    helper.make_node("Gather", ["emb", "input_ids"], ["e"], axis=0),  # [1, T, D]
    helper.make_node("Reshape", ["e", "kv_shape"], ["e4"]),  # [1, T, H, DH]
    helper.make_node("Transpose", ["e4"], ["new_kv"], perm=[0, 2, 1, 3]),
    helper.make_node("Reshape", ["encoder_hidden_states", "enc_kv_shape"], ["ee4"]),
    helper.make_node("Transpose", ["ee4"], ["enc_kv"], perm=[0, 2, 1, 3]),  # [1, H, 1500, DH]
]
inputs = [
    helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, "T"]),
    helper.make_tensor_value_info("encoder_hidden_states", TensorProto.FLOAT, [1, 1500, D]),
]
outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, "T", V])]
then_out, else_out, then_nodes, else_nodes = [], [], [], []
for i in range(L):
    for kind in ("key", "value"):
        pd, pe = f"past_key_values.{i}.decoder.{kind}", f"past_key_values.{i}.encoder.{kind}"
        od, oe = f"present.{i}.decoder.{kind}", f"present.{i}.encoder.{kind}"
        inputs += [helper.make_tensor_value_info(pd, TensorProto.FLOAT, [1, H, "P", DH]),
                   helper.make_tensor_value_info(pe, TensorProto.FLOAT, [1, H, "E", DH])]
        outputs += [helper.make_tensor_value_info(od, TensorProto.FLOAT, [1, H, "P+T", DH]),
                    helper.make_tensor_value_info(oe, TensorProto.FLOAT, [1, H, 1500, DH])]
        then_nodes += [helper.make_node("Concat", [pd, "new_kv"], ["t_" + od], axis=2),
                       helper.make_node("Identity", [pe], ["t_" + oe])]
        else_nodes += [helper.make_node("Identity", ["new_kv"], ["e_" + od]),
                       helper.make_node("Identity", ["enc_kv"], ["e_" + oe])]
        then_out += [helper.make_tensor_value_info("t_" + od, TensorProto.FLOAT, None),
                     helper.make_tensor_value_info("t_" + oe, TensorProto.FLOAT, None)]
        else_out += [helper.make_tensor_value_info("e_" + od, TensorProto.FLOAT, None),
                     helper.make_tensor_value_info("e_" + oe, TensorProto.FLOAT, None)]
inputs.append(helper.make_tensor_value_info("use_cache_branch", TensorProto.BOOL, [1]))
then_g = helper.make_graph(then_nodes, "with_past", [], then_out)
else_g = helper.make_graph(else_nodes, "without_past", [], else_out)
presents = [o.name for o in outputs[1:]]
nodes.append(helper.make_node("Squeeze", ["use_cache_branch", "ax0"], ["cond"]))
nodes.append(helper.make_node("If", ["cond"], presents, then_branch=then_g, else_branch=else_g))
init = [
    numpy_helper.from_array(quiet, "quiet"), numpy_helper.from_array(loud, "loud"), numpy_helper.from_array(emb, "emb"),
    numpy_helper.from_array(np.array(1.5, np.float32), "c15"), numpy_helper.from_array(np.array(0, np.float32), "c0"),
    numpy_helper.from_array(np.array(1, np.float32), "c1"),
    numpy_helper.from_array(np.array([1, -1, H, DH], np.int64), "kv_shape"),
    numpy_helper.from_array(np.array([1, 1500, H, DH], np.int64), "enc_kv_shape"),
    numpy_helper.from_array(np.array([0], np.int64), "ax0"),
]
dec = helper.make_graph(nodes, "decoder_merged", inputs, outputs, init)
m = helper.make_model(dec, opset_imports=OPSET)
onnx.checker.check_model(m)
onnx.save(m, out + "/decoder_model_merged.onnx")
json.dump({"num_mel_bins": n_mels, "decoder_layers": L, "decoder_attention_heads": H, "d_model": D,
           "vocab_size": V, "max_target_positions": 448}, open(out + "/config.json", "w"))

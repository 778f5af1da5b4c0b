#!/usr/bin/python3
"""NumPy forward pass of a TensorFlow.js graph model, for checking the ONNX
converter (platform/models/tfjs) against the original's math.

    /usr/bin/python3 tfjs_reference.py MODEL.json INPUT.npy OUT.npz

It interprets model.json node by node with TensorFlow's own semantics
(NHWC, HWIO filters, SAME padding with the odd pixel at the end,
half-pixel bilinear resize), written independently of the Go converter,
and saves every output of the graph (those of its signature, else the
Identity nodes nothing reads) to OUT.npz under its tensor name
("Identity:0"). Needs only numpy (Debian's
python3-numpy under /usr/bin/python3).
"""
import base64
import json
import os
import sys

import numpy as np


def load(path):
    with open(path) as f:
        model = json.load(f)
    base = os.path.dirname(path)
    consts = {}
    for group in model["weightsManifest"]:
        buf = b"".join(open(os.path.join(base, os.path.basename(p)), "rb").read() for p in group["paths"])
        off = 0
        for w in group["weights"]:
            n = int(np.prod(w["shape"])) if w["shape"] else 1
            q = w.get("quantization")
            if q and q["dtype"] == "float16":
                a = np.frombuffer(buf, np.float16, n, off).astype(np.float32)
                off += 2 * n
            elif q and q["dtype"] in ("uint8", "uint16"):
                dt = np.uint8 if q["dtype"] == "uint8" else np.uint16
                a = np.frombuffer(buf, dt, n, off).astype(np.float32) * q["scale"] + q["min"]
                off += np.dtype(dt).itemsize * n
            else:
                dt = {"float32": np.float32, "int32": np.int32}[w["dtype"]]
                a = np.frombuffer(buf, dt, n, off)
                off += 4 * n
            consts[w["name"]] = a.reshape(w["shape"])
    return model, consts


def s(node, name):
    return base64.b64decode(node["attr"][name]["s"]).decode() if name in node.get("attr", {}) else ""


def ints(node, name):
    a = node.get("attr", {}).get(name, {}).get("list", {}).get("i", [])
    return [int(v) for v in a]


def pad_amounts(size, k, stride, dil, padding):
    """TF's SAME/VALID padding (before, after) and output size on one axis."""
    ek = (k - 1) * dil + 1
    if padding == "VALID":
        return 0, 0, (size - ek) // stride + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + ek - size, 0)
    return total // 2, total - total // 2, out


def conv2d(x, f, strides, dil, padding, depthwise=False, pad_value=0.0):
    """x NHWC, f HWIO (or H W C mult for depthwise)."""
    n, h, w, c = x.shape
    kh, kw = f.shape[:2]
    sh, sw = strides
    dh, dw = dil
    pt, pb, oh = pad_amounts(h, kh, sh, dh, padding)
    pl, pr, ow = pad_amounts(w, kw, sw, dw, padding)
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=pad_value)
    # patches[n, oh, ow, kh, kw, c]
    patches = np.empty((n, oh, ow, kh, kw, c), np.float32)
    for i in range(kh):
        for j in range(kw):
            patches[:, :, :, i, j, :] = xp[:, i * dh: i * dh + sh * (oh - 1) + 1: sh, j * dw: j * dw + sw * (ow - 1) + 1: sw, :]
    if depthwise:
        # f [kh, kw, c, mult] -> out channel c*mult + m
        out = np.einsum("nyxijc,ijcm->nyxcm", patches, f)
        return out.reshape(n, oh, ow, -1)
    return np.einsum("nyxijc,ijco->nyxo", patches, f)


def maxpool(x, k, strides, padding, avg=False):
    n, h, w, c = x.shape
    pt, pb, oh = pad_amounts(h, k[0], strides[0], 1, padding)
    pl, pr, ow = pad_amounts(w, k[1], strides[1], 1, padding)
    fill = 0.0 if avg else -np.inf
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=fill)
    windows = [xp[:, i: i + strides[0] * (oh - 1) + 1: strides[0], j: j + strides[1] * (ow - 1) + 1: strides[1], :]
               for i in range(k[0]) for j in range(k[1])]
    if avg:
        return np.mean(windows, axis=0)
    return np.max(windows, axis=0)


def resize_bilinear(x, size, align_corners, half_pixel):
    n, h, w, c = x.shape
    oh, ow = size

    def coords(o, i):
        d = np.arange(o, dtype=np.float64)
        if align_corners and o > 1:
            src = d * (i - 1) / (o - 1)
        elif half_pixel:
            src = (d + 0.5) * (i / o) - 0.5
        else:
            src = d * (i / o)
        lo = np.floor(src)
        frac = src - lo
        lo_c = np.clip(lo, 0, i - 1).astype(int)
        hi_c = np.clip(lo + 1, 0, i - 1).astype(int)
        return lo_c, hi_c, frac.astype(np.float32)

    y0, y1, fy = coords(oh, h)
    x0, x1, fx = coords(ow, w)
    top = x[:, y0][:, :, x0] * (1 - fx)[None, None, :, None] + x[:, y0][:, :, x1] * fx[None, None, :, None]
    bot = x[:, y1][:, :, x0] * (1 - fx)[None, None, :, None] + x[:, y1][:, :, x1] * fx[None, None, :, None]
    return top * (1 - fy)[None, :, None, None] + bot * fy[None, :, None, None]


def prelu(x, a):
    return np.where(x >= 0, x, x * a)


def run(model, consts, feed):
    nodes = {n["name"]: n for n in model["modelTopology"]["node"]}
    vals = {}

    def get(ref):
        name, _, idx = ref.partition(":")
        idx = int(idx or 0)
        if (name, idx) not in vals:
            evaluate(nodes[name])
        return vals[(name, idx)]

    def evaluate(n):
        op, name = n["op"], n["name"]
        ins = [i for i in n.get("input", []) if not i.startswith("^")]
        a = n.get("attr", {})
        if op == "Const":
            vals[(name, 0)] = consts[name]
            return
        if op == "Placeholder":
            vals[(name, 0)] = feed
            return
        x = [get(i) for i in ins]
        if op in ("Conv2D", "_FusedConv2D", "DepthwiseConv2dNative"):
            st, dl = ints(n, "strides") or [1, 1, 1, 1], ints(n, "dilations") or [1, 1, 1, 1]
            y = conv2d(x[0].astype(np.float32), x[1].astype(np.float32), st[1:3], dl[1:3], s(n, "padding"),
                       depthwise=op.startswith("Depthwise"))
            fused = [base64.b64decode(v).decode() for v in a.get("fused_ops", {}).get("list", {}).get("s", [])]
            for f in fused:
                if f == "BiasAdd":
                    y = y + x[2]
                elif f == "Relu":
                    y = np.maximum(y, 0)
                elif f == "Relu6":
                    y = np.clip(y, 0, 6)
                elif f == "Prelu":
                    y = prelu(y, x[3])
                elif f == "LeakyRelu":
                    y = np.where(y >= 0, y, y * a.get("leakyrelu_alpha", {}).get("f", 0.2))
                else:
                    raise ValueError("fused op " + f)
            out = [y]
        elif op in ("MaxPool", "AvgPool"):
            out = [maxpool(x[0], ints(n, "ksize")[1:3], ints(n, "strides")[1:3], s(n, "padding"), op == "AvgPool")]
        elif op in ("MatMul", "_FusedMatMul"):
            a_, b_ = x[0], x[1]
            if a.get("transpose_a", {}).get("b", False):
                a_ = a_.T
            if a.get("transpose_b", {}).get("b", False):
                b_ = b_.T
            y = a_ @ b_
            fused = [base64.b64decode(v).decode() for v in a.get("fused_ops", {}).get("list", {}).get("s", [])]
            for f in fused:
                if f == "BiasAdd":
                    y = y + x[2]
                elif f == "Relu":
                    y = np.maximum(y, 0)
                elif f == "Sigmoid":
                    y = 1 / (1 + np.exp(-y))
                else:
                    raise ValueError("fused op " + f)
            out = [y]
        elif op == "Minimum":
            out = [np.minimum(x[0], x[1])]
        elif op == "Maximum":
            out = [np.maximum(x[0], x[1])]
        elif op in ("Add", "AddV2"):
            out = [x[0] + x[1]]
        elif op == "Mul":
            out = [x[0] * x[1]]
        elif op == "Relu":
            out = [np.maximum(x[0], 0)]
        elif op == "Sigmoid":
            out = [1 / (1 + np.exp(-x[0]))]
        elif op == "LeakyRelu":
            out = [np.where(x[0] >= 0, x[0], x[0] * a.get("alpha", {}).get("f", 0.2))]
        elif op == "Prelu":
            out = [prelu(x[0], x[1])]
        elif op == "Softmax":
            e = np.exp(x[0] - x[0].max(axis=-1, keepdims=True))
            out = [e / e.sum(axis=-1, keepdims=True)]
        elif op == "Mean":
            axes = tuple(np.atleast_1d(x[1]).tolist())
            out = [x[0].mean(axis=axes, keepdims=a.get("keep_dims", {}).get("b", False))]
        elif op in ("Pad", "PadV2"):
            value = float(x[2]) if op == "PadV2" else 0.0
            out = [np.pad(x[0], x[1].tolist(), constant_values=value)]
        elif op == "ConcatV2":
            out = [np.concatenate(x[:-1], axis=int(x[-1]))]
        elif op == "Reshape":
            out = [x[0].reshape(x[1].tolist())]
        elif op == "Transpose":
            out = [np.transpose(x[0], x[1].tolist())]
        elif op == "SplitV":
            cuts = np.cumsum(x[1])[:-1]
            out = np.split(x[0], cuts, axis=int(x[2]))
        elif op == "ResizeBilinear":
            out = [resize_bilinear(x[0], x[1].tolist(), a.get("align_corners", {}).get("b", False),
                                   a.get("half_pixel_centers", {}).get("b", False))]
        elif op == "SparseToDense":
            dense = np.full(x[1].tolist(), x[3], dtype=x[2].dtype if x[2].size else x[3].dtype)
            for k, idx in enumerate(np.atleast_2d(x[0]).reshape(-1, max(1, len(x[1])))):
                if x[0].size:
                    dense[tuple(idx)] = x[2][k] if x[2].ndim else x[2]
            out = [dense]
        elif op == "Identity":
            out = [x[0]]
        else:
            raise ValueError("op " + op)
        for k, v in enumerate(out):
            vals[(name, k)] = np.asarray(v)

    sig = model.get("signature") or (model.get("userDefinedMetadata") or {}).get("signature") or {}
    outputs = [o["name"] if ":" in o["name"] else o["name"] + ":0" for o in sig.get("outputs", {}).values()]
    if not outputs:
        used = {i.lstrip("^").partition(":")[0] for n in nodes.values() for i in n.get("input", [])}
        outputs = [n["name"] + ":0" for n in model["modelTopology"]["node"] if n["op"] == "Identity" and n["name"] not in used]
    return {o: get(o).astype(np.float32) for o in outputs}


def main():
    model, consts = load(sys.argv[1])
    feed = np.load(sys.argv[2]).astype(np.float32)
    np.savez(sys.argv[3], **run(model, consts, feed))


if __name__ == "__main__":
    main()

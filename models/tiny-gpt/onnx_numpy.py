"""A minimal numpy interpreter for the standard ONNX operators used by tiny-gpt's model.onnx.

Debian's python3-onnx (1.12) has no onnx.reference and there is no onnxruntime wheel here,
so train.py uses this to execute the exported graph and compare it with torch. It follows
the ONNX operator specs for the cases that occur in this graph and raises on anything else.
"""
import math

import numpy as np
from onnx import numpy_helper

_erf = np.vectorize(math.erf, otypes=[np.float64])

ONNX_TO_NP = {1: np.float32, 2: np.uint8, 3: np.int8, 5: np.int16, 6: np.int32, 7: np.int64,
              9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64}


def _attrs(node):
    out = {}
    for a in node.attribute:
        if a.type == a.INT:
            out[a.name] = a.i
        elif a.type == a.FLOAT:
            out[a.name] = a.f
        elif a.type == a.INTS:
            out[a.name] = list(a.ints)
        elif a.type == a.FLOATS:
            out[a.name] = list(a.floats)
        elif a.type == a.TENSOR:
            out[a.name] = numpy_helper.to_array(a.t)
        elif a.type == a.STRING:
            out[a.name] = a.s.decode()
        else:
            raise NotImplementedError("attribute type %s" % a.type)
    return out


def _layer_norm(x, scale, bias=None, axis=-1, epsilon=1e-5):
    axis = axis if axis >= 0 else x.ndim + axis
    axes = tuple(range(axis, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + epsilon) * scale
    if bias is not None:
        y = y + bias
    return y.astype(x.dtype)


def _softmax(x, axis=-1):
    m = x.max(axis=axis, keepdims=True)
    e = np.exp(x - m)
    return (e / e.sum(axis=axis, keepdims=True)).astype(x.dtype)


def _run_node(op, ins, at):
    if op == "Identity":
        return [ins[0]]
    if op == "Constant":
        return [at["value"]]
    if op == "Add":
        return [ins[0] + ins[1]]
    if op == "Sub":
        return [ins[0] - ins[1]]
    if op == "Mul":
        return [ins[0] * ins[1]]
    if op == "Div":
        if np.issubdtype(ins[0].dtype, np.integer):
            return [(ins[0] // ins[1]).astype(ins[0].dtype)]
        return [(ins[0] / ins[1]).astype(ins[0].dtype)]
    if op == "MatMul":
        return [np.matmul(ins[0], ins[1])]
    if op == "Erf":
        return [_erf(ins[0]).astype(ins[0].dtype)]
    if op == "Sqrt":
        return [np.sqrt(ins[0])]
    if op == "Softmax":
        return [_softmax(ins[0], at.get("axis", -1))]
    if op == "LayerNormalization":
        return [_layer_norm(ins[0], ins[1], ins[2] if len(ins) > 2 else None,
                            at.get("axis", -1), at.get("epsilon", 1e-5))]
    if op == "Shape":
        return [np.array(ins[0].shape, dtype=np.int64)]
    if op == "Gather":
        axis = at.get("axis", 0)
        return [np.take(ins[0], ins[1], axis=axis)]
    if op == "Unsqueeze":
        y = ins[0]
        axes = sorted(int(a) for a in ins[1])
        rank = y.ndim + len(axes)
        for a in [a if a >= 0 else a + rank for a in axes]:
            y = np.expand_dims(y, a)
        return [y]
    if op == "Squeeze":
        axes = tuple(int(a) for a in ins[1]) if len(ins) > 1 else None
        return [np.squeeze(ins[0], axis=axes)]
    if op == "Concat":
        return [np.concatenate(ins, axis=at["axis"])]
    if op == "Reshape":
        shape = [int(s) for s in ins[1]]
        if not at.get("allowzero", 0):
            shape = [ins[0].shape[i] if s == 0 else s for i, s in enumerate(shape)]
        return [ins[0].reshape(shape)]
    if op == "Transpose":
        return [np.transpose(ins[0], at.get("perm"))]
    if op == "Split":
        axis = at.get("axis", 0)
        if len(ins) > 1 and ins[1] is not None:
            sizes = [int(s) for s in ins[1]]
        else:
            raise NotImplementedError("Split without sizes")
        idx = np.cumsum(sizes)[:-1]
        return list(np.split(ins[0], idx, axis=axis))
    if op == "Cast":
        return [ins[0].astype(ONNX_TO_NP[at["to"]])]
    if op == "Where":
        return [np.where(ins[0], ins[1], ins[2])]
    if op == "Range":
        start, limit, delta = (x.item() for x in ins)
        return [np.arange(start, limit, delta, dtype=ins[0].dtype)]
    if op == "LessOrEqual":
        return [ins[0] <= ins[1]]
    if op == "Less":
        return [ins[0] < ins[1]]
    if op == "Greater":
        return [ins[0] > ins[1]]
    if op == "Equal":
        return [ins[0] == ins[1]]
    if op == "And":
        return [np.logical_and(ins[0], ins[1])]
    if op == "Not":
        return [np.logical_not(ins[0])]
    if op == "Clip":
        lo = ins[1] if len(ins) > 1 and ins[1] is not None else None
        hi = ins[2] if len(ins) > 2 and ins[2] is not None else None
        y = ins[0]
        if lo is not None:
            y = np.maximum(y, lo)
        if hi is not None:
            y = np.minimum(y, hi)
        return [y.astype(ins[0].dtype)]
    if op == "Expand":
        return [ins[0] * np.ones([int(s) for s in ins[1]], dtype=ins[0].dtype)]
    if op == "ConstantOfShape":
        v = at.get("value", np.zeros(1, dtype=np.float32))
        return [np.full([int(s) for s in ins[0]], v.reshape(-1)[0], dtype=v.dtype)]
    raise NotImplementedError("op %s not supported by onnx_numpy" % op)


def run_onnx_numpy(model, feeds):
    """Executes model.graph (assumed topologically sorted, as ONNX requires) on numpy feeds.
    Returns {output name: array}."""
    g = model.graph
    env = {init.name: numpy_helper.to_array(init) for init in g.initializer}
    for i in g.input:
        if i.name in feeds:
            env[i.name] = feeds[i.name]
        elif i.name not in env:
            raise KeyError("missing input " + i.name)
    for node in g.node:
        if node.domain not in ("", "ai.onnx"):
            raise NotImplementedError("non-standard domain " + node.domain)
        ins = [env[n] if n else None for n in node.input]
        outs = _run_node(node.op_type, ins, _attrs(node))
        for name, val in zip(node.output, outs):
            if name:
                env[name] = np.asarray(val)
    return {o.name: env[o.name] for o in g.output}

#!/usr/bin/python3
"""Writes the small ONNX models of the importer's lit tests.

    gen_import_tests.py [OUT_DIR]   (default: test/lit/onnx/Inputs)

The models are committed; rerun this after changing it. Uses Debian's
python3-onnx (1.12): only onnx.helper and the protobuf classes, no checker, so
opsets newer than 1.12 knows (18+) and data types it does not have (float8,
int4: plain numbers) can be written too.
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "lit", "onnx", "Inputs")
os.makedirs(OUT, exist_ok=True)

F, I64 = TensorProto.FLOAT, TensorProto.INT64


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def const(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def save(fname, nodes, inputs, outputs, inits=(), opset=13, extra_opsets=()):
    g = helper.make_graph(nodes, fname.split(".")[0], inputs, outputs,
                          initializer=list(inits))
    ops = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v)
                                              for d, v in extra_opsets]
    m = helper.make_model(g, opset_imports=ops, producer_name="gen_import_tests")
    m.ir_version = 8
    with open(os.path.join(OUT, fname), "wb") as f:
        f.write(m.SerializeToString())
    return m


N = helper.make_node

# --- Shape arithmetic as PyTorch exports it: x.view(x.size(0), -1) with the
# size computed at run time; batch is symbolic ('N').
save("shape_chain.onnx", [
    N("Shape", ["x"], ["s"], name="shape"),
    N("Gather", ["s", "zero"], ["d0"], axis=0, name="gather0"),
    N("Gather", ["s", "one"], ["d1"], axis=0, name="gather1"),
    N("Slice", ["s", "two", "big"], ["tail"], name="slice_tail"),
    N("ReduceProd", ["tail"], ["tailprod"], keepdims=0, name="prod"),
    N("Mul", ["d1", "tailprod"], ["rest"], name="mul"),
    N("Div", ["rest", "two_s"], ["half"], name="div"),
    N("Unsqueeze", ["d0", "axes0"], ["u0"], name="unsq0"),
    N("Unsqueeze", ["half", "axes0"], ["u1"], name="unsq1"),
    N("Concat", ["u0", "u1", "two1"], ["newshape"], axis=0, name="concat"),
    N("Cast", ["newshape"], ["newshape64"], to=I64, name="cast"),
    N("Reshape", ["x", "newshape64"], ["y"], name="reshape"),
    N("Shape", ["y"], ["ys"], name="shape_y"),
    N("ConstantOfShape", ["ys"], ["ones"], name="cos",
      value=helper.make_tensor("v", F, [1], [1.0])),
    N("Equal", ["d0", "zero_s"], ["isz"], name="eq"),
    N("Where", ["isz", "one_s", "d0"], ["d0safe"], name="where"),
    N("Add", ["y", "ones"], ["z"], name="add"),
], [vi("x", F, ["N", 4, 3, 2])], [vi("z", F, None), vi("d0safe", I64, None)], [
    const("zero", np.int64(0)), const("one", np.int64(1)),
    const("two", np.array([2], np.int64)),
    const("big", np.array([2**62], np.int64)),
    const("two_s", np.int64(2)), const("axes0", np.array([0], np.int64)),
    const("two1", np.array([2], np.int64)),
    const("zero_s", np.int64(0)), const("one_s", np.int64(1)),
])

# --- Softmax: opset 11 flattens to 2-D at axis; opset 13 works on the axis.
for opset in (11, 13):
    save(f"softmax_opset{opset}.onnx",
         [N("Softmax", ["x"], ["y"], axis=1, name="sm"),
          N("LogSoftmax", ["x"], ["z"], axis=2, name="lsm")],
         [vi("x", F, [2, 3, 4])], [vi("y", F, [2, 3, 4]), vi("z", F, [2, 3, 4])],
         opset=opset)

# --- Split: attribute (opset 11), input (13), num_outputs (18).
save("split_opset11.onnx", [N("Split", ["x"], ["a", "b"], axis=1, split=[2, 4])],
     [vi("x", F, [3, 6])], [vi("a", F, None), vi("b", F, None)], opset=11)
save("split_opset13.onnx", [N("Split", ["x", "sizes"], ["a", "b", "c"], axis=-1)],
     [vi("x", F, [3, 6])], [vi("a", F, None), vi("b", F, None), vi("c", F, None)],
     [const("sizes", np.array([1, 2, 3], np.int64))], opset=13)
save("split_opset18.onnx", [N("Split", ["x"], ["a", "b", "c"], axis=0, num_outputs=3)],
     [vi("x", F, [7, 2])], [vi("a", F, None), vi("b", F, None), vi("c", F, None)],
     opset=18)

# --- Clip with constant bounds (inputs since opset 11), only max, none.
save("clip.onnx", [
    N("Clip", ["x", "lo", "hi"], ["a"], name="both"),
    N("Clip", ["x", "", "hi"], ["b"], name="max_only"),
    N("Clip", ["x"], ["c"], name="none"),
], [vi("x", F, [4])], [vi("a", F, None), vi("b", F, None), vi("c", F, None)],
    [const("lo", np.float32(-1)), const("hi", np.float32(6))], opset=13)
save("clip_runtime_bound.onnx", [N("Clip", ["x", "lo"], ["a"], name="clip")],
     [vi("x", F, [4]), vi("lo", F, [])], [vi("a", F, None)], opset=13)

# --- Opset 10: Clip's bounds and Pad's pads/value are attributes.
save("opset10.onnx", [
    N("Clip", ["x"], ["a"], min=-1.0, max=6.0, name="clip"),
    N("Clip", ["x"], ["b"], max=6.0, name="clip_max"),
    N("Pad", ["x"], ["c"], pads=[1, 2], value=0.5, name="pad"),
    N("Pad", ["x"], ["d"], pads=[0, 1], mode="edge", name="pad_edge"),
], [vi("x", F, [4])],
    [vi("a", F, None), vi("b", F, None), vi("c", F, None), vi("d", F, None)],
    opset=10)

# --- Quantization decompositions.
save("quant.onnx", [
    N("QuantizeLinear", ["x", "s", "zp"], ["q"], name="q"),
    N("DequantizeLinear", ["q", "s", "zp"], ["dq"], name="dq"),
    N("DequantizeLinear", ["w", "ws", "wzp"], ["wdq"], axis=0, name="dq_axis"),
    N("MatMul", ["dq", "wdq"], ["y"], name="mm"),
], [vi("x", F, [2, 3])], [vi("y", F, None)], [
    const("s", np.float32(0.5)), const("zp", np.uint8(128)),
    const("w", np.arange(12, dtype=np.int8).reshape(3, 4)),
    const("ws", np.array([0.1, 0.2, 0.3], np.float32)),
    const("wzp", np.array([0, 1, -1], np.int8)),
], opset=13)
save("dynamic_quant.onnx", [
    N("DynamicQuantizeLinear", ["x"], ["q", "scale", "zp"], name="dql"),
    N("MatMulInteger", ["q", "w", "zp", "wzp"], ["y"], name="mmi"),
], [vi("x", F, [2, 3])], [vi("y", TensorProto.INT32, None), vi("scale", F, None)], [
    const("w", np.arange(12, dtype=np.uint8).reshape(3, 4)),
    const("wzp", np.uint8(3)),
], opset=13)

# --- Errors.
save("unsupported_ops.onnx", [
    N("ConvTranspose", ["x", "w"], ["a"], name="ct1"),
    N("Relu", ["a"], ["b"], name="ok"),
    N("Resize", ["b", "", "sc"], ["c"], name="up"),
    N("ConvTranspose", ["c", "w"], ["d"], name="ct2"),
    N("FusedGemm", ["d", "d"], ["e"], domain="com.microsoft", name="fg"),
    N("NonZero", ["e"], ["f"]),
], [vi("x", F, [1, 1, 4, 4])], [vi("f", F, None)],
    [const("w", np.ones((1, 1, 3, 3), np.float32)),
     const("sc", np.ones(4, np.float32))],
    opset=17, extra_opsets=[("com.microsoft", 1)])
save("opset_too_old.onnx", [N("Relu", ["x"], ["y"])], [vi("x", F, [2])],
     [vi("y", F, None)], opset=9)
save("opset_too_new.onnx", [N("Relu", ["x"], ["y"])], [vi("x", F, [2])],
     [vi("y", F, None)], opset=26)
save("dtype_double.onnx", [N("Relu", ["x"], ["y"])],
     [vi("x", TensorProto.DOUBLE, [2])], [vi("y", TensorProto.DOUBLE, None)])
# A float8 initializer: data_type 17 (FLOAT8E4M3FN), newer than onnx 1.12.
f8 = TensorProto(name="w8", data_type=17, dims=[2], raw_data=b"\x38\x40")
save("dtype_float8.onnx", [N("Add", ["x", "w8"], ["y"])], [vi("x", F, [2])],
     [vi("y", F, None)], [f8], opset=21)
save("symbolic_dim.onnx", [N("Relu", ["x"], ["y"], name="relu")],
     [vi("x", F, ["batch", 3])], [vi("y", F, None)])
save("reshape_runtime_shape.onnx", [N("Reshape", ["x", "s"], ["y"], name="rs")],
     [vi("x", F, [2, 3]), vi("s", I64, [2])], [vi("y", F, None)])
short = TensorProto(name="w", data_type=F, dims=[4], raw_data=b"\0" * 12)
save("short_raw_data.onnx", [N("Add", ["x", "w"], ["y"])], [vi("x", F, [4])],
     [vi("y", F, None)], [short])
with open(os.path.join(OUT, "empty.onnx"), "wb"):
    pass
with open(os.path.join(OUT, "wrong_magic.onnx"), "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(64)))
good = open(os.path.join(OUT, "quant.onnx"), "rb").read()
with open(os.path.join(OUT, "truncated.onnx"), "wb") as f:
    f.write(good[:len(good) // 2])


# --- External data: weights in a side file, memory-mapped at import.
def external(name, location, offset, length, dims=(4, 4)):
    t = TensorProto(name=name, data_type=F, dims=list(dims))
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", str(offset)),
                 ("length", str(length))):
        e = t.external_data.add()
        e.key, e.value = k, v
    return t


w = np.arange(16, dtype=np.float32).reshape(4, 4) / 8
b = np.array([1, 2, 3, 4], np.float32)
with open(os.path.join(OUT, "external.bin"), "wb") as f:
    f.write(b"\0" * 64)          # padding, so offsets are not all 0
    f.write(w.tobytes())         # offset 64, 64 bytes
    f.write(b.tobytes())         # offset 128, 16 bytes
for fname, wt in [
    ("external_ok.onnx", external("w", "external.bin", 64, 64)),
    ("external_missing.onnx", external("w", "no_such_file.bin", 0, 64)),
    ("external_short.onnx", external("w", "external.bin", 100, 64)),
    ("external_escape.onnx", external("w", "../Inputs/external.bin", 64, 64)),
    ("external_absolute.onnx", external("w", "/etc/passwd", 0, 64)),
]:
    save(fname, [N("MatMul", ["x", "w"], ["m"], name="mm"),
                 N("Add", ["m", "b"], ["y"], name="bias")],
         [vi("x", F, [1, 4])], [vi("y", F, None)],
         [wt, external("b", "external.bin", 128, 16, dims=(4,)),
          const("unused", np.zeros(3, np.float32))])

# --- A small CNN-ish model touching the layer converters.
rng = np.random.default_rng(0)
save("layers.onnx", [
    N("Conv", ["x", "cw", "cb"], ["c"], pads=[1, 1, 1, 1], strides=[1, 1], name="conv"),
    N("BatchNormalization", ["c", "g", "be", "mu", "var"], ["bn"], epsilon=1e-3, name="bn"),
    N("Relu", ["bn"], ["r"], name="relu"),
    N("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2], name="pool"),
    N("Conv", ["p", "cw2"], ["c2"], auto_pad="SAME_UPPER", strides=[2, 2], name="conv_same"),
    N("GlobalAveragePool", ["c2"], ["gap"], name="gap"),
    N("Flatten", ["gap"], ["f"], axis=1, name="flatten"),
    N("Gemm", ["f", "fw", "fb"], ["y"], transB=1, alpha=0.5, name="fc"),
], [vi("x", F, [1, 2, 8, 8])], [vi("y", F, None)], [
    const("cw", rng.standard_normal((4, 2, 3, 3)).astype(np.float32)),
    const("cb", rng.standard_normal(4).astype(np.float32)),
    const("g", np.ones(4, np.float32)), const("be", np.zeros(4, np.float32)),
    const("mu", np.zeros(4, np.float32)), const("var", np.ones(4, np.float32)),
    const("cw2", rng.standard_normal((3, 4, 3, 3)).astype(np.float32)),
    const("fw", rng.standard_normal((5, 3)).astype(np.float32)),
    const("fb", rng.standard_normal(5).astype(np.float32)),
])
save("conv1d.onnx", [
    N("Conv", ["x", "w"], ["c"], pads=[1, 2], dilations=[2], name="conv1d"),
    N("AveragePool", ["c"], ["p"], kernel_shape=[3], strides=[2], ceil_mode=1,
      name="avg1d"),
], [vi("x", F, [1, 2, 9])], [vi("p", F, None)],
    [const("w", rng.standard_normal((3, 2, 3)).astype(np.float32))])
save("conv3d.onnx", [N("Conv", ["x", "w"], ["y"], name="conv3d")],
     [vi("x", F, [1, 1, 4, 4, 4])], [vi("y", F, None)],
     [const("w", np.ones((1, 1, 2, 2, 2), np.float32))])
save("lstm.onnx", [
    N("LSTM", ["x", "W", "R", "B"], ["Y", "Y_h"], hidden_size=3, name="lstm"),
    N("RNN", ["x", "Wr", "Rr"], ["", "H"], hidden_size=3, activations=["Relu"],
      name="rnn"),
], [vi("x", F, [5, 2, 4])], [vi("Y", F, None), vi("Y_h", F, None), vi("H", F, None)], [
    const("W", rng.standard_normal((1, 12, 4)).astype(np.float32)),
    const("R", rng.standard_normal((1, 12, 3)).astype(np.float32)),
    const("B", rng.standard_normal((1, 24)).astype(np.float32)),
    const("Wr", rng.standard_normal((1, 3, 4)).astype(np.float32)),
    const("Rr", rng.standard_normal((1, 3, 3)).astype(np.float32)),
])
save("identity_dropout.onnx", [
    N("Identity", ["x"], ["a"], name="id"),
    N("Dropout", ["a"], ["b"], name="drop"),
    N("Mul", ["b", "b"], ["y"], name="sq"),
], [vi("x", F, [3])], [vi("y", F, None), vi("a", F, None)])
print("wrote", OUT)

#!/usr/bin/python3
"""Runs the imported lit-input models on tcpu-run and compares with PyTorch /
NumPy computations of the ONNX semantics.

    check_import_numerics.py TOOLS_DIR INPUTS_DIR WORK_DIR

Tolerances: 1e-5 absolute for float32 layer stacks of a few dozen terms
(float32 rounding, the reference computes in double); exact for the
integer MatMulInteger result and the folded shape values.
"""
import os
import subprocess
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as Fn
from onnx import numpy_helper

TOOLS, D, WORK = sys.argv[1:4]
os.makedirs(WORK, exist_ok=True)
RUN = os.path.join(TOOLS, "tcpu-run")
failures = []


def run(model, inputs, extra=()):
    args = [RUN, os.path.join(D, model), "--output-dir", os.path.join(WORK, "out"),
            "--print-limit", "0", *extra]
    for k, v in inputs.items():
        path = os.path.join(WORK, f"{k}.npy")
        np.save(path, v)
        args += ["--input", f"{k}={path}"]
    subprocess.run(args, check=True, capture_output=True)


def out(name):
    return np.load(os.path.join(WORK, "out", f"{name}.npy"))


def inits(model):
    m = onnx.load(os.path.join(D, model))
    return {t.name: torch.tensor(numpy_helper.to_array(t).copy())
            for t in m.graph.initializer}


def check(what, got, want, tol):
    want = np.asarray(want)
    if got.shape != want.shape:
        failures.append(f"{what}: shape {got.shape} != {want.shape}")
        return
    err = np.abs(got.astype(np.float64) - want.astype(np.float64)).max()
    print(f"{what}: max abs error {err:.3g}")
    if not err <= tol:
        failures.append(f"{what}: max abs error {err} > {tol}")


rng = np.random.default_rng(1)

x = rng.standard_normal((1, 2, 8, 8)).astype(np.float32)
run("layers.onnx", {"x": x})
w = inits("layers.onnx")
c = Fn.conv2d(torch.tensor(x), w["cw"], w["cb"], padding=1)
r = torch.relu(c / np.sqrt(1 + 1e-3))
p = Fn.max_pool2d(r, 2, 2)
c2 = Fn.conv2d(Fn.pad(p, (0, 1, 0, 1)), w["cw2"], stride=2)  # SAME_UPPER
y = 0.5 * c2.mean((2, 3)) @ w["fw"].T + w["fb"]
check("layers", out("y"), y.numpy(), 1e-5)

x = rng.standard_normal((1, 2, 9)).astype(np.float32)
run("conv1d.onnx", {"x": x})
w = inits("conv1d.onnx")
c = Fn.conv1d(Fn.pad(torch.tensor(x), (1, 2)), w["w"], dilation=2)
check("conv1d", out("p"), Fn.avg_pool1d(c, 3, 2, ceil_mode=True).numpy(), 1e-5)

x = rng.standard_normal((5, 2, 4)).astype(np.float32)
run("lstm.onnx", {"x": x})
w = inits("lstm.onnx")


def iofc_to_ifgo(m):
    i, o, f, g = m.split(3)
    return torch.cat([i, f, g, o])


lstm = torch.nn.LSTM(4, 3)
lstm.weight_ih_l0.data = iofc_to_ifgo(w["W"][0])
lstm.weight_hh_l0.data = iofc_to_ifgo(w["R"][0])
lstm.bias_ih_l0.data = iofc_to_ifgo(w["B"][0][:12])
lstm.bias_hh_l0.data = iofc_to_ifgo(w["B"][0][12:])
Y, (h, _) = lstm(torch.tensor(x))
check("lstm Y", out("Y")[:, 0], Y.detach().numpy(), 1e-5)
check("lstm Y_h", out("Y_h"), h.detach().numpy(), 1e-5)
rnn = torch.nn.RNN(4, 3, nonlinearity="relu", bias=False)
rnn.weight_ih_l0.data = w["Wr"][0]
rnn.weight_hh_l0.data = w["Rr"][0]
check("rnn relu", out("H"), rnn(torch.tensor(x))[1].detach().numpy(), 1e-5)

x = (rng.standard_normal((2, 3)) * 20).astype(np.float32)
run("quant.onnx", {"x": x})
q = np.clip(np.round(x / 0.5) + 128, 0, 255)
wq = ((np.arange(12).reshape(3, 4) - np.array([0, 1, -1])[:, None]) *
      np.array([0.1, 0.2, 0.3], np.float32)[:, None])
check("quantize/dequantize", out("y"), ((q - 128) * 0.5) @ wq, 1e-4)

x = rng.standard_normal((2, 3)).astype(np.float32)
run("dynamic_quant.onnx", {"x": x})
mn, mx = min(0, x.min()), max(0, x.max())
s = np.float32((mx - mn) / np.float32(255))
zp = np.clip(np.round(-mn / s), 0, 255)
q = np.clip(np.round(x / s) + zp, 0, 255)
check("dynamic quantize scale", out("scale"), s, 0)
check("matmulinteger", out("y"),
      (q - zp).astype(np.int64) @ (np.arange(12).reshape(3, 4) - 3), 0)

x = rng.standard_normal((2, 4, 3, 2)).astype(np.float32)
run("shape_chain.onnx", {"x": x}, ["--input-shape", "x=2x4x3x2"])
check("shape chain", out("z"), x.reshape(2, 12, 2) + 1, 0)
check("shape chain where", out("d0safe"), np.int64(2), 0)

x = rng.standard_normal((2, 3, 4)).astype(np.float32)
for opset in (11, 13):
    run(f"softmax_opset{opset}.onnx", {"x": x})
    t = torch.tensor(x)
    want = (Fn.softmax(t.reshape(2, 12), 1).reshape(2, 3, 4) if opset == 11
            else Fn.softmax(t, 1))
    check(f"softmax opset {opset}", out("y"), want.numpy(), 1e-6)

if failures:
    sys.exit("FAILED:\n  " + "\n  ".join(failures))
print("all good")

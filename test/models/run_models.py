#!/usr/bin/python3
"""Runs the models written by gen_models.py on tcpu and compares with PyTorch.

    /usr/bin/python3 test/models/run_models.py [--tcpu-run PATH] [--only a,b]
                                               [--engine reference|compiled]
                                               [--opt-level 0|1|2|3] MODELS_DIR

For each model: tcpu-run MODELS_DIR/<model>/model.onnx --engine ENGINE
--input NAME=input_NAME.npy ... [-O<level>] --output-dir TMP, then every
expected_<output>.npy is compared with TMP/<output>.npy: same dtype and shape,
and |got - want| <= atol + rtol * |want| for every element (integers exact).
Prints one line per model with the max abs/rel error and the time, then
`N passed, N failed`; exits 1 if any model failed. On the compiled engine it
also runs one --benchmark iteration to read the compile time and the memory
plan (the arena against allocating every intermediate) from tcpu-run's JSON
line, prints them, and fails a model whose arena is not at least
MIN_ARENA_SAVING times smaller than that.
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

# Per-model tolerance (rtol, atol) and why. PyTorch computes in fp32 while the
# reference interpreter accumulates in double, so the differences are
# PyTorch's own fp32 rounding, which grows with depth and reduction length.
# Measured max abs errors (reference engine, torch 1.13) are in the comments;
# each tolerance leaves a margin of about 10x (run_models.py prints the
# fraction of the tolerance used).
TOLERANCES = {
    # Shallow nets, reductions of at most a few hundred terms, outputs ~0.1-1:
    # fp32 rounding stays below 1e-7.
    "mlp": (1e-5, 1e-6, "two fp32 Linear layers, K = 784 and 256 (3e-8)"),
    "lenet": (1e-5, 1e-6, "two small convs and three Linear layers (7e-9)"),
    "embedding": (1e-5, 1e-6, "a gather, a mean over 9 rows, one Linear (6e-8)"),
    # Recurrences feed errors back through each step, but sigmoid/tanh
    # contract them: tighter than the deep nets.
    "lstm": (1e-5, 1e-6, "2-layer LSTM over 10 steps (1.5e-8)"),
    "gru": (1e-5, 1e-6, "bidirectional GRU over 7 steps (2e-8)"),
    # Unfused BatchNormalization on calibrated statistics: a division by a
    # per-channel std of ~0.1-1 scales PyTorch's rounding up.
    "conv_bn": (1e-4, 1e-5, "two small convs, unfused BatchNormalization (9.5e-7)"),
    # Softmax attention, two LayerNorms (a division by a small std amplifies
    # rounding) and a 128-wide FFN on outputs of ~1.
    "transformer": (1e-4, 1e-5, "one encoder layer, outputs ~1 (5e-7)"),
    # Deep CNNs: ~20 (ResNet-18) to ~50 (MobileNetV2) fp32 layers with
    # reductions of up to 4608 terms; logits ~3 and ~2. MobileNetV2 has many
    # logits near 0, where only atol applies.
    "resnet18": (1e-4, 1e-5, "18 fp32 layers, K up to 4608 (2e-6)"),
    "mobilenet_v2": (1e-4, 3e-5, "53 fp32 layers, depthwise convs (3.8e-6)"),
}


# Required ratio naive_bytes / peak_arena_bytes (issue 5: ResNet-18 at batch
# 1 needs at least 2x less than an allocate-every-intermediate plan).
MIN_ARENA_SAVING = {"resnet18": 2.0}


def compare(got, want, rtol, atol):
    """Returns (ok, max abs error, max rel error, tolerance used, message);
    the tolerance used is max |got - want| / (atol + rtol * |want|)."""
    if got.dtype != want.dtype or got.shape != want.shape:
        return False, float("inf"), float("inf"), float("inf"), (
            f"got {got.dtype}{list(got.shape)}, want {want.dtype}{list(want.shape)}")
    if want.size == 0:
        return True, 0.0, 0.0, 0.0, ""
    if want.dtype.kind in "biu":
        bad = np.argwhere(got != want)
        if bad.size:
            i = tuple(bad[0])
            return False, float("inf"), float("inf"), float("inf"), (
                f"{len(bad)} elements differ; first at {i}: got {got[i]}, want {want[i]}")
        return True, 0.0, 0.0, 0.0, ""
    g, w = got.astype(np.float64), want.astype(np.float64)
    both_nan = np.isnan(g) & np.isnan(w)
    err = np.where(both_nan | (g == w), 0.0, np.abs(g - w))
    err = np.where(np.isnan(err), np.inf, err)
    big = np.abs(w) > atol
    max_abs = float(err.max())
    max_rel = float((err[big] / np.abs(w[big])).max()) if big.any() else 0.0
    bound = atol + rtol * np.abs(w)
    used = float((err / bound).max())
    ok = err <= bound
    if not ok.all():
        i = tuple(np.argwhere(~ok)[0])
        return False, max_abs, max_rel, used, (
            f"{int((~ok).sum())} of {want.size} elements out of tolerance; "
            f"first at {i}: got {got[i]!r}, want {want[i]!r}")
    return True, max_abs, max_rel, used, ""


def run_model(tcpu_run, engine, model_dir, tmp, opt_level=None):
    """Returns (ok, detail line, seconds)."""
    name = os.path.basename(model_dir)
    rtol, atol, _ = TOLERANCES[name]
    cmd = [tcpu_run, os.path.join(model_dir, "model.onnx"), "--engine", engine,
           "--print-limit", "0", "--output-dir", tmp]
    if opt_level is not None:
        cmd.append(f"-O{opt_level}")
    if engine == "compiled":
        cmd += ["--benchmark", "1", "--threads", "1"]
    for f in sorted(glob.glob(os.path.join(model_dir, "input_*.npy"))):
        cmd += ["--input", os.path.basename(f)[len("input_"):-len(".npy")] + "=" + f]
    t = time.time()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return False, "timed out after 600 s", time.time() - t
    secs = time.time() - t
    if p.returncode != 0:
        msg = (p.stderr.strip() or p.stdout.strip()).splitlines()
        return False, f"tcpu-run exited with {p.returncode}: " + " | ".join(msg[:5]), secs
    expected = sorted(glob.glob(os.path.join(model_dir, "expected_*.npy")))
    if not expected:
        return False, "no expected_*.npy", secs
    worst_abs, worst_rel, worst_used, problems = 0.0, 0.0, 0.0, []
    for f in expected:
        out = os.path.basename(f)[len("expected_"):-len(".npy")]
        got_path = os.path.join(tmp, out + ".npy")
        if not os.path.exists(got_path):
            problems.append(f"{out}: tcpu-run wrote no {out}.npy")
            continue
        ok, a, r, u, msg = compare(np.load(got_path), np.load(f), rtol, atol)
        worst_abs, worst_rel, worst_used = max(worst_abs, a), max(worst_rel, r), max(worst_used, u)
        if not ok:
            problems.append(f"{out}: {msg}")
    detail = (f"max abs error {worst_abs:.2e}, max rel error {worst_rel:.2e}; "
              f"{100 * worst_used:.0f}% of the tolerance (rtol {rtol:g}, atol {atol:g})")
    if engine == "compiled":
        bench = [l for l in p.stdout.splitlines() if l.startswith("{")]
        if not bench:
            problems.append("tcpu-run printed no --benchmark line")
        else:
            b = json.loads(bench[-1])
            peak, naive = b["peak_arena_bytes"], b["naive_bytes"]
            saving = naive / peak if peak else float("inf")
            detail += (f"; -O{b['graph_opt_level']} compile {b['compile_ms'] / 1e3:.2f} s; "
                       f"arena {peak / 1e6:.2f} MB vs {naive / 1e6:.2f} MB naive "
                       f"({saving:.1f}x)")
            need = MIN_ARENA_SAVING.get(name)
            if need and saving < need:
                problems.append(f"the arena is only {saving:.2f}x smaller than "
                                f"allocating every intermediate (need {need}x)")
    if problems:
        detail += "; " + "; ".join(problems)
    return not problems, detail, secs


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models_dir")
    p.add_argument("--tcpu-run", default=shutil.which("tcpu-run") or "tcpu-run")
    p.add_argument("--engine", default="reference", choices=["reference", "compiled"])
    p.add_argument("--only", help="comma-separated model names")
    p.add_argument("--opt-level", type=int, choices=[0, 1, 2, 3],
                   help="graph optimization level of the compiled engine "
                        "(default: tcpu-run's)")
    a = p.parse_args()
    names = a.only.split(",") if a.only else list(TOLERANCES)
    unknown = [n for n in names if n not in TOLERANCES]
    if unknown:
        sys.exit(f"run_models.py: unknown model(s) {unknown} (known: {', '.join(TOLERANCES)})")
    extra = sorted(set(os.path.basename(os.path.dirname(d)) for d in
                       glob.glob(os.path.join(a.models_dir, "*", "model.onnx"))) - set(TOLERANCES))
    if extra:
        print(f"note: no tolerance for {', '.join(extra)}; add them to TOLERANCES to test them")

    passed = failed = 0
    total = time.time()
    for n in names:
        d = os.path.join(a.models_dir, n)
        if not os.path.exists(os.path.join(d, "model.onnx")):
            ok, detail, secs = False, f"{d}/model.onnx is missing (run gen_models.py)", 0.0
        else:
            with tempfile.TemporaryDirectory(prefix=f"tcpu-{n}-") as tmp:
                ok, detail, secs = run_model(a.tcpu_run, a.engine, d, tmp, a.opt_level)
        passed += ok
        failed += not ok
        print(f"{n:14s} {'passed' if ok else 'FAILED'}  {secs:6.2f} s  {detail}", flush=True)
    print(f"total {time.time() - total:.1f} s")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

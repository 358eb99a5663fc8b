#!/usr/bin/python3
"""Runs the real models of gen_models.py through the AOT path.

    run_models_aot.py --tcpu-opt PATH --aot-runner PATH MODELS_DIR

For each model of run_models.py's TOLERANCES: tcpu-opt model.onnx -O3
--emit=obj and --emit=header (every other model with --weights, so both the
embedded constants and the mapped weights file are covered), then aot_runner
links the object into its process, runs it on input_*.npy and writes the
outputs, which must match expected_*.npy (PyTorch's) within the model's
tolerance, as on the JIT. Exits 1 if any model failed.
"""
import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
from run_models import TOLERANCES, compare  # noqa: E402


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        raise RuntimeError(f"{os.path.basename(cmd[0])} exited with {p.returncode}: "
                           + " | ".join((p.stderr.strip() or p.stdout.strip()).splitlines()[:5]))


def run_model(a, d, tmp, external):
    name = os.path.basename(d)
    rtol, atol, _ = TOLERANCES[name]
    model = os.path.join(d, "model.onnx")
    obj, header = os.path.join(tmp, "model.o"), os.path.join(tmp, "model.h")
    weights = [f"--weights={os.path.join(tmp, 'model.weights')}"] if external else []
    t = time.time()
    run([a.tcpu_opt, model, "-O3", "--emit=obj", "--entry=model", "-o", obj] + weights)
    emit_secs = time.time() - t
    run([a.tcpu_opt, model, "-O3", "--emit=header", "--entry=model", "-o", header] + weights)
    arena = re.search(r"#define MODEL_ARENA_BYTES (\d+)", open(header).read())
    if not arena:
        raise RuntimeError("the header has no MODEL_ARENA_BYTES")
    cmd = [a.aot_runner, model, obj, "model", arena.group(1), tmp]
    if external:
        cmd += ["--weights", os.path.join(tmp, "model.weights")]
    for f in sorted(glob.glob(os.path.join(d, "input_*.npy"))):
        cmd += ["--input", os.path.basename(f)[len("input_"):-len(".npy")] + "=" + f]
    run(cmd)
    worst, problems = 0.0, []
    for f in sorted(glob.glob(os.path.join(d, "expected_*.npy"))):
        out = os.path.basename(f)[len("expected_"):-len(".npy")]
        ok, max_abs, _, _, msg = compare(np.load(os.path.join(tmp, out + ".npy")),
                                         np.load(f), rtol, atol)
        worst = max(worst, max_abs)
        if not ok:
            problems.append(f"{out}: {msg}")
    detail = (f"{'mapped' if external else 'embedded'} weights, emit {emit_secs:.1f} s, "
              f"max abs error {worst:.2e} (rtol {rtol:g}, atol {atol:g})")
    return not problems, detail + ("; " + "; ".join(problems) if problems else "")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("models_dir")
    p.add_argument("--tcpu-opt", required=True)
    p.add_argument("--aot-runner", required=True)
    a = p.parse_args()
    passed = failed = 0
    for i, name in enumerate(TOLERANCES):
        d = os.path.join(a.models_dir, name)
        with tempfile.TemporaryDirectory(prefix=f"tcpu-aot-{name}-") as tmp:
            try:
                ok, detail = run_model(a, d, tmp, external=i % 2 == 1)
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
                ok, detail = False, str(e)
        passed += ok
        failed += not ok
        print(f"{name:14s} {'passed' if ok else 'FAILED'}  {detail}", flush=True)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

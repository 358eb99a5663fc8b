#!/usr/bin/python3
"""End-to-end check of the fusion passes on the real models.

    /usr/bin/python3 test/models/check_fusion.py --tcpu-opt PATH --tcpu-run PATH
                                                 MODELS_DIR

For each of resnet18, mobilenet_v2, mlp and transformer (written by
gen_models.py into MODELS_DIR):
  1. tcpu-opt model.onnx --pass-pipeline=fuse-epilogue,fuse-elementwise
     --fusion-report -o fused.tir: the graph must get fused ops, and the
     report must list them;
  2. the reference interpreter on the fused graph must give exactly (bit for
     bit) its results on the imported graph: a fused op evaluates its body,
     the same ops on the same values;
  3. the compiled fused graph (-O0: exactly that graph, with no fused op left
     to the interpreter) must match the interpreter on the imported graph
     within the model's tolerance (run_models.py's: f32 GEMM sums against
     double ones).
Prints one line per model, then `N passed, N failed`; exits 1 on a failure.
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_models import TOLERANCES, compare  # noqa: E402

MODELS = ["resnet18", "mobilenet_v2", "mlp", "transformer"]


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        raise RuntimeError(" ".join(cmd[:2]) + f" exited with {p.returncode}: "
                           + (p.stderr.strip() or p.stdout.strip())[:500])
    return p


def outputs(d):
    return {os.path.basename(f)[:-4]: np.load(f)
            for f in sorted(glob.glob(os.path.join(d, "*.npy")))}


def check(a, model_dir, tmp):
    name = os.path.basename(model_dir)
    inputs = []
    for f in sorted(glob.glob(os.path.join(model_dir, "input_*.npy"))):
        inputs += ["--input", os.path.basename(f)[len("input_"):-4] + "=" + f]
    onnx = os.path.join(model_dir, "model.onnx")
    fused = os.path.join(tmp, "fused.tir")
    p = run([a.tcpu_opt, onnx, "--pass-pipeline=fuse-epilogue,fuse-elementwise",
             "--fusion-report", "-o", fused])
    text = open(fused).read()
    n_fused = len(re.findall(r"= fused ", text))
    summary = "; ".join(l.strip() for l in p.stderr.splitlines()
                        if "summary (" in l)
    if n_fused == 0 or "fused (fuse-" not in p.stderr:
        return False, f"no fused op made ({summary or 'empty report'})"

    ref_dir, fref_dir, comp_dir = (os.path.join(tmp, d)
                                   for d in ("ref", "fused_ref", "compiled"))
    run([a.tcpu_run, onnx, "--reference", "--print-limit", "0",
         "--output-dir", ref_dir] + inputs)
    run([a.tcpu_run, fused, "--reference", "--print-limit", "0",
         "--output-dir", fref_dir] + inputs)
    p = run([a.tcpu_run, fused, "-O0", "--threads", "1", "--benchmark", "1",
             "--print-limit", "0", "--output-dir", comp_dir] + inputs)
    bench = json.loads([l for l in p.stdout.splitlines() if l.startswith("{")][-1])
    problems = []
    left = [op for op in bench.get("fallback_ops", []) if op.startswith("fused")]
    if left:
        problems.append("fused ops on the interpreter: " + ", ".join(left[:3]))
    want, same, got = outputs(ref_dir), outputs(fref_dir), outputs(comp_dir)
    rtol, atol, _ = TOLERANCES[name]
    worst = 0.0
    for out, w in want.items():
        s = same.get(out)
        if s is None or s.dtype != w.dtype or s.shape != w.shape or \
                s.tobytes() != w.tobytes():
            problems.append(f"{out}: the interpreter gives other bits on the "
                            "fused graph")
        g = got.get(out)
        if g is None:
            problems.append(f"{out}: no compiled output")
            continue
        ok, _, _, used, msg = compare(g, w, rtol, atol)
        worst = max(worst, used)
        if not ok:
            problems.append(f"{out}: compiled: {msg}")
    detail = (f"{n_fused} fused ops ({summary}); compiled within "
              f"{100 * worst:.0f}% of the tolerance")
    if problems:
        detail += "; " + "; ".join(problems)
    return not problems, detail


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models_dir")
    p.add_argument("--tcpu-opt", required=True)
    p.add_argument("--tcpu-run", required=True)
    a = p.parse_args()
    passed = failed = 0
    for name in MODELS:
        d = os.path.join(a.models_dir, name)
        with tempfile.TemporaryDirectory() as tmp:
            try:
                ok, detail = check(a, d, tmp)
            except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
                ok, detail = False, str(e)
        print(f"{name:14s} {'passed' if ok else 'FAILED'}  {detail}", flush=True)
        passed += ok
        failed += not ok
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

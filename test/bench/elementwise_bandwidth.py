"""Elementwise kernels against the machine's memory bandwidth; prints a markdown table.

Usage: test/bench/elementwise_bandwidth.sh [--build DIR] [--threads 1 2] [--runs N]
                                           [--scratch DIR] [--quick]

Each workload is a .tir graph written into the scratch folder and timed with
`BUILD/tools/tcpu-run G.tir --benchmark N --threads T` (-O3, so the chain is one fused
op). Bytes moved are the bytes of every input read once plus the output written once;
GB/s = bytes / median time. Beside it, the same run measures a STREAM-like copy and triad
(stream_bandwidth.cpp, compiled here with g++ -O3 -march=native; numpy's copy when g++ is
missing) at the same thread count, on arrays of the workload's size; "share" is tcpu's
GB/s over the better of the two. Runs alternate tcpu and STREAM per row so that both see
the same machine state. --quick uses tiny tensors (a smoke test of the script: the figures
then mean nothing). Not part of ctest (slow) except as --quick.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PY = "/usr/bin/python3"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def workloads(n_rows, n_cols):
    """(name, tir text, bytes moved) for tensors of n_rows x n_cols f32."""
    n = n_rows * n_cols
    full = f"f32[{n_rows},{n_cols}]"
    row = f"f32[{n_cols}]"
    col = f"f32[{n_rows},1]"
    mib = n * 4
    return [
        ("relu(x*a+b) fused, a b rows",
         f"graph @chain(%x: {full}, %a: {row}, %b: {row}) -> {full} {{\n"
         f"  %0 = mul %x, %a : {full}\n  %1 = add %0, %b : {full}\n"
         f"  %2 = relu %1 : {full}\n  return %2\n}}\n",
         2 * mib + 2 * n_cols * 4),
        ("add x+y",
         f"graph @add(%x: {full}, %y: {full}) -> {full} {{\n"
         f"  %0 = add %x, %y : {full}\n  return %0\n}}\n",
         3 * mib),
        ("broadcast add x+col",
         f"graph @badd(%x: {full}, %c: {col}) -> {full} {{\n"
         f"  %0 = add %x, %c : {full}\n  return %0\n}}\n",
         2 * mib + n_rows * 4),
        ("sigmoid x",
         f"graph @sig(%x: {full}) -> {full} {{\n"
         f"  %0 = sigmoid %x : {full}\n  return %0\n}}\n",
         2 * mib),
    ]


def build_stream(scratch):
    """The path of the compiled STREAM probe, or None (numpy is used then)."""
    exe = os.path.join(scratch, "stream_bandwidth")
    cmd = ["g++", "-O3", "-march=native", "-pthread",
           os.path.join(HERE, "stream_bandwidth.cpp"), "-o", exe]
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        return exe
    except (OSError, subprocess.CalledProcessError) as e:
        log(f"g++ failed ({e}); numpy's copy measures the bandwidth instead")
        return None


def stream_gbs(exe, n, threads, reps):
    """Best of copy and triad in GB/s at `threads` threads on n f32."""
    if exe:
        out = subprocess.run([exe, str(n), str(threads), str(reps)], check=True,
                             capture_output=True, text=True).stdout
        r = json.loads(out)
        return max(r["copy_gbs"], r["triad_gbs"])
    code = (f"import numpy as np, time\na = np.ones({n}, np.float32); b = np.empty_like(a)\n"
            f"best = 1e30\nfor _ in range({reps}):\n t = time.perf_counter(); np.copyto(b, a)\n"
            f" best = min(best, time.perf_counter() - t)\nprint(2 * a.nbytes / best / 1e9)\n")
    out = subprocess.run([PY, "-c", code], check=True, capture_output=True, text=True).stdout
    return float(out)


def tcpu_ms(tcpu_run, tir, threads, runs):
    """Median ms of tcpu-run --benchmark, or an error string."""
    cmd = [tcpu_run, tir, "--benchmark", str(runs), "--threads", str(threads)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        return f"error: {p.stderr.strip().splitlines()[-1] if p.stderr.strip() else p.returncode}"
    r = json.loads(p.stdout.strip().splitlines()[-1])
    if r.get("fallback_ops"):
        return f"error: fallback {r['fallback_ops']}"
    return r["median_ms"]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--runs", type=int, default=20, help="timed runs per workload")
    ap.add_argument("--scratch", help="folder for the graphs and the probe (default: a temp dir)")
    ap.add_argument("--quick", action="store_true", help="tiny tensors, few runs")
    args = ap.parse_args()
    tcpu_run = os.path.join(args.build, "tools", "tcpu-run")
    if not os.access(tcpu_run, os.X_OK):
        log(f"no {tcpu_run}: build the tcpu-run target")
        return 1
    rows, cols = (64, 96) if args.quick else (4096, 4096)
    runs = 2 if args.quick else args.runs
    reps = 2 if args.quick else 10
    scratch = args.scratch or tempfile.mkdtemp(prefix="tcpu-ew-bw-")
    os.makedirs(scratch, exist_ok=True)
    exe = build_stream(scratch)
    n = rows * cols
    print(f"elementwise kernels on f32[{rows},{cols}] ({n} elements), tcpu-run --benchmark {runs}, "
          f"{os.uname().nodename}, load {os.getloadavg()[0]:.1f}\n")
    print("| workload | threads | tcpu ms | tcpu GB/s | stream GB/s | share |")
    print("|---|---|---|---|---|---|")
    for i, (name, text, nbytes) in enumerate(workloads(rows, cols)):
        tir = os.path.join(scratch, f"workload{i}.tir")
        with open(tir, "w") as f:
            f.write(text)
        for t in args.threads:
            ms = tcpu_ms(tcpu_run, tir, t, runs)
            peak = stream_gbs(exe, n, t, reps)
            if isinstance(ms, str):
                print(f"| {name} | {t} | {ms} | | {peak:.1f} | |", flush=True)
                continue
            gbs = nbytes / (max(ms, 1e-6) / 1e3) / 1e9
            print(f"| {name} | {t} | {ms:.3f} | {gbs:.1f} | {peak:.1f} | {gbs / peak:.0%} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Times tcpu beside ONNX Runtime and PyTorch on the issue's workloads; prints a markdown table.

Usage: test/bench/compare.sh [--only SUBSTR] [--threads 1 2] [--runs N] [--build DIR] [--quick]
                             [--scratch DIR] [--out DIR] [--timeout S] [--tcpu-arg ARG ...]

The peers are the scripts in ../shared/bench (read-only; run from that folder): the models
come from its export_onnx.py (tcpu reads the same ONNX files, with the input shapes of its
manifest.json), ONNX Runtime from ort_baselines.js (npm onnxruntime-node, installed once
into the scratch folder), PyTorch eager and jit.freeze from torch_baselines.py, the peak
FLOP/s from peak/peak.cpp. tcpu is `BUILD/tools/tcpu-run MODEL --benchmark N --threads T`.
Within a run every workload is timed by all of them before the next workload starts, and the
order (peers first or tcpu first) flips from run to run, so both see the same machine state.
Every result is one JSON line in OUT/results.jsonl; the table (compare_table.py) goes to
stdout and OUT/table.md. A tcpu or peer failure becomes an error cell, never a crash.
"""
import argparse
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, HERE)
import compare_table  # noqa: E402

PY = "/usr/bin/python3"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, timeout, cwd=None, env=None):
    """(returncode or None on timeout, stdout, stderr). The child gets its own process
    group so that a timeout also ends the processes it started (torch_baselines.py runs
    one child per thread count)."""
    try:
        p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    except OSError as e:
        return 127, "", str(e)
    try:
        out, err = p.communicate(timeout=timeout)
        return p.returncode, out, err
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        return None, out, err
    except BaseException:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        raise


def json_lines(text):
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return rows


def failure(rc, out, err, timeout):
    if rc is None:
        return f"timeout after {timeout:g} s"
    text = err.strip() or out.strip()
    return compare_table.first_line(text, 400) if text else f"exit code {rc}"


class Bench:
    def __init__(self, args):
        self.args = args
        self.peers_dir = args.peers_dir
        self.scratch = args.scratch
        self.onnx = os.path.join(self.scratch, "onnx")
        self.records = []
        self.out_file = None
        self.quick = args.quick
        self.min_reps = 3 if args.quick else 10
        self.target_s = 0.5 if args.quick else 1.0
        self.node_modules = None
        self.torch_ok = False

    def emit(self, rec):
        self.records.append(rec)
        self.out_file.write(json.dumps(rec) + "\n")
        self.out_file.flush()

    # --- setup -----------------------------------------------------------------------
    def export_models(self):
        """export_onnx.py into SCRATCH/onnx, unless its manifest is newer than the scripts."""
        manifest = os.path.join(self.onnx, "manifest.json")
        sources = [os.path.join(self.peers_dir, f) for f in ("export_onnx.py", "workloads.py")]
        fresh = os.path.exists(manifest) and all(os.path.getmtime(manifest) >= os.path.getmtime(s)
                                                 for s in sources if os.path.exists(s))
        if not fresh:
            log(f"exporting the workloads to {self.onnx} (export_onnx.py) ...")
            rc, out, err = run([PY, "export_onnx.py", self.onnx], 1800, cwd=self.peers_dir)
            if rc != 0:
                sys.exit(f"compare: ONNX export failed: {failure(rc, out, err, 1800)}")
        with open(manifest) as f:
            return {e["workload"]: e for e in json.load(f)}

    def setup_ort(self):
        ort_dir = os.path.join(self.scratch, "ort")
        mods = os.path.join(ort_dir, "node_modules")
        if not shutil.which("node"):
            return None, "node not found on PATH"
        if not os.path.isdir(os.path.join(mods, "onnxruntime-node")):
            if not shutil.which("npm"):
                return None, "npm not found on PATH"
            log(f"installing onnxruntime-node into {ort_dir} ...")
            os.makedirs(ort_dir, exist_ok=True)
            if not os.path.exists(os.path.join(ort_dir, "package.json")):
                run(["npm", "init", "-y"], 120, cwd=ort_dir)
            # The package bundles the CPU binary; its install script would fetch CUDA
            # binaries from a non-npm host, which fails offline (../shared/bench/README.md).
            env = dict(os.environ, ONNXRUNTIME_NODE_INSTALL="skip")
            rc, out, err = run(["npm", "install", "--no-audit", "--no-fund", "onnxruntime-node"], 900, cwd=ort_dir,
                               env=env)
            if rc != 0 or not os.path.isdir(os.path.join(mods, "onnxruntime-node")):
                return None, "npm install onnxruntime-node failed: " + failure(rc, out, err, 900)
        return mods, None

    def setup_torch(self):
        rc, out, err = run([PY, "-c", "import torch, torchvision"], 300)
        return None if rc == 0 else "import torch/torchvision failed: " + failure(rc, out, err, 300)

    def setup_peak(self):
        exe = os.path.join(self.scratch, "peak")
        src = os.path.join(self.peers_dir, "peak", "peak.cpp")
        if not (os.path.exists(exe) and os.path.getmtime(exe) >= os.path.getmtime(src)):
            rc, out, err = run(["g++", "-O3", "-mavx2", "-mfma", "-pthread", src, "-o", exe], 300)
            if rc != 0:
                return None, failure(rc, out, err, 300)
        return exe, None

    # --- measurements ----------------------------------------------------------------
    def measure_peak(self, exe, run_index):
        if self.args.peak_gflops:
            for t, g in sorted(self.args.peak_gflops.items()):
                self.emit({"bench": "peak_fp32_fma", "threads": t, "gflops_best": g, "source": "--peak-gflops",
                           "run": run_index})
            return
        # 11 repetitions even with --quick: the best of them is the figure used, and on a
        # loaded machine few repetitions rarely catch the cores free.
        rc, out, err = run([exe, "11"], 600)
        rows = [r for r in json_lines(out) if r.get("bench") == "peak_fp32_fma"]
        if rc != 0 or not rows:
            log("peak measurement failed: " + failure(rc, out, err, 600))
        for r in rows:
            self.emit(dict(r, run=run_index, source="peak.cpp AVX2 FMA, best repetition"))

    def time_ort(self, entry, threads, run_index):
        """ort_baselines.js on a one-entry manifest (it always runs 1 and 2 threads)."""
        one = os.path.join(self.scratch, "one", entry["workload"])
        os.makedirs(one, exist_ok=True)
        link = os.path.join(one, entry["file"])
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(os.path.join(self.onnx, entry["file"]), link)
        with open(os.path.join(one, "manifest.json"), "w") as f:
            json.dump([entry], f)
        env = dict(os.environ, NODE_PATH=self.node_modules)
        rc, out, err = run(["node", "ort_baselines.js", one, "--min-reps", str(self.min_reps)], self.args.timeout,
                           cwd=self.peers_dir, env=env)
        rows = [r for r in json_lines(out) if r.get("workload") == entry["workload"] and r.get("threads") in threads]
        if not rows:
            rows = [{"peer": "ort-node", "workload": entry["workload"], "threads": t,
                     "error": failure(rc, out, err, self.args.timeout)} for t in threads]
        for r in rows:
            self.emit(dict(r, run=run_index, flops=entry["flops"]))

    def time_torch(self, entry, threads, run_index):
        name = entry["workload"]
        cmd = [PY, "torch_baselines.py", "--only", name, "--min-reps", str(self.min_reps), "--threads"]
        rc, out, err = run(cmd + [str(t) for t in threads], self.args.timeout, cwd=self.peers_dir)
        rows = [r for r in json_lines(out) if r.get("workload") == name]  # --only is a substring match
        got = {(r["threads"], r["peer"].split("+")[0]) for r in rows}
        for t in threads:  # an error cell for what a failed child did not print
            if rc != 0 and (t, "torch-eager") not in got:
                rows.append({"peer": "torch-eager", "workload": name, "threads": t,
                             "error": failure(rc, out, err, self.args.timeout)})
        for r in rows:
            self.emit(dict(r, run=run_index, flops=entry["flops"]))

    def iterations(self, workload, threads):
        """Enough tcpu iterations to fill about target_s, judged from tcpu's earlier time
        for this workload, or else from the peers' in this run."""
        rank = {}  # preference (0 best) -> latest time
        for r in self.records:
            if r.get("workload") == workload and r.get("median_ms", 0) > 0:
                if r["peer"] == "tcpu":
                    rank[0 if r["threads"] == threads else 1] = r["median_ms"]
                elif r["threads"] == threads:
                    rank[2] = min(rank.get(2, 1e30), r["median_ms"])
        if not rank:
            return self.min_reps
        guess = rank[min(rank)]
        return max(self.min_reps, min(2000, int(self.target_s * 1e3 / guess)))

    def time_tcpu(self, entry, threads, run_index):
        model = os.path.join(self.onnx, entry["file"])
        for t in threads:
            n = self.iterations(entry["workload"], t)
            cmd = [self.args.tcpu_run, model, "--benchmark", str(n), "--threads", str(t)]
            for i in entry["inputs"]:
                cmd += ["--input-shape", i["name"] + "=" + "x".join(str(d) for d in i["shape"])]
            cmd += self.args.tcpu_arg
            env = dict(os.environ, TCPU_NUM_THREADS=str(t), OMP_NUM_THREADS=str(t))
            rc, out, err = run(cmd, self.args.timeout, env=env)
            rows = [r for r in json_lines(out) if "median_ms" in r]
            base = {"peer": "tcpu", "workload": entry["workload"], "threads": t, "run": run_index,
                    "flops": entry["flops"]}
            if rc == 0 and rows:
                self.emit(dict(rows[-1], **base))
                log(f"  tcpu {entry['workload']} threads={t}: {rows[-1]['median_ms']:.4g} ms "
                    f"(compile {rows[-1].get('compile_ms', 0) / 1e3:.1f} s, {n} iterations)")
            else:
                self.emit(dict(base, error=failure(rc, out, err, self.args.timeout)))
                log(f"  tcpu {entry['workload']} threads={t}: {self.records[-1]['error']}")

    def time_peers(self, entry, threads, run_index):
        if self.node_modules:
            self.time_ort(entry, threads, run_index)
        if self.torch_ok:
            self.time_torch(entry, threads, run_index)
        best = {}
        for r in self.records:
            if r.get("run") == run_index and r.get("workload") == entry["workload"] and r.get("peer") != "tcpu" \
                    and "median_ms" in r:
                best[r["threads"]] = min(best.get(r["threads"], 1e30), r["median_ms"])
        log(f"  peers {entry['workload']}: " + ", ".join(f"threads={t} best {m:.4g} ms" for t, m in sorted(best.items())))


def cpu_name():
    """Model name, plus "avx512f" when present: peak.cpp measures AVX2 FMA only."""
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
    except OSError:
        return "unknown"
    name = re.search(r"^model name\s*:\s*(.*)$", info, re.M)
    flags = re.search(r"^flags\s*:\s*(.*)$", info, re.M)
    avx512 = flags and "avx512f" in flags.group(1).split()
    return (name.group(1).strip() if name else "unknown") + (" with avx512f" if avx512 else "")


def parse_args(argv):
    ap = argparse.ArgumentParser(description="tcpu against ONNX Runtime and PyTorch, one markdown table.")
    ap.add_argument("--only", help="workloads whose name contains this")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--runs", type=int, default=1, help="repeat everything N times; medians over runs")
    ap.add_argument("--build", default="build", help="tcpu build folder (default: build)")
    ap.add_argument("--quick", action="store_true", help="fewer iterations (>= 3 instead of >= 10)")
    ap.add_argument("--scratch", default=os.path.join(tempfile.gettempdir(), "tcpu_bench"),
                    help="exported models, onnxruntime-node, peak binary (reused across runs; "
                         "default $TMPDIR or /tmp, + /tcpu_bench, as ../shared/bench/run_all.sh)")
    ap.add_argument("--out", help="results folder (default SCRATCH/results/<time>)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per tcpu-run or peer call")
    ap.add_argument("--tcpu-arg", action="append", default=[], help="extra tcpu-run argument (repeatable)")
    ap.add_argument("--peers-dir", default=os.environ.get("TCPU_PEER_BENCH_DIR",
                                                          os.path.join(os.path.dirname(REPO), "shared", "bench")))
    ap.add_argument("--peak-gflops", nargs="+", default=[], metavar="T=GFLOPS",
                    help="use these peaks (e.g. 1=96.8 2=190.4) instead of measuring with peak.cpp")
    args = ap.parse_args(argv)
    try:
        args.peak_gflops = {int(k): float(v) for k, v in (p.split("=") for p in args.peak_gflops)}
    except ValueError:
        ap.error("--peak-gflops takes THREADS=GFLOPS pairs, e.g. 1=96.8 2=190.4")
    if args.runs < 1 or any(t < 1 for t in args.threads):
        ap.error("--runs and --threads need positive numbers")
    build = args.build
    if not os.path.isabs(build) and not os.path.isdir(build) and os.path.isdir(os.path.join(REPO, build)):
        build = os.path.join(REPO, build)
    args.tcpu_run = os.path.abspath(os.path.join(build, "tools", "tcpu-run"))
    if not os.access(args.tcpu_run, os.X_OK):
        ap.error(f"no tcpu-run at {args.tcpu_run}: build the tcpu-run target or pass --build")
    if not os.path.isfile(os.path.join(args.peers_dir, "export_onnx.py")):
        ap.error(f"no peer scripts in {args.peers_dir} (--peers-dir or TCPU_PEER_BENCH_DIR)")
    args.peers_dir = os.path.abspath(args.peers_dir)
    args.scratch = os.path.abspath(args.scratch)
    return args


def main(argv):
    args = parse_args(argv)
    os.makedirs(args.scratch, exist_ok=True)
    out_dir = args.out or os.path.join(args.scratch, "results", datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))
    os.makedirs(out_dir, exist_ok=True)
    b = Bench(args)
    b.out_file = open(os.path.join(out_dir, "results.jsonl"), "w")

    manifest = b.export_models()
    names = [w for w in compare_table.WORKLOADS if not args.only or args.only in w]
    missing = [w for w in names if w not in manifest]
    names = [w for w in names if w in manifest]
    if not names:
        sys.exit(f"compare: no workload matches --only {args.only!r}")
    b.emit({"meta": {"date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), "runs": args.runs,
                     "quick": args.quick, "tcpu-run": args.tcpu_run,
                     "load average": " ".join(f"{x:.1f}" for x in os.getloadavg()), "cpu": cpu_name()}})
    for w in missing:
        b.emit({"peer": "tcpu", "workload": w, "threads": args.threads[0], "error": "not in the exported manifest"})

    b.node_modules, why = b.setup_ort()
    if why:
        b.emit({"missing": "ort", "why": why})
        log(f"ONNX Runtime missing: {why}")
    why = b.setup_torch()
    b.torch_ok = why is None
    if why:
        b.emit({"missing": "torch-eager", "why": why})
        b.emit({"missing": "torch-jit", "why": why})
        log(f"PyTorch missing: {why}")
    peak, why = b.setup_peak()
    if why:
        log(f"peak benchmark failed to build: {why}")

    try:
        for r in range(1, args.runs + 1):
            log(f"run {r}/{args.runs}")
            if peak or args.peak_gflops:
                b.measure_peak(peak, r)
            for w in names:
                entry = manifest[w]
                # Peers first on odd runs, tcpu first on even ones.
                steps = [b.time_peers, b.time_tcpu] if r % 2 else [b.time_tcpu, b.time_peers]
                for step in steps:
                    step(entry, args.threads, r)
        if peak and not args.peak_gflops:  # a second chance to catch the cores free
            b.measure_peak(peak, args.runs)
    except KeyboardInterrupt:
        log("interrupted: the table below has what was measured so far")
    table = compare_table.render(b.records, args.threads, compare_table.WORKLOADS)
    b.out_file.close()
    with open(os.path.join(out_dir, "table.md"), "w") as f:
        f.write(table)
    sys.stdout.write(table)
    log(f"results: {out_dir}/results.jsonl, table: {out_dir}/table.md")


if __name__ == "__main__":
    main(sys.argv[1:])

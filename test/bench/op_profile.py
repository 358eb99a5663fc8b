"""Per-op times of tcpu beside ONNX Runtime's on one workload: where a model loses.

Usage: test/bench/op_profile.sh WORKLOAD [--threads T] [--runs N] [--build DIR] [--top K]

tcpu's side is `tcpu-run MODEL --profile N` (one line per compiled step, named after the
value it computes); ONNX Runtime's is its own profiler (ort_profile.js, one kernel time
per node, median over the runs). A tcpu step and an ORT node are paired when the ORT
node's name starts with the step's value name (ORT names the nodes its layout pass
creates after their output, e.g. `<value>_nchwc`); what pairs with nothing is listed
apart. Rows are sorted by how much longer tcpu takes than ORT. The models and
onnxruntime-node are the ones compare.sh prepares in the scratch folder (it is run
first if they are missing). Profilers add overhead on both sides: use the figures to
rank ops, and compare.sh for model times.
"""
import argparse
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)
import compare  # noqa: E402

STEP = re.compile(r"^\s+([\d.]+)\s+[\d.]+%\s+(\S+)\s+%(\S+)")


def tcpu_steps(tcpu_run, model, entry, threads, runs):
    cmd = [tcpu_run, model, "--profile", str(runs), "--threads", str(threads)]
    for i in entry["inputs"]:
        cmd += ["--input-shape", i["name"] + "=" + "x".join(str(d) for d in i["shape"])]
    rc, out, err = compare.run(cmd, 900)
    if rc != 0:
        sys.exit("op_profile: tcpu-run failed: " + compare.failure(rc, out, err, 900))
    steps = []
    for line in out.splitlines():
        m = STEP.match(line)
        if m:
            steps.append({"name": m.group(3), "kind": m.group(2), "us": float(m.group(1)) * 1e3})
    return steps


def ort_nodes(node_modules, model, entry, threads, runs, scratch):
    cmd = ["node", os.path.join(HERE, "ort_profile.js"), model, str(threads), str(runs),
           os.path.join(scratch, "ort_profile")]
    cmd += [i["name"] + "=" + "x".join(str(d) for d in i["shape"]) for i in entry["inputs"]]
    rc, out, err = compare.run(cmd, 900, env=dict(os.environ, NODE_PATH=node_modules))
    rows = compare.json_lines(out)
    if rc != 0 or not rows:
        sys.exit("op_profile: ort_profile.js failed: " + compare.failure(rc, out, err, 900))
    return [r for r in rows if "node" in r], next((r["run_us"] for r in rows if "run_us" in r), 0)


def directory(name):
    return name[:name.rfind("/") + 1]


def pair(steps, nodes):
    """(step or None, [nodes]) rows. A node goes to the step with the longest name that
    prefixes it; a node left over then goes to a step left over in the same folder of
    names when only one is there (tcpu names a fused conv + add after the add, ORT
    after the conv: /f.3/Add_output_0 and /f.3/conv/conv.2/Conv_output_0_nchwc)."""
    by_step = {s["name"]: [] for s in steps}
    alone = []
    for n in nodes:
        owners = [s for s in by_step if n["node"].startswith(s)]
        if owners:
            by_step[max(owners, key=len)].append(n)
        else:
            alone.append(n)
    for n in list(alone):
        free = [s for s in by_step if not by_step[s] and directory(s) and n["node"].startswith(directory(s))]
        if len(free) == 1:
            by_step[free[0]].append(n)
            alone.remove(n)
    rows = [(s, by_step[s["name"]]) for s in steps]
    rows += [(None, [n]) for n in alone]
    return rows


def render(rows, top, tcpu_total, ort_total, ort_run_us):
    def diff(row):
        s, ns = row
        return (s["us"] if s else 0) - sum(n["us"] for n in ns)

    rows = sorted(rows, key=diff, reverse=True)
    out = [f"tcpu steps {tcpu_total / 1e3:.3f} ms, ORT nodes {ort_total / 1e3:.3f} ms "
           f"(ORT run {ort_run_us / 1e3:.3f} ms with its profiler on)", "",
           "| tcpu step | kind | tcpu us | ORT node(s) | ORT us | tcpu - ORT |", "|---|---|---|---|---|---|"]
    for row in rows[:top] if top else rows:
        s, ns = row
        ort_us = sum(n["us"] for n in ns)
        names = ", ".join(f"{n['op']} {json.dumps(n['shape'])}" for n in ns) or "-"
        out.append(f"| {s['name'] if s else '-'} | {s['kind'] if s else '-'} | "
                   f"{s['us'] if s else 0:.0f} | {names} | {ort_us:.0f} | {diff(row):+.0f} |")
    return "\n".join(out) + "\n"


def main(argv):
    ap = argparse.ArgumentParser(description="per-op times of tcpu beside ONNX Runtime's")
    ap.add_argument("workload", help="a workload of the exported manifest, e.g. mobilenet_v2_b1")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--top", type=int, default=0, help="only the K rows where tcpu loses most")
    ap.add_argument("--build", default="build")
    args = ap.parse_args(argv)
    if args.threads < 1 or args.runs < 1:
        ap.error("--threads and --runs need positive numbers")
    # compare.py's own checks and defaults for the build, scratch and peer folders.
    base = compare.parse_args(["--build", args.build, "--threads", str(args.threads)])
    bench = compare.Bench(base)
    manifest = bench.export_models()
    if args.workload not in manifest:
        sys.exit(f"op_profile: no workload {args.workload!r}; there are: {', '.join(sorted(manifest))}")
    node_modules, why = bench.setup_ort()
    if why:
        sys.exit("op_profile: ONNX Runtime missing: " + why)
    entry = manifest[args.workload]
    model = os.path.join(bench.onnx, entry["file"])
    steps = tcpu_steps(base.tcpu_run, model, entry, args.threads, args.runs)
    nodes, run_us = ort_nodes(node_modules, model, entry, args.threads, args.runs, base.scratch)
    sys.stdout.write(render(pair(steps, nodes), args.top, sum(s["us"] for s in steps),
                            sum(n["us"] for n in nodes), run_us))


if __name__ == "__main__":
    main(sys.argv[1:])

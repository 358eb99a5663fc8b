"""Turns the JSON lines of test/bench/compare.py into the markdown comparison table.

Usage: /usr/bin/python3 compare_table.py RESULTS.jsonl [--threads 1 2]
       (re-renders a saved run; compare.py calls render() itself)

Input lines (one JSON object each; other lines are ignored):
  {"peer": "tcpu" | "ort-node-1.30.0" | "torch-eager[+omp-passive]" | "torch-jit-frozen[...]",
   "workload": W, "threads": T, "run": R, "median_ms": .., "min_ms": .., "flops": ..,
   ["compile_ms": .., "fallback_ops": [..]]}            a timing
  {"peer": .., "workload": W, "threads": T, "error": MSG}  a failure (first line shown in the cell)
  {"bench": "peak_fp32_fma", "threads": T, "gflops_best": ..}  ../shared/bench/peak output
  {"missing": PEER_FAMILY, "why": MSG}                   a peer that could not be run at all
  {"meta": {...}}                                        run description for the header

Per (workload, threads, peer) the time is the median over runs of each run's median. A
peer family (ONNX Runtime, PyTorch eager, PyTorch jit) takes its fastest variant (PyTorch
at 2 threads is also run with OMP_WAIT_POLICY=passive; that variant is marked "p").
% peak is GFLOP/s over the best peak_fp32_fma measurement at that thread count: the
best, not the median, because the machine is shared and a loaded measurement would
understate what the cores can do.
"""
import argparse
import json
import statistics
import sys
from collections import defaultdict

# The workloads, in its order.
WORKLOADS = ["matmul_1024", "conv7x7s2_b8", "conv7x7s2_b128", "lstm_s128_b32_h256", "mlp_b1", "mlp_b64",
             "resnet18_b1", "resnet18_b8", "mobilenet_v2_b1", "transformer_enc_s128_b1"]
# Column order and titles; "tcpu" is not a peer.
FAMILIES = [("tcpu", "tcpu"), ("ort", "ONNX Runtime"), ("torch-eager", "PyTorch eager"),
            ("torch-jit", "PyTorch jit.freeze")]
PEERS = [f for f, _ in FAMILIES if f != "tcpu"]
SHORT = {"ort": "ORT", "torch-eager": "eager", "torch-jit": "jit"}
PASSIVE = "+omp-passive"


def target(workload):
    """The issue's bound on tcpu / best peer: 0.75 on the two conv workloads, 1 elsewhere."""
    return 0.75 if workload.startswith("conv") else 1.0


def family(peer):
    if peer == "tcpu":
        return "tcpu"
    if peer.startswith("ort"):
        return "ort"
    if peer.startswith("torch-jit"):
        return "torch-jit"
    if peer.startswith("torch-eager") and "qint8" not in peer:
        return "torch-eager"
    return None


def first_line(msg, limit=140):
    lines = [l.strip() for l in str(msg).splitlines() if l.strip()]
    line = lines[0] if lines else "failed"
    return line if len(line) <= limit else line[:limit - 3] + "..."


def cell(text):
    """Markdown-safe table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def fmt_ms(ms):
    return f"{ms:.0f}" if ms >= 1000 else f"{ms:.4g}"


class Summary:
    """Groups the records; see the module docstring for what is taken from each."""

    def __init__(self, records):
        self.times = defaultdict(list)      # (workload, threads, peer) -> [record]
        self.errors = defaultdict(list)     # (workload, threads, family) -> [message]
        self.peak = {}                      # threads -> GFLOP/s
        self.peak_source = set()
        self.missing = {}                   # family -> why
        self.meta = {}
        for r in records:
            if "meta" in r:
                self.meta.update(r["meta"])
            elif "missing" in r:
                self.missing[r["missing"]] = r.get("why", "")
            elif r.get("bench") == "peak_fp32_fma":
                g = r.get("gflops_best", r.get("gflops_median"))
                if g:
                    self.peak[r["threads"]] = max(g, self.peak.get(r["threads"], 0))
                    self.peak_source.add(r.get("source", "peak.cpp"))
            elif "workload" in r and family(r.get("peer", "")):
                key = (r["workload"], r["threads"])
                if "error" in r:
                    self.errors[key + (family(r["peer"]),)].append(r["error"])
                elif "median_ms" in r:
                    self.times[key + (r["peer"],)].append(r)

    def best_of_family(self, workload, threads, fam):
        """(median ms, peer name, [records]) of the family's fastest variant, or None."""
        best = None
        for (w, t, peer), rs in self.times.items():
            if w == workload and t == threads and family(peer) == fam:
                med = statistics.median(r["median_ms"] for r in rs)
                if best is None or med < best[0]:
                    best = (med, peer, rs)
        return best

    def flops(self, workload):
        for (w, _, _), rs in self.times.items():
            if w == workload and rs[0].get("flops"):
                return rs[0]["flops"]
        return None

    def pct_peak(self, workload, threads, ms):
        f, p = self.flops(workload), self.peak.get(threads)
        if not f or not p or ms <= 0:
            return None
        return f / (ms * 1e6) / p * 100


def render(records, threads=None, workloads=None):
    """The markdown report (table, then notes) for the given records."""
    s = Summary(records)
    present = {k[0] for k in s.times} | {k[0] for k in s.errors}
    order = [w for w in (workloads or WORKLOADS) if w in present] + sorted(present - set(workloads or WORKLOADS))
    thread_list = threads or sorted({k[1] for k in s.times} | {k[1] for k in s.errors})
    out = []
    if s.meta:
        out.append("Run: " + ", ".join(f"{k} {v}" for k, v in s.meta.items()) + "\n")
    out.append("| workload | thr | tcpu ms (% peak) | compile s | fallback ops | ONNX Runtime | PyTorch eager "
               "| PyTorch jit.freeze | tcpu / best peer | target |")
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    fallbacks, verdicts, max_pct = {}, [], 0
    for w in order:
        for t in thread_list:
            cells, best_peer = [], None
            for fam, _ in FAMILIES:
                b = s.best_of_family(w, t, fam)
                if b:
                    pct = s.pct_peak(w, t, b[0])
                    max_pct = max(max_pct, pct or 0)
                    text = fmt_ms(b[0]) + (f" ({pct:.0f}%)" if pct is not None else "")
                    if b[1].endswith(PASSIVE):
                        text += " p"
                    if fam != "tcpu" and (best_peer is None or b[0] < best_peer[0]):
                        best_peer = (b[0], fam)
                elif s.errors.get((w, t, fam)):
                    text = "error: " + first_line(s.errors[(w, t, fam)][0])
                elif fam in s.missing:
                    text = "missing"
                else:
                    text = "—"
                cells.append((fam, text, b))
            tc = cells[0][2]
            compile_s = fallback = ""
            if tc:
                compile_s = f"{statistics.median(r.get('compile_ms', 0) for r in tc[2]) / 1e3:.2f}"
                fb = sorted({op for r in tc[2] for op in r.get("fallback_ops", [])})
                fallback = str(len(fb)) if fb else "0"
                if fb:
                    fallbacks[w] = fb
            if tc and best_peer:
                ratio = tc[0] / best_peer[0]
                ratio_text = f"{ratio:.2f} vs {SHORT[best_peer[1]]}"
                met = ratio <= target(w)
                target_text = f"<= {target(w):g}: {'met' if met else 'NOT met'}"
                verdicts.append((w, t, ratio, SHORT[best_peer[1]]))
            else:
                ratio_text, target_text = "—", f"<= {target(w):g}"
            row = [w, str(t), cells[0][1], compile_s, fallback] + [c[1] for c in cells[1:]] + [ratio_text, target_text]
            out.append("| " + " | ".join(cell(c) for c in row) + " |")

    notes = []
    if s.peak:
        notes.append(f"peak fp32 ({'; '.join(sorted(s.peak_source))}): " +
                     ", ".join(f"{t} thread{'s' if t > 1 else ''} {g:.1f} GFLOP/s" for t, g in sorted(s.peak.items())))
        if "avx512f" in str(s.meta.get("cpu", "")) and any("AVX2" in x for x in s.peak_source):
            notes.append("this CPU has AVX-512, whose FMA peak can be 2x the AVX2 one peak.cpp measures; "
                         "--peak-gflops T=G sets a known peak")
        if max_pct > 100:
            notes.append(f"a share above 100% (up to {max_pct:.0f}%) means the peak was understated: measured while "
                         "the machine was loaded, or below the ISA the code used")
    else:
        notes.append("peak fp32: not measured, so no % peak")
    notes.append("times: median ms over runs of each run's median; \"p\": PyTorch with OMP_WAIT_POLICY=passive "
                 "(faster than the default at that thread count)")
    for fam, why in s.missing.items():
        notes.append(f"peer missing: {dict(FAMILIES).get(fam, fam)}: {first_line(why, 300)}")
    above = [f"{w}@{t} {r:.2f}" for w, t, r, _ in verdicts if r > 1]
    below = [f"{w}@{t} {r:.2f}" for w, t, r, _ in verdicts if r <= 1]
    if verdicts:
        notes.append("tcpu slower than the best peer (ratio > 1): " + (", ".join(above) or "none"))
        notes.append("tcpu at or under the best peer: " + (", ".join(below) or "none"))
    for w, fb in fallbacks.items():
        kinds = defaultdict(int)
        for op in fb:
            kinds[op.split()[0]] += 1
        notes.append(f"fallback ops (run on the interpreter) in {w}: " +
                     ", ".join(f"{k} x{n}" for k, n in sorted(kinds.items())) + f" ({', '.join(fb[:3])}"
                     + (", ..." if len(fb) > 3 else "") + ")")
    for (w, t, fam), msgs in sorted(s.errors.items()):
        notes.append(f"error: {dict(FAMILIES).get(fam, fam)} {w} threads={t}: {first_line(msgs[0], 400)}"
                     + (f" ({len(msgs)} runs)" if len(msgs) > 1 else ""))
    out.append("")
    out += ["- " + n for n in notes]
    return "\n".join(out) + "\n"


def read_records(paths):
    records = []
    for path in paths:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    try:
                        records.append(json.loads(line))
                    except json.JSONDecodeError:
                        pass
    return records


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--threads", type=int, nargs="+")
    args = ap.parse_args(argv)
    sys.stdout.write(render(read_records(args.files), args.threads))


if __name__ == "__main__":
    main(sys.argv[1:])

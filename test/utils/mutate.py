#!/usr/bin/python3
"""Mutation smoke test: truncations and random byte flips of every lit input
must never crash tcpu-opt (or tcpu-run): exit 0, or exit 1 with an
"error:" message; never a signal, a sanitizer report, or a hang.

    mutate.py TOOLS_DIR FILE_OR_DIR... [--flips N] [--truncations N] [--seed S]
"""
import argparse
import os
import random
import subprocess
import sys
import tempfile

p = argparse.ArgumentParser()
p.add_argument("tools")
p.add_argument("paths", nargs="+")
p.add_argument("--flips", type=int, default=12)
p.add_argument("--truncations", type=int, default=8)
p.add_argument("--seed", type=int, default=1)
p.add_argument("--max-bytes", type=int, default=200_000,
               help="skip inputs larger than this (the bundled weights)")
a = p.parse_args()

files = []
for path in a.paths:
    if os.path.isdir(path):
        for root, _, names in os.walk(path):
            files += [os.path.join(root, n) for n in sorted(names) if n.endswith(".tir")]
    else:
        files.append(path)
files = sorted(f for f in files if os.path.getsize(f) <= a.max_bytes)
if not files:
    sys.exit("mutate.py: no inputs found")

rng = random.Random(a.seed)
opt = os.path.join(a.tools, "tcpu-opt")
run = os.path.join(a.tools, "tcpu-run")
failures = 0
cases = 0
tmp = tempfile.mkdtemp(prefix="tcpu-mutate-")


def check(cmd, label):
    global failures, cases
    cases += 1
    try:
        r = subprocess.run(cmd, capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        failures += 1
        print(f"HANG: {label}: {' '.join(cmd)}")
        return
    err = r.stderr.decode("utf-8", "replace")
    bad = None
    if r.returncode not in (0, 1):
        bad = f"exit code {r.returncode}"
    elif "Sanitizer" in err or "runtime error:" in err:
        bad = "sanitizer report"
    elif r.returncode == 1 and "error:" not in err:
        bad = "exit 1 without an error message"
    if bad:
        failures += 1
        print(f"FAIL ({bad}): {label}: {' '.join(cmd)}\n{err[-2000:]}")


for f in files:
    data = open(f, "rb").read()
    variants = []
    for k in range(a.truncations):
        cut = rng.randrange(0, max(1, len(data)))
        variants.append((f"truncated at {cut}", data[:cut]))
    for k in range(a.flips):
        b = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(b))
            b[i] = rng.choice([rng.randrange(256), ord("%"), ord("["), ord("]"),
                               ord("{"), ord("}"), ord(","), ord("-"), ord("9"), 0])
        variants.append((f"flipped bytes (variant {k})", bytes(b)))
    for label, content in variants:
        path = os.path.join(tmp, "m.tir")
        open(path, "wb").write(content)
        full = f"{os.path.basename(f)}: {label}"
        check([opt, path, "--split-input-file"], full)
        check([opt, path, "--split-input-file",
               "--pass-pipeline=canonicalize,fold,cse,dce"], full)
        if "--split-input-file" not in open(f, errors="replace").read(2000):
            check([run, path, "--print-limit", "0"], full)

print(f"{cases - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)

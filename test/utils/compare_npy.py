#!/usr/bin/python3
"""compare_npy.py GOT.npy WANT.npy [--rtol R] [--atol A]

Exits 0 when GOT and WANT have the same dtype and shape and every element
satisfies |got - want| <= atol + rtol * |want| (NaN matches NaN; integers and
bools must be equal); else prints the worst element and exits 1.
"""
import argparse
import sys

import numpy as np

p = argparse.ArgumentParser()
p.add_argument("got")
p.add_argument("want")
p.add_argument("--rtol", type=float, default=1e-5)
p.add_argument("--atol", type=float, default=1e-6)
a = p.parse_args()
got, want = np.load(a.got), np.load(a.want)
if got.dtype != want.dtype or got.shape != want.shape:
    print(f"mismatch: got {got.dtype}{list(got.shape)}, want {want.dtype}{list(want.shape)}")
    sys.exit(1)
if got.dtype.kind in "biu":
    bad = np.argwhere(got != want)
    if bad.size:
        i = tuple(bad[0])
        print(f"{len(bad)} elements differ; first at {i}: got {got[i]}, want {want[i]}")
        sys.exit(1)
else:
    g, w = got.astype(np.float64), want.astype(np.float64)
    err = np.abs(g - w)
    tol = a.atol + a.rtol * np.abs(w)
    ok = (err <= tol) | (np.isnan(g) & np.isnan(w)) | (g == w)
    if not ok.all():
        i = tuple(np.argwhere(~ok)[0])
        print(f"{(~ok).sum()} elements out of tolerance (rtol {a.rtol}, atol {a.atol}); "
              f"first at {i}: got {got[i]}, want {want[i]}; max abs error {np.nanmax(err)}")
        sys.exit(1)
print(f"ok: {got.dtype}{list(got.shape)} max abs error "
      f"{0.0 if got.dtype.kind in 'biu' or got.size == 0 else float(np.nanmax(np.abs(got.astype(np.float64) - want.astype(np.float64))))}")

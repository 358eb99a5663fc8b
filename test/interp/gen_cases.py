#!/usr/bin/python3
# Regenerate with `/usr/bin/python3 test/interp/gen_cases.py` (from anywhere);
# the output, test/interp/cases/, is committed.
#
# Independent-oracle data for the reference interpreter (test/unit/
# InterpreterCasesTest.cpp). Each case is a directory cases/<op>_<variant>/
# holding model.tir (one op in the IR text form), input_<i>.npy for each graph
# input, expected_<i>.npy for each output and optionally tolerance.txt
# ("rtol atol", after a comment line saying why).
#
# Expectations are computed here with NumPy in float64 (and Python's math.erf)
# from the exact input values, then rounded once to the result dtype: that is
# what the reference does (double arithmetic, one rounding), so f32 results
# agree to within the default tolerance (rtol 1e-5, atol 1e-6). Convolution,
# pooling and the recurrent layers are written out here loop by loop from the
# ONNX definitions, and cross-checked against PyTorch where PyTorch has the
# op, so that two independent implementations back each expectation.
# Deterministic: fixed seeds derived from the case name, no timestamps.

import math
import os
import shutil
import sys
import zlib

import numpy as np

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the cross-checks are skipped, the data is the same
    torch = None

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "cases")

DTYPE_NAMES = {
    np.dtype(np.float32): "f32",
    np.dtype(np.float16): "f16",
    np.dtype(np.int8): "i8",
    np.dtype(np.uint8): "u8",
    np.dtype(np.int32): "i32",
    np.dtype(np.int64): "i64",
    np.dtype(np.bool_): "bool",
}
F32, F16 = np.float32, np.float16
I8, U8, I32, I64, BOOL = np.int8, np.uint8, np.int32, np.int64, np.bool_

# f16 results are computed in double and rounded once, as the reference does.
# They agree exactly today; one f16 ulp (2^-11 to 2^-10 relative) is allowed
# because a last-bit difference between libm and NumPy in double can move a
# result across an f16 rounding boundary.
F16_TOL = ("f16 result: allows one f16 ulp (libm vs NumPy last-bit "
           "differences can cross an f16 rounding boundary)", 1e-3, 1e-5)

CASES = []


class DT:
    """A dtype attribute value."""

    def __init__(self, np_dtype):
        self.name = DTYPE_NAMES[np.dtype(np_dtype)]


def rng_for(name):
    return np.random.default_rng(zlib.crc32(name.encode()))


def type_str(a):
    a = np.asarray(a)
    return "%s[%s]" % (DTYPE_NAMES[a.dtype], ",".join(str(d) for d in a.shape))


def fmt_float(v):
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    r = repr(v)
    if "." not in r and "e" not in r:
        r += ".0"
    return r


def fmt_attr(v):
    if isinstance(v, DT):
        return v.name
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, float):
        return fmt_float(v)
    if isinstance(v, str):
        return '"%s"' % v
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(str(int(x)) for x in v) + "]"
    raise TypeError(v)


def case(name, op, operands, expected, attrs=None, out_names=None, tol=None):
    """One single-op case. operands: list of (name, array) or None for an
    absent optional operand; expected: array or list of arrays."""
    assert name.startswith(op + "_"), name
    assert all(c.isalnum() or c == "_" for c in name), name
    if not isinstance(expected, (list, tuple)):
        expected = [expected]
    expected = [np.array(e, order="C") for e in expected]
    for e in expected:
        assert e.dtype in DTYPE_NAMES, (name, e.dtype)
    while operands and operands[-1] is None:
        operands = operands[:-1]
    inputs = [o for o in operands if o is not None]
    for n, a in inputs:
        assert np.asarray(a).dtype in DTYPE_NAMES, (name, n, np.asarray(a).dtype)
    names = [n for n, _ in inputs]
    assert len(set(names)) == len(names), name
    if out_names is None:
        out_names = ["out"] if len(expected) == 1 else \
            ["out%d" % i for i in range(len(expected))]
    params = ", ".join("%%%s: %s" % (n, type_str(a)) for n, a in inputs)
    outs = ", ".join("%s: %s" % (n, type_str(e))
                     for n, e in zip(out_names, expected))
    args = ", ".join("none" if o is None else "%" + o[0] for o in operands)
    attr_s = ""
    if attrs:
        attr_s = " {" + ", ".join("%s = %s" % (k, fmt_attr(v))
                                  for k, v in attrs.items()) + "}"
    results = ", ".join("%%r%d" % i for i in range(len(expected)))
    tir = "graph @%s(%s) -> (%s) {\n" % (name, params, outs)
    tir += "  %s = %s%s%s : %s\n" % (results, op, " " + args if args else "",
                                     attr_s,
                                     ", ".join(type_str(e) for e in expected))
    tir += "  return %s\n}\n" % results
    if tol is None and any(e.dtype == np.float16 for e in expected) and \
            op not in NO_ARITH_OPS:
        tol = F16_TOL
    CASES.append((name, tir, [np.array(a, order="C") for _, a in inputs],
                  expected, tol))


# Ops that only move or compare values: their f16 results are exact.
NO_ARITH_OPS = {"round", "neg", "abs", "relu", "clip", "max", "min", "cast", "where",
                "reduce_max", "reduce_min", "max_pool2d", "reshape",
                "transpose", "concat", "slice", "gather", "expand", "pad",
                "squeeze", "unsqueeze", "flatten"}


def rnd(name, shape, dtype=F32, lo=None, hi=None, salt=""):
    """Deterministic test data. Floats are normal(0,1) unless [lo,hi) given;
    integers uniform in [lo,hi)."""
    r = rng_for(name + "/" + salt)
    dt = np.dtype(dtype)
    if dt == np.bool_:
        return r.integers(0, 2, size=shape).astype(np.bool_)
    if dt.kind == "f":
        if lo is None:
            a = r.standard_normal(size=shape)
        else:
            a = r.uniform(lo, hi, size=shape)
        return np.asarray(a).astype(dtype)
    return np.asarray(r.integers(lo, hi, size=shape)).astype(dtype)


def f64(a):
    return np.asarray(a).astype(np.float64)


def to(a, dtype):
    """Rounds a double result once to dtype (floats) or checks it is exact."""
    a = np.asarray(a)
    dt = np.dtype(dtype)
    if dt.kind in "iub" and a.dtype.kind == "f":
        raise AssertionError("use an integer computation for integer results")
    return a.astype(dtype)


def name_of(dtype):
    return DTYPE_NAMES[np.dtype(dtype)]


# --------------------------------------------------------------------------
# Elementwise unary, floating point.

def gen_unary_float():
    erf = np.vectorize(math.erf, otypes=[np.float64])

    def gelu(x, approx):
        if approx == "tanh":
            return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) *
                                          (x + 0.044715 * x ** 3)))
        return 0.5 * x * (1 + erf(x / math.sqrt(2)))

    fns = {
        "exp": (np.exp, None),
        "log": (np.log, (0.05, 5.0)),
        "sqrt": (np.sqrt, (0.0, 9.0)),
        "rsqrt": (lambda x: 1 / np.sqrt(x), (0.05, 9.0)),
        "reciprocal": (lambda x: 1 / x, None),
        "tanh": (np.tanh, None),
        "sigmoid": (lambda x: 1 / (1 + np.exp(-x)), None),
        "erf": (erf, None),
    }
    for op, (fn, rng) in fns.items():
        lo, hi = rng if rng else (None, None)
        for dt, shape in ((F32, (3, 4)), (F16, (2, 5)), (F32, ())):
            n = "%s_%s%s" % (op, name_of(dt), "_scalar" if shape == () else "")
            x = rnd(n, shape, dt, lo, hi) * (2 if rng is None else 1)
            x = x.astype(dt)
            if op == "reciprocal":
                x = np.where(np.abs(x) < 0.05, dt(0.5), x).astype(dt)
            with np.errstate(all="ignore"):
                case(n, op, [("x", x)], to(fn(f64(x)), dt))
    # IEEE special values: NaN and infinities propagate.
    special = np.array([0.0, -0.0, -1.0, np.inf, -np.inf, np.nan, 1e-30, 80.0],
                       dtype=F32)
    with np.errstate(all="ignore"):
        case("log_f32_special", "log", [("x", special)],
             to(np.log(f64(special)), F32))
        case("sqrt_f32_special", "sqrt", [("x", special)],
             to(np.sqrt(f64(special)), F32))
        case("exp_f32_special", "exp", [("x", special)],
             to(np.exp(f64(special)), F32))
        sig_x = np.array([-100.0, -20.0, 0.0, 20.0, 100.0, np.inf, -np.inf],
                         dtype=F32)
        case("sigmoid_f32_saturate", "sigmoid", [("x", sig_x)],
             to(1 / (1 + np.exp(-f64(sig_x))), F32))
        case("tanh_f32_saturate", "tanh", [("x", sig_x)],
             to(np.tanh(f64(sig_x)), F32))
        recip = np.array([0.0, -0.0, np.inf, 4.0], dtype=F32)
        case("reciprocal_f32_zero", "reciprocal", [("x", recip)],
             to(1 / f64(recip), F32))
    # gelu, exact and tanh forms.
    for approx in ("none", "tanh"):
        for dt, shape in ((F32, (3, 5)), (F16, (2, 4))):
            n = "gelu_%s_%s" % (approx, name_of(dt))
            x = (rnd(n, shape, dt) * 2).astype(dt)
            attrs = {"approximate": approx} if approx != "none" else None
            want = gelu(f64(x), approx)
            if torch is not None:
                t = F.gelu(torch.from_numpy(f64(x)), approximate=approx).numpy()
                assert np.allclose(t, want, rtol=1e-12, atol=1e-14), n
            case(n, "gelu", [("x", x)], to(want, dt), attrs)
    if torch is not None:
        xs = np.linspace(-4, 4, 33)
        assert np.allclose(erf(xs), torch.erf(torch.from_numpy(xs)).numpy(),
                           rtol=1e-14, atol=1e-15)
    x = np.array([-3.0, -0.5, 0.0, 0.25, 2.0], dtype=F32)
    case("gelu_f32_explicit_none", "gelu", [("x", x)],
         to(gelu(f64(x), "none"), F32), {"approximate": "none"})
    # round: halves go to the even neighbour (ONNX Round, NumPy).
    halves = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5, 1e7 + 0.5,
                       0.49999997, 2.5000002, -0.0, 8388609.0, np.inf,
                       -np.inf, np.nan], dtype=F32)
    case("round_f32_halves", "round", [("x", halves)],
         np.round(f64(halves)).astype(F32))
    x = (rnd("round_f32", (3, 5), F32) * 10).astype(F32)
    case("round_f32", "round", [("x", x)], np.round(f64(x)).astype(F32))
    xh = np.concatenate([(rnd("round_f16", (8,), F16) * 8).astype(F16),
                         np.array([0.5, 1.5, -2.5, 1000.5, 2049.0], F16)])
    case("round_f16", "round", [("x", xh)], np.round(f64(xh)).astype(F16))
    case("round_f32_scalar", "round", [("x", np.array(-7.5, F32))],
         np.array(-8.0, F32))
    # leaky_relu: default alpha 0.01, explicit alpha.
    for dt, alpha in ((F32, None), (F32, 0.2), (F16, 0.1), (F32, 1.5)):
        n = "leaky_relu_%s_%s" % (name_of(dt),
                                  "default" if alpha is None else
                                  ("alpha" + str(alpha).replace(".", "p")))
        x = rnd(n, (3, 4), dt)
        a = 0.01 if alpha is None else alpha
        want = np.where(f64(x) >= 0, f64(x), a * f64(x))
        case(n, "leaky_relu", [("x", x)], to(want, dt),
             None if alpha is None else {"alpha": alpha})


# --------------------------------------------------------------------------
# Elementwise unary, any number type.

def gen_unary_numeric():
    for dt in (F32, F16, I8, I32, I64):
        n = "neg_%s" % name_of(dt)
        x = rnd(n, (2, 5), dt, -100, 100) if dt not in (F32, F16) else \
            rnd(n, (2, 5), dt)
        want = -f64(x) if dt in (F32, F16) else -x.astype(np.int64)
        case(n, "neg", [("x", x)], to(want, dt) if dt in (F32, F16)
             else want.astype(dt))
    x = np.array(2.5, dtype=F32)
    case("neg_f32_scalar", "neg", [("x", x)], np.array(-2.5, dtype=F32))
    for dt in (F32, F16, I8, U8, I32, I64):
        n = "abs_%s" % name_of(dt)
        if dt in (F32, F16):
            x = rnd(n, (3, 4), dt)
        elif dt == U8:
            x = rnd(n, (3, 4), dt, 0, 256)
        else:
            x = rnd(n, (3, 4), dt, -127, 128)
        case(n, "abs", [("x", x)], np.abs(x))
    for dt in (F32, F16, I8, I32, I64, U8):
        n = "relu_%s" % name_of(dt)
        if dt in (F32, F16):
            x = rnd(n, (3, 4), dt)
        elif dt == U8:
            x = rnd(n, (3, 4), dt, 0, 256)
        else:
            x = rnd(n, (3, 4), dt, -100, 100)
        case(n, "relu", [("x", x)], np.maximum(x, np.zeros((), dt)).astype(dt))
    x = np.array(-1.0, dtype=F32)
    case("relu_f32_scalar", "relu", [("x", x)], np.array(0.0, dtype=F32))
    # clip: both bounds, min only, max only, none, integers.
    x = rnd("clip", (3, 5), F32) * 2
    x = x.astype(F32)
    case("clip_f32_both", "clip", [("x", x)],
         np.clip(x, F32(-1.0), F32(0.5)), {"min": -1.0, "max": 0.5})
    case("clip_f32_min_only", "clip", [("x", x)], np.maximum(x, F32(-0.25)),
         {"min": -0.25})
    case("clip_f32_max_only", "clip", [("x", x)], np.minimum(x, F32(0.75)),
         {"max": 0.75})
    case("clip_f32_no_bounds", "clip", [("x", x)], x.copy())
    case("clip_f32_relu6", "clip", [("x", x * 4)], np.clip(x * 4, 0, 6)
         .astype(F32), {"min": 0.0, "max": 6.0})
    xi = rnd("clip_i32", (2, 6), I32, -20, 20)
    case("clip_i32_both", "clip", [("x", xi)], np.clip(xi, -5, 7).astype(I32),
         {"min": -5.0, "max": 7.0})
    xu = rnd("clip_u8", (2, 6), U8, 0, 256)
    case("clip_u8_max_only", "clip", [("x", xu)],
         np.minimum(xu, 100).astype(U8), {"max": 100.0})
    xh = rnd("clip_f16", (2, 6), F16)
    case("clip_f16_both", "clip", [("x", xh)],
         np.clip(xh, F16(-0.5), F16(0.5)).astype(F16),
         {"min": -0.5, "max": 0.5})
    x8 = rnd("clip_i8", (2, 6), I8, -100, 100)
    case("clip_i8_min_only", "clip", [("x", x8)],
         np.maximum(x8, -10).astype(I8), {"min": -10.0})


# --------------------------------------------------------------------------
# Elementwise binary with broadcasting.

def trunc_div(a, b):
    a = a.astype(np.int64)
    b = b.astype(np.int64)
    q = np.abs(a) // np.abs(b)
    return np.where((a < 0) != (b < 0), -q, q)


def int_pow(a, b):
    a, b = np.broadcast_arrays(a.astype(np.int64), b.astype(np.int64))
    out = np.empty(a.shape, dtype=np.int64)
    for i in np.ndindex(a.shape):
        out[i] = int(a[i]) ** int(b[i])
    return out


SHAPE_SETS = [
    ("same", (2, 3), (2, 3)),
    ("bcast_row", (2, 3), (3,)),
    ("bcast_both", (2, 1, 4), (3, 1)),
    ("scalar_rhs", (2, 3), ()),
    ("scalar_lhs", (), (4,)),
    ("scalars", (), ()),
]


def gen_binary():
    ops = {
        "add": lambda a, b: a + b,
        "sub": lambda a, b: a - b,
        "mul": lambda a, b: a * b,
        "div": lambda a, b: a / b,
        "pow": lambda a, b: a ** b,
        "max": np.maximum,
        "min": np.minimum,
    }
    for op, fn in ops.items():
        # f32 over every broadcast pattern.
        for tag, sa, sb in SHAPE_SETS:
            n = "%s_f32_%s" % (op, tag)
            a = rnd(n, sa, F32, salt="a")
            b = rnd(n, sb, F32, salt="b")
            if op == "pow":
                a = rnd(n, sa, F32, 0.1, 3.0, salt="a")
                b = rnd(n, sb, F32, -2.0, 2.0, salt="b")
            if op == "div":
                b = np.where(np.abs(b) < 0.1, F32(0.5), b).astype(F32)
            case(n, op, [("lhs", a), ("rhs", b)], to(fn(f64(a), f64(b)), F32))
        # f16.
        n = "%s_f16_bcast" % op
        a = rnd(n, (2, 4), F16, salt="a")
        b = rnd(n, (4,), F16, salt="b")
        if op == "pow":
            a = rnd(n, (2, 4), F16, 0.1, 3.0, salt="a")
        if op == "div":
            b = np.where(np.abs(b) < 0.1, F16(0.5), b).astype(F16)
        case(n, op, [("lhs", a), ("rhs", b)], to(fn(f64(a), f64(b)), F16))
        # integers.
        for dt in (I32, I64, I8, U8):
            n = "%s_%s" % (op, name_of(dt))
            sa, sb = ((2, 3), (2, 3)) if dt != I64 else ((2, 1), (1, 3))
            if dt == U8:
                a = rnd(n, sa, dt, 0, 16, salt="a")
                b = rnd(n, sb, dt, 0, 16, salt="b")
                if op == "sub":
                    a, b = np.maximum(a, b), np.minimum(a, b)
            else:
                a = rnd(n, sa, dt, -11, 12, salt="a")
                b = rnd(n, sb, dt, -11, 12, salt="b")
            if op == "pow":
                a = rnd(n, sa, dt, -3 if dt != U8 else 0, 4, salt="a")
                b = rnd(n, sb, dt, 0, 4, salt="b")
            if op == "div":
                b = np.where(b == 0, dt(3), b).astype(dt)
            if op == "mul" and dt == I8:
                a = rnd(n, sa, dt, -11, 12, salt="a")
                b = rnd(n, sb, dt, -11, 12, salt="b")
            if op == "div":
                want = trunc_div(a, b)
            elif op == "pow":
                want = int_pow(a, b)
            else:
                want = fn(a.astype(np.int64), b.astype(np.int64))
            want = np.asarray(want)
            info = np.iinfo(dt)
            assert want.min() >= info.min and want.max() <= info.max, n
            case(n, op, [("lhs", a), ("rhs", b)], want.astype(dt))
    # Integer division truncates toward zero (not floor), all sign patterns.
    a = np.array([7, -7, 7, -7, 6, -6, 0, 1, -1, 100], dtype=I32)
    b = np.array([2, 2, -2, -2, 3, 3, 5, 7, 7, -9], dtype=I32)
    case("div_i32_trunc_signs", "div", [("lhs", a), ("rhs", b)],
         trunc_div(a, b).astype(I32))
    case("div_i64_trunc_signs", "div", [("lhs", a.astype(I64)),
                                        ("rhs", b.astype(I64))],
         trunc_div(a, b).astype(I64))
    case("div_i8_trunc_signs", "div", [("lhs", a.astype(I8)),
                                       ("rhs", b.astype(I8))],
         trunc_div(a, b).astype(I8))
    # Float division by zero: IEEE infinities and NaN.
    a = np.array([1.0, -1.0, 0.0, 2.0], dtype=F32)
    b = np.array([0.0, 0.0, 0.0, -0.0], dtype=F32)
    with np.errstate(all="ignore"):
        case("div_f32_by_zero", "div", [("lhs", a), ("rhs", b)],
             to(f64(a) / f64(b), F32))
        # pow: negative base with integral and fractional exponents.
        a = np.array([-2.0, -2.0, -8.0, 0.0, 0.0, 2.0, -1.5], dtype=F32)
        b = np.array([3.0, 0.5, 2.0, 0.0, -1.0, 10.0, 2.0], dtype=F32)
        case("pow_f32_special", "pow", [("lhs", a), ("rhs", b)],
             to(np.power(f64(a), f64(b)), F32))


def gen_compare_logic():
    ops = {"eq": np.equal, "lt": np.less, "le": np.less_equal,
           "gt": np.greater, "ge": np.greater_equal}
    for op, fn in ops.items():
        # Small integer-valued data so that equal pairs occur.
        for dt, sa, sb in ((F32, (3, 4), (3, 4)), (F32, (3, 1), (4,)),
                           (I32, (2, 3), (2, 3)), (I64, (2, 3), ()),
                           (F16, (4,), (4,)), (U8, (2, 2), (2, 1)),
                           (I8, (), (5,))):
            n = "%s_%s_%s" % (op, name_of(dt),
                              "x".join(map(str, sa)) or "s") + \
                "_" + ("x".join(map(str, sb)) or "s")
            if np.dtype(dt).kind == "f":
                a = np.round(rnd(n, sa, F32, -3, 3, salt="a")).astype(dt)
                b = np.round(rnd(n, sb, F32, -3, 3, salt="b")).astype(dt)
                a = (a + np.asarray(0.5, dt) * (a > 1)).astype(dt)
            else:
                lo = 0 if dt == U8 else -3
                a = rnd(n, sa, dt, lo, 4, salt="a")
                b = rnd(n, sb, dt, lo, 4, salt="b")
            case(n, op, [("lhs", a), ("rhs", b)], fn(a, b))
        a = np.array([np.nan, 1.0, np.nan, -np.inf, np.inf, -0.0], dtype=F32)
        b = np.array([np.nan, np.nan, 1.0, -np.inf, 1e30, 0.0], dtype=F32)
        case("%s_f32_nan_inf" % op, op, [("lhs", a), ("rhs", b)], fn(a, b))
    a = rnd("not_bool", (2, 3), BOOL)
    case("not_bool", "not", [("x", a)], np.logical_not(a))
    case("not_bool_scalar", "not", [("x", np.array(True))], np.array(False))
    for op, fn in (("and", np.logical_and), ("or", np.logical_or)):
        for tag, sa, sb in (("same", (2, 4), (2, 4)), ("bcast", (3, 1), (1, 4)),
                            ("scalar", (2, 3), ())):
            n = "%s_bool_%s" % (op, tag)
            a = rnd(n, sa, BOOL, salt="a")
            b = rnd(n, sb, BOOL, salt="b")
            if sb == ():
                b = np.array(op == "and")
            case(n, op, [("lhs", a), ("rhs", b)], fn(a, b))
        # Exhaustive truth table.
        a = np.array([False, False, True, True])
        b = np.array([False, True, False, True])
        case("%s_bool_truth_table" % op, op, [("lhs", a), ("rhs", b)], fn(a, b))


def gen_where():
    for tag, sc, sa, sb, dt in (("same", (2, 3), (2, 3), (2, 3), F32),
                                ("bcast3", (2, 1), (3,), (1, 3), F32),
                                ("scalar_branches", (2, 3), (), (), F32),
                                ("scalar_cond", (), (2, 2), (2, 2), F32),
                                ("i32", (3, 1), (1, 4), (3, 4), I32),
                                ("i64", (4,), (4,), (), I64),
                                ("bool", (2, 2), (2, 2), (2,), BOOL),
                                ("f16", (2, 3), (2, 3), (3,), F16),
                                ("u8", (2, 3), (2, 3), (2, 3), U8)):
        n = "where_" + tag
        c = rnd(n, sc, BOOL, salt="c")
        if sc == ():
            c = np.array(True)
        lo, hi = (0, 50) if np.dtype(dt).kind in "iu" else (None, None)
        a = rnd(n, sa, dt, lo, hi, salt="a")
        b = rnd(n, sb, dt, lo, hi, salt="b")
        case(n, "where", [("cond", c), ("lhs", a), ("rhs", b)],
             np.where(c, a, b).astype(dt))


def gen_cast():
    # Float -> integer truncates toward zero.
    x = np.array([[2.5, -2.5, 2.9, -2.9, 0.4, -0.4],
                  [100.75, -100.75, 7.0, -7.0, 0.0, -0.0]], dtype=F32)
    case("cast_f32_i32", "cast", [("x", x)], np.trunc(x).astype(I32),
         {"to": DT(I32)})
    case("cast_f32_i64", "cast", [("x", x)], np.trunc(x).astype(I64),
         {"to": DT(I64)})
    case("cast_f32_i8", "cast", [("x", x)], np.trunc(x).astype(I8),
         {"to": DT(I8)})
    xu = np.array([0.0, 0.9, 1.5, 254.99, 17.2, 255.0], dtype=F32)
    case("cast_f32_u8", "cast", [("x", xu)], np.trunc(xu).astype(U8),
         {"to": DT(U8)})
    case("cast_f16_i32", "cast", [("x", x.astype(F16))],
         np.trunc(x.astype(F16).astype(np.float64)).astype(I32),
         {"to": DT(I32)})
    # Float -> bool: nonzero is true (NaN is nonzero).
    xb = np.array([0.0, -0.0, 0.5, -3.0, np.inf, np.nan], dtype=F32)
    case("cast_f32_bool", "cast", [("x", xb)], xb != 0, {"to": DT(BOOL)})
    # Bool -> numbers.
    b = np.array([[True, False, True], [False, False, True]])
    for dt in (F32, I32, U8, F16, I64):
        case("cast_bool_%s" % name_of(dt), "cast", [("x", b)], b.astype(dt),
             {"to": DT(dt)})
    # Integer -> float and integer -> integer (values in range).
    xi = np.array([-1000, -7, 0, 3, 65504, 123456], dtype=I32)
    case("cast_i32_f32", "cast", [("x", xi)], xi.astype(F32), {"to": DT(F32)})
    xi16 = np.array([-1000, -7, 0, 3, 2049, 60000], dtype=I32)
    case("cast_i32_f16", "cast", [("x", xi16)], xi16.astype(np.float64)
         .astype(F16), {"to": DT(F16)})
    case("cast_i32_i64", "cast", [("x", xi)], xi.astype(I64), {"to": DT(I64)})
    case("cast_i32_bool", "cast", [("x", xi)], xi != 0, {"to": DT(BOOL)})
    x64 = np.array([-128, -1, 0, 1, 127, 42], dtype=I64)
    case("cast_i64_i8", "cast", [("x", x64)], x64.astype(I8), {"to": DT(I8)})
    case("cast_i64_i32", "cast", [("x", x64 * 1000)], (x64 * 1000).astype(I32),
         {"to": DT(I32)})
    xu8 = np.array([0, 1, 128, 200, 255], dtype=U8)
    case("cast_u8_i32", "cast", [("x", xu8)], xu8.astype(I32), {"to": DT(I32)})
    case("cast_u8_f32", "cast", [("x", xu8)], xu8.astype(F32), {"to": DT(F32)})
    x8 = np.array([-128, -5, 0, 5, 127], dtype=I8)
    case("cast_i8_f32", "cast", [("x", x8)], x8.astype(F32), {"to": DT(F32)})
    case("cast_i8_i64", "cast", [("x", x8)], x8.astype(I64), {"to": DT(I64)})
    # Float <-> float: f32 -> f16 rounds to nearest even; f16 -> f32 exact.
    xf = rnd("cast_f32_f16", (3, 4), F32) * 100
    xf = np.concatenate([xf.astype(F32).ravel(),
                         np.array([65504.0, 1e-6, -0.0, np.inf, np.nan,
                                   1.00048828125, 1.00146484375], F32)])
    case("cast_f32_f16", "cast", [("x", xf)], xf.astype(F16), {"to": DT(F16)})
    xh = rnd("cast_f16_f32", (3, 4), F16)
    case("cast_f16_f32", "cast", [("x", xh)], xh.astype(F32), {"to": DT(F32)})
    case("cast_f32_f32_identity", "cast", [("x", xh.astype(F32))],
         xh.astype(F32), {"to": DT(F32)})
    case("cast_i32_f32_scalar", "cast", [("x", np.array(-3, I32))],
         np.array(-3.0, F32), {"to": DT(F32)})
    # Out-of-range floats saturate, NaN becomes 0 (ir/Tensor.h's conversion).
    xs = np.array([300.7, -300.2, np.nan, np.inf, -np.inf, 126.9], dtype=F32)
    case("cast_f32_i8_saturate", "cast", [("x", xs)],
         np.array([127, -128, 0, 127, -128, 126], dtype=I8), {"to": DT(I8)})


# --------------------------------------------------------------------------
# Linear algebra.

def gen_linalg():
    for tag, sa, sb, dt in (("2d", (3, 4), (4, 5), F32),
                            ("batched", (2, 3, 4), (2, 4, 2), F32),
                            ("bcast_rhs", (2, 3, 4), (4, 5), F32),
                            ("bcast_batch", (2, 1, 2, 3), (3, 3, 2), F32),
                            ("vec_mat", (4,), (4, 3), F32),
                            ("mat_vec", (2, 4), (4,), F32),
                            ("vec_vec", (5,), (5,), F32),
                            ("f16", (3, 8), (8, 2), F16),
                            ("k1", (4, 1), (1, 3), F32)):
        n = "matmul_" + tag
        a = rnd(n, sa, dt, salt="a")
        b = rnd(n, sb, dt, salt="b")
        case(n, "matmul", [("lhs", a), ("rhs", b)],
             to(np.matmul(f64(a), f64(b)), dt))
    # gemm: alpha * A' B' + beta * C with C unidirectionally broadcast.
    M, K, N = 3, 4, 5
    for tag, ta, tb, alpha, beta, cshape, dt in (
            ("basic", 0, 0, None, None, (M, N), F32),
            ("trans_a", 1, 0, None, None, (M, N), F32),
            ("trans_b", 0, 1, None, None, (N,), F32),
            ("trans_ab", 1, 1, 0.5, 2.0, (1, N), F32),
            ("alpha_beta", 0, 0, 1.5, -0.25, (M, 1), F32),
            ("c_scalar", 0, 1, None, 3.0, (), F32),
            ("no_c", 0, 0, 2.0, None, None, F32),
            ("no_c_beta", 1, 0, None, 5.0, None, F32),
            ("beta_zero", 0, 0, None, 0.0, (M, N), F32),
            ("f16", 0, 1, 0.5, 1.0, (N,), F16)):
        n = "gemm_" + tag
        a = rnd(n, (K, M) if ta else (M, K), dt, salt="a")
        b = rnd(n, (N, K) if tb else (K, N), dt, salt="b")
        ops = [("a", a), ("b", b)]
        al = 1.0 if alpha is None else alpha
        be = 1.0 if beta is None else beta
        want = al * (f64(a).T if ta else f64(a)) @ (f64(b).T if tb else f64(b))
        if cshape is not None:
            c = rnd(n, cshape, dt, salt="c")
            ops.append(("c", c))
            want = want + be * f64(c)
        attrs = {}
        if alpha is not None:
            attrs["alpha"] = alpha
        if beta is not None:
            attrs["beta"] = beta
        if ta:
            attrs["trans_a"] = 1
        if tb:
            attrs["trans_b"] = 1
        case(n, "gemm", ops, to(want, dt), attrs or None)
    # linear: x @ weight^T + bias (weight is [out, in], as in PyTorch).
    for tag, sx, nout, bias, dt in (("2d", (3, 4), 5, True, F32),
                                    ("3d", (2, 3, 4), 2, True, F32),
                                    ("no_bias", (3, 4), 5, False, F32),
                                    ("1d", (4,), 3, True, F32),
                                    ("f16", (2, 6), 3, True, F16)):
        n = "linear_" + tag
        x = rnd(n, sx, dt, salt="x")
        w = rnd(n, (nout, sx[-1]), dt, salt="w")
        ops = [("x", x), ("weight", w)]
        want = f64(x) @ f64(w).T
        if bias:
            b = rnd(n, (nout,), dt, salt="b")
            ops.append(("bias", b))
            want = want + f64(b)
        if torch is not None:
            t = F.linear(torch.from_numpy(f64(x)), torch.from_numpy(f64(w)),
                         torch.from_numpy(f64(b)) if bias else None).numpy()
            assert np.allclose(t, want, rtol=1e-12, atol=1e-12), n
        case(n, "linear", ops, to(want, dt))


# --------------------------------------------------------------------------
# Convolution and pooling, NCHW. pads = [top, left, bottom, right].

def conv2d_ref(x, w, b, strides, pads, dilations, groups):
    N, C, H, W = x.shape
    M, Cg, kH, kW = w.shape
    sh, sw = strides
    dh, dw = dilations
    pt, pl, pb, pr = pads
    xp = np.zeros((N, C, H + pt + pb, W + pl + pr))
    xp[:, :, pt:pt + H, pl:pl + W] = x
    OH = (H + pt + pb - dh * (kH - 1) - 1) // sh + 1
    OW = (W + pl + pr - dw * (kW - 1) - 1) // sw + 1
    out = np.zeros((N, M, OH, OW))
    Mg = M // groups
    for n in range(N):
        for m in range(M):
            g = m // Mg
            for oh in range(OH):
                for ow in range(OW):
                    s = 0.0
                    for c in range(Cg):
                        for i in range(kH):
                            for j in range(kW):
                                s += xp[n, g * Cg + c, oh * sh + i * dh,
                                        ow * sw + j * dw] * w[m, c, i, j]
                    out[n, m, oh, ow] = s + (b[m] if b is not None else 0.0)
    return out


def pool_out_size(size, k, s, p0, p1, d, ceil_mode):
    eff = d * (k - 1) + 1
    num = size + p0 + p1 - eff
    if ceil_mode:
        out = -(-num // s) + 1
        # The last window must start inside the input or the begin padding
        # (PyTorch and ONNX).
        if (out - 1) * s >= size + p0:
            out -= 1
    else:
        out = num // s + 1
    return out


def pool2d_ref(x, kind, kernel, strides, pads, dilations, ceil_mode,
               count_include_pad):
    N, C, H, W = x.shape
    kH, kW = kernel
    sh, sw = strides
    dh, dw = dilations
    pt, pl, pb, pr = pads
    OH = pool_out_size(H, kH, sh, pt, pb, dh, ceil_mode)
    OW = pool_out_size(W, kW, sw, pl, pr, dw, ceil_mode)
    out = np.zeros((N, C, OH, OW))
    for n in range(N):
        for c in range(C):
            for oh in range(OH):
                for ow in range(OW):
                    vals = []
                    padded = 0
                    for i in range(kH):
                        for j in range(kW):
                            h = oh * sh + i * dh - pt
                            w_ = ow * sw + j * dw - pl
                            if 0 <= h < H and 0 <= w_ < W:
                                vals.append(x[n, c, h, w_])
                            elif -pt <= h < H + pb and -pl <= w_ < W + pr:
                                padded += 1  # inside the explicit padding
                    if kind == "max":
                        out[n, c, oh, ow] = max(vals)
                    else:
                        cnt = len(vals) + (padded if count_include_pad else 0)
                        out[n, c, oh, ow] = sum(vals) / cnt
    return out


def gen_conv_pool():
    T = (lambda a: torch.from_numpy(f64(a))) if torch is not None else None
    for tag, N, C, H, W, M, k, strides, pads, dil, groups, bias, dt in (
            ("basic", 1, 2, 5, 5, 3, (3, 3), None, None, None, 1, True, F32),
            ("no_bias", 1, 2, 4, 5, 2, (3, 3), None, None, None, 1, False, F32),
            ("pad1", 2, 2, 4, 4, 2, (3, 3), None, [1, 1, 1, 1], None, 1, True,
             F32),
            ("stride2_pad1", 1, 3, 7, 6, 2, (3, 3), [2, 2], [1, 1, 1, 1], None,
             1, True, F32),
            ("asym_pads", 1, 2, 5, 4, 2, (3, 2), None, [1, 0, 2, 1], None, 1,
             True, F32),
            ("strides_hw", 1, 2, 7, 8, 2, (2, 3), [2, 3], [0, 1, 0, 1], None,
             1, True, F32),
            ("dilation2", 1, 2, 7, 7, 2, (3, 3), None, [2, 2, 2, 2], [2, 2], 1,
             True, F32),
            ("dilation_hw", 1, 1, 6, 7, 2, (2, 2), None, None, [1, 3], 1,
             False, F32),
            ("groups2", 1, 4, 5, 5, 6, (3, 3), None, [1, 1, 1, 1], None, 2,
             True, F32),
            ("depthwise", 1, 3, 5, 5, 3, (3, 3), None, [1, 1, 1, 1], None, 3,
             True, F32),
            ("depthwise_mult2", 1, 2, 4, 4, 4, (3, 3), [2, 2], [1, 1, 1, 1],
             None, 2, False, F32),
            ("pointwise", 2, 3, 3, 3, 4, (1, 1), None, None, None, 1, True,
             F32),
            ("f16", 1, 2, 4, 4, 2, (3, 3), None, [1, 1, 1, 1], None, 1, True,
             F16)):
        n = "conv2d_" + tag
        x = rnd(n, (N, C, H, W), dt, salt="x")
        w = rnd(n, (M, C // groups) + k, dt, salt="w")
        b = rnd(n, (M,), dt, salt="b") if bias else None
        s = strides or [1, 1]
        p = pads or [0, 0, 0, 0]
        d = dil or [1, 1]
        want = conv2d_ref(f64(x), f64(w), None if b is None else f64(b), s, p,
                          d, groups)
        if torch is not None:
            xt = F.pad(T(x), (p[1], p[3], p[0], p[2]))
            t = F.conv2d(xt, T(w), None if b is None else T(b), stride=s,
                         dilation=d, groups=groups).numpy()
            assert t.shape == want.shape and np.allclose(t, want, rtol=1e-12,
                                                         atol=1e-12), n
        attrs = {}
        if strides:
            attrs["strides"] = strides
        if pads:
            attrs["pads"] = pads
        if dil:
            attrs["dilations"] = dil
        if groups != 1:
            attrs["groups"] = groups
        ops = [("x", x), ("weight", w)] + ([("bias", b)] if bias else [])
        tol = None
        if dt == F16:
            tol = F16_TOL
        case(n, "conv2d", ops, to(want, dt), attrs or None, tol=tol)

    # Pooling. Strides default to 1 (not to the kernel).
    for kind in ("max", "avg"):
        op = kind + "_pool2d"
        for tag, shape, k, strides, pads, dil, ceil, cip, dt in (
                ("k2s2", (1, 2, 4, 6), [2, 2], [2, 2], None, None, 0, 0, F32),
                ("default_strides", (1, 1, 4, 5), [2, 3], None, None, None, 0,
                 0, F32),
                ("k3s1p1", (2, 2, 4, 4), [3, 3], None, [1, 1, 1, 1], None, 0,
                 0, F32),
                ("k3s2p1", (1, 2, 7, 6), [3, 3], [2, 2], [1, 1, 1, 1], None, 0,
                 0, F32),
                ("asym_pads", (1, 1, 5, 5), [3, 2], [2, 1], [0, 1, 2, 0], None,
                 0, 0, F32),
                ("ceil", (1, 2, 5, 7), [2, 2], [2, 2], None, None, 1, 0, F32),
                ("ceil_k3s2", (1, 1, 6, 6), [3, 3], [2, 2], None, None, 1, 0,
                 F32),
                ("ceil_last_window_dropped", (1, 1, 5, 5), [2, 2], [2, 2],
                 [1, 1, 1, 1], None, 1, 0, F32),
                ("dilation2", (1, 1, 7, 7), [2, 2], [1, 1], None, [2, 2], 0, 0,
                 F32),
                ("f16", (1, 2, 4, 4), [2, 2], [2, 2], None, None, 0, 0, F16)):
            n = "%s_%s" % (op, tag)
            x = rnd(n, shape, dt)
            s = strides or [1, 1]
            p = pads or [0, 0, 0, 0]
            d = dil or [1, 1]
            want = pool2d_ref(f64(x), kind, k, s, p, d, ceil, cip)
            attrs = {"kernel": k}
            if strides:
                attrs["strides"] = strides
            if pads:
                attrs["pads"] = pads
            if dil:
                attrs["dilations"] = dil
            if ceil:
                attrs["ceil_mode"] = 1
            torch_check(n, kind, x, k, s, p, d, ceil, cip, want)
            case(n, op, [("x", x)], to(want, dt), attrs)
    # avg_pool2d: count_include_pad counts the padded cells in the divisor.
    for tag, shape, k, strides, pads, ceil in (
            ("count_include_pad", (1, 2, 4, 4), [3, 3], [1, 1], [1, 1, 1, 1],
             0),
            ("count_include_pad_s2", (1, 1, 5, 5), [3, 3], [2, 2],
             [1, 1, 1, 1], 0),
            ("count_include_pad_asym", (1, 1, 4, 5), [2, 3], [2, 2],
             [1, 0, 1, 2], 0)):
        n = "avg_pool2d_" + tag
        x = rnd(n, shape, F32)
        want = pool2d_ref(f64(x), "avg", k, strides, pads, [1, 1], ceil, 1)
        torch_check(n, "avg", x, k, strides, pads, [1, 1], ceil, 1, want)
        case(n, "avg_pool2d", [("x", x)], to(want, F32),
             {"kernel": k, "strides": strides, "pads": pads,
              "count_include_pad": 1})
    # Explicitly spelled defaults.
    x = rnd("avg_pool2d_explicit_defaults", (1, 1, 3, 3), F32)
    case("avg_pool2d_explicit_defaults", "avg_pool2d", [("x", x)],
         to(pool2d_ref(f64(x), "avg", [2, 2], [1, 1], [0] * 4, [1, 1], 0, 0),
            F32),
         {"kernel": [2, 2], "strides": [1, 1], "pads": [0, 0, 0, 0],
          "dilations": [1, 1], "ceil_mode": 0, "count_include_pad": 0})
    # global_avg_pool keeps H and W as 1s.
    for tag, shape, dt in (("f32", (2, 3, 4, 5), F32), ("f16", (1, 2, 3, 3), F16),
                           ("1x1", (1, 3, 1, 1), F32)):
        n = "global_avg_pool_" + tag
        x = rnd(n, shape, dt)
        case(n, "global_avg_pool", [("x", x)],
             to(f64(x).mean(axis=(2, 3), keepdims=True), dt))


def torch_check(n, kind, x, k, s, p, d, ceil, cip, want):
    """Cross-checks pool2d_ref with PyTorch where PyTorch can express it."""
    if torch is None:
        return
    xt = torch.from_numpy(f64(x))
    sym = p[0] == p[2] and p[1] == p[3]
    if kind == "max":
        if sym:
            t = F.max_pool2d(xt, k, s, (p[0], p[1]), d, ceil_mode=bool(ceil))
        else:
            t = F.max_pool2d(F.pad(xt, (p[1], p[3], p[0], p[2]),
                                   value=-math.inf), k, s, 0, d,
                             ceil_mode=bool(ceil))
    else:
        if d != [1, 1]:
            return
        if sym and 2 * p[0] <= k[0] and 2 * p[1] <= k[1]:
            t = F.avg_pool2d(xt, k, s, (p[0], p[1]), ceil_mode=bool(ceil),
                             count_include_pad=bool(cip))
        elif cip and not ceil:
            t = F.avg_pool2d(F.pad(xt, (p[1], p[3], p[0], p[2])), k, s, 0)
        else:
            return
    assert t.shape == want.shape and np.allclose(t.numpy(), want, rtol=1e-12,
                                                 atol=1e-12), n


# --------------------------------------------------------------------------
# Normalization.

def gen_norm():
    for tag, shape, eps, dt in (("nchw", (2, 3, 2, 2), None, F32),
                                ("nc", (4, 3), None, F32),
                                ("ncl_eps", (2, 2, 5), 1e-3, F32),
                                ("f16", (1, 2, 3, 3), None, F16)):
        n = "batch_norm_" + tag
        C = shape[1]
        x = rnd(n, shape, dt, salt="x")
        sc = rnd(n, (C,), dt, salt="scale")
        bi = rnd(n, (C,), dt, salt="bias")
        mean = rnd(n, (C,), dt, salt="mean")
        var = rnd(n, (C,), dt, 0.2, 2.0, salt="var")
        e = 1e-5 if eps is None else eps
        bshape = (1, C) + (1,) * (len(shape) - 2)
        r = lambda a: f64(a).reshape(bshape)
        want = (f64(x) - r(mean)) / np.sqrt(r(var) + e) * r(sc) + r(bi)
        if torch is not None:
            t = F.batch_norm(torch.from_numpy(f64(x)), torch.from_numpy(f64(mean)),
                             torch.from_numpy(f64(var)), torch.from_numpy(f64(sc)),
                             torch.from_numpy(f64(bi)), False, 0.0, e).numpy()
            assert np.allclose(t, want, rtol=1e-12, atol=1e-12), n
        case(n, "batch_norm", [("x", x), ("scale", sc), ("bias", bi),
                               ("mean", mean), ("var", var)], to(want, dt),
             None if eps is None else {"epsilon": eps})
    # layer_norm normalizes over axes [axis, rank); scale and bias have the
    # shape of those axes.
    for tag, shape, axis, eps, has_s, has_b, dt in (
            ("last", (3, 5), None, None, True, True, F32),
            ("axis1_rank3", (2, 3, 4), 1, None, True, True, F32),
            ("axis_neg2", (2, 3, 4), -2, None, True, True, F32),
            ("axis0", (2, 3), 0, None, True, True, F32),
            ("no_scale_bias", (2, 6), None, None, False, False, F32),
            ("scale_only", (2, 6), None, None, True, False, F32),
            ("bias_only", (2, 6), None, None, False, True, F32),
            ("eps", (2, 4), -1, 0.1, True, True, F32),
            ("f16", (2, 8), None, None, True, True, F16)):
        n = "layer_norm_" + tag
        x = rnd(n, shape, dt, salt="x")
        a = (len(shape) - 1) if axis is None else axis % len(shape)
        ns = shape[a:]
        axes = tuple(range(a, len(shape)))
        e = 1e-5 if eps is None else eps
        xd = f64(x)
        mu = xd.mean(axis=axes, keepdims=True)
        var = ((xd - mu) ** 2).mean(axis=axes, keepdims=True)
        want = (xd - mu) / np.sqrt(var + e)
        ops = [("x", x)]
        s = rnd(n, ns, dt, salt="scale") if has_s else None
        b = rnd(n, ns, dt, salt="bias") if has_b else None
        if has_s:
            want = want * f64(s)
        if has_b:
            want = want + f64(b)
        if torch is not None:
            t = F.layer_norm(torch.from_numpy(xd), ns,
                             torch.from_numpy(f64(s)) if has_s else None,
                             torch.from_numpy(f64(b)) if has_b else None,
                             e).numpy()
            assert np.allclose(t, want, rtol=1e-10, atol=1e-12), n
        ops = [("x", x), ("scale", s) if has_s else None,
               ("bias", b) if has_b else None]
        attrs = {}
        if axis is not None:
            attrs["axis"] = axis
        if eps is not None:
            attrs["epsilon"] = eps
        case(n, "layer_norm", ops, to(want, dt), attrs or None)
    # softmax / log_softmax over one axis.
    for op in ("softmax", "log_softmax"):
        for tag, shape, axis, dt, scale in (("last", (3, 5), None, F32, 1),
                                            ("axis0", (3, 4), 0, F32, 1),
                                            ("axis1_rank3", (2, 3, 4), 1, F32, 1),
                                            ("axis_neg2", (2, 3, 4), -2, F32, 1),
                                            ("large", (2, 4), None, F32, 100),
                                            ("f16", (2, 6), -1, F16, 1),
                                            ("1d", (7,), 0, F32, 1)):
            n = "%s_%s" % (op, tag)
            x = (rnd(n, shape, dt) * scale).astype(dt)
            ax = -1 if axis is None else axis
            xd = f64(x)
            m = xd.max(axis=ax, keepdims=True)
            lse = np.log(np.exp(xd - m).sum(axis=ax, keepdims=True)) + m
            want = np.exp(xd - lse) if op == "softmax" else xd - lse
            if torch is not None:
                f = torch.softmax if op == "softmax" else torch.log_softmax
                t = f(torch.from_numpy(xd), ax).numpy()
                assert np.allclose(t, want, rtol=1e-12, atol=1e-13), n
            case(n, op, [("x", x)], to(want, dt),
                 None if axis is None else {"axis": axis})


# --------------------------------------------------------------------------
# Reductions.

def gen_reduce():
    fns = {"reduce_sum": np.sum, "reduce_mean": np.mean, "reduce_max": np.max,
           "reduce_min": np.min, "reduce_prod": np.prod}
    for op, fn in fns.items():
        variants = [("all", (2, 3, 4), None, 0, F32),
                    ("all_keepdim", (2, 3), None, 1, F32),
                    ("axis1", (2, 3, 4), [1], 0, F32),
                    ("axis1_keepdim", (2, 3, 4), [1], 1, F32),
                    ("axes_0_2", (2, 3, 4), [0, 2], 0, F32),
                    ("neg_axis", (2, 3, 4), [-1], 0, F32),
                    ("neg_axes_keepdim", (3, 2, 2), [-3, -1], 1, F32),
                    ("axes_unsorted", (2, 3, 4), [2, 0], 0, F32),
                    ("scalar", (), None, 0, F32),
                    ("f16", (2, 5), [1], 0, F16)]
        if op != "reduce_mean":
            variants += [("i32", (3, 4), [0], 0, I32),
                         ("i64_all", (2, 3), None, 0, I64),
                         ("i8_keepdim", (2, 4), [1], 1, I8)]
        for tag, shape, axes, keep, dt in variants:
            n = "%s_%s" % (op, tag)
            if dt in (F32, F16):
                x = rnd(n, shape, dt)
                if op == "reduce_prod":
                    x = rnd(n, shape, dt, 0.5, 1.5) * np.where(
                        rnd(n, shape, BOOL, salt="s"), 1, -1)
                    x = x.astype(dt)
            else:
                lo, hi = (-3, 4) if op == "reduce_prod" else (-20, 20)
                if dt == I8 and op == "reduce_sum":
                    lo, hi = -15, 15
                x = rnd(n, shape, dt, lo, hi)
            ax = None if axes is None else tuple(axes)
            if dt in (F32, F16):
                want = to(fn(f64(x), axis=ax, keepdims=bool(keep)), dt)
            else:
                want = np.asarray(fn(x.astype(np.int64), axis=ax,
                                     keepdims=bool(keep)))
                info = np.iinfo(dt)
                assert want.min() >= info.min and want.max() <= info.max, n
                want = want.astype(dt)
            attrs = {}
            if axes is not None:
                attrs["axes"] = axes
            if keep:
                attrs["keepdim"] = 1
            case(n, op, [("x", x)], np.asarray(want), attrs or None)
    # argmax: i64 indices; first occurrence unless select_last_index.
    for tag, x, axis, keep, last in (
            ("axis0", rnd("argmax_axis0", (3, 4)), 0, 0, 0),
            ("axis1_keepdim", rnd("argmax_axis1_keepdim", (3, 4)), 1, 1, 0),
            ("neg_axis_rank3", rnd("argmax_neg_axis_rank3", (2, 3, 4)), -2, 0,
             0),
            ("i32", rnd("argmax_i32", (2, 5), I32, -100, 100), 1, 0, 0),
            ("f16", rnd("argmax_f16", (4, 3), F16), 0, 1, 0),
            ("1d", rnd("argmax_1d", (6,)), 0, 0, 0),
            ("ties_first", np.array([[1, 3, 3, 0], [2, 2, 2, 2], [5, 1, 5, 1]],
                                    dtype=F32), 1, 0, 0),
            ("ties_last", np.array([[1, 3, 3, 0], [2, 2, 2, 2], [5, 1, 5, 1]],
                                   dtype=F32), 1, 0, 1),
            ("ties_last_axis0_keepdim",
             np.array([[4, 1, 0], [4, 1, 2], [3, 1, 2]], dtype=I32), 0, 1, 1)):
        n = "argmax_" + tag
        if not tag.startswith("ties"):
            top = np.sort(x, axis=axis)
            assert np.all(np.take(top, -1, axis) != np.take(top, -2, axis)), n
        if last:
            flipped = np.flip(x, axis=axis)
            want = x.shape[axis] - 1 - np.argmax(flipped, axis=axis)
        else:
            want = np.argmax(x, axis=axis)
        if keep:
            want = np.expand_dims(want, axis)
        attrs = {"axis": axis}
        if keep:
            attrs["keepdim"] = 1
        if last:
            attrs["select_last_index"] = 1
        case(n, "argmax", [("x", x)], np.asarray(want).astype(I64), attrs)


# --------------------------------------------------------------------------
# Data movement and shape.

def onnx_slice(x, starts, ends, axes, steps):
    r = x.ndim
    axes = list(range(len(starts))) if axes is None else [a % r for a in axes]
    steps = [1] * len(starts) if steps is None else steps
    idx = [slice(None)] * r
    for st, en, ax, sp in zip(starts, ends, axes, steps):
        d = x.shape[ax]
        if st < 0:
            st += d
        if en < 0:
            en += d
        if sp > 0:
            st = min(max(st, 0), d)
            en = min(max(en, 0), d)
        else:
            st = min(max(st, 0), d - 1)
            en = min(max(en, -1), d - 1)
        idx[ax] = np.array(list(range(st, en, sp)), dtype=np.int64)
    out = x
    for ax in range(r):
        if isinstance(idx[ax], np.ndarray):
            out = np.take(out, idx[ax], axis=ax)
    return out


def gen_shape():
    I64MAX = 9223372036854775807
    I64MIN = -9223372036854775808
    # reshape: one -1 allowed, no 0.
    for tag, shape, new, dt in (("flatten", (2, 3, 4), [-1], F32),
                                ("infer_dim", (2, 3, 4), [4, -1], F32),
                                ("explicit", (2, 6), [3, 2, 2], I32),
                                ("to_scalar", (1, 1), [], F32),
                                ("from_scalar", (), [1, 1, 1], I64),
                                ("bool", (4, 2), [2, 2, -1], BOOL),
                                ("f16", (6,), [2, 3], F16)):
        n = "reshape_" + tag
        x = rnd(n, shape, dt, -50, 50)
        case(n, "reshape", [("x", x)], x.reshape(tuple(new)), {"shape": new})
    # transpose: perm defaults to reversing the axes.
    for tag, shape, perm, dt in (("default_2d", (2, 3), None, F32),
                                 ("default_3d", (2, 3, 4), None, F32),
                                 ("perm021", (2, 3, 4), [0, 2, 1], F32),
                                 ("nchw_nhwc", (1, 2, 3, 4), [0, 2, 3, 1], I8),
                                 ("perm_rank5", (2, 1, 3, 2, 2), [4, 2, 0, 3, 1],
                                  F32),
                                 ("identity", (2, 3), [0, 1], BOOL),
                                 ("f16", (3, 2), [1, 0], F16)):
        n = "transpose_" + tag
        x = rnd(n, shape, dt, -50, 50)
        case(n, "transpose", [("x", x)], np.transpose(x, perm),
             None if perm is None else {"perm": perm})
    # concat: variadic.
    for tag, shapes, axis, dt in (("axis0", [(2, 3), (1, 3)], 0, F32),
                                  ("axis1_three", [(2, 1), (2, 3), (2, 2)], 1,
                                   F32),
                                  ("neg_axis", [(2, 2, 2), (2, 2, 3)], -1, I64),
                                  ("single", [(3, 2)], 0, F32),
                                  ("bool", [(2,), (3,)], 0, BOOL),
                                  ("f16_axis_neg3", [(1, 2, 2), (2, 2, 2)], -3,
                                   F16),
                                  ("u8", [(1, 4), (1, 4)], 0, U8)):
        n = "concat_" + tag
        xs = [rnd(n, s, dt, 0, 100, salt=str(i)) for i, s in enumerate(shapes)]
        case(n, "concat", [("inputs%d" % i, x) for i, x in enumerate(xs)],
             np.concatenate(xs, axis=axis), {"axis": axis})
    # slice: ONNX semantics (negative indices wrap, out of range clamps).
    x34 = np.arange(12, dtype=F32).reshape(3, 4)
    x345 = np.arange(60, dtype=F32).reshape(3, 4, 5)
    for tag, x, starts, ends, axes, steps in (
            ("basic", x34, [1, 0], [3, 2], None, None),
            ("axes_subset", x345, [1], [4], [2], None),
            ("neg_axis", x345, [0], [2], [-2], None),
            ("neg_indices", x34, [-3, -1], [-1, 4], [0, 1], None),
            ("clamp_large", x34, [1], [1000], [1], None),
            ("clamp_neg_start", x34, [-100], [2], [0], None),
            ("int64_max_end", x345, [2], [I64MAX], [-1], None),
            ("step2", x345, [0, 1], [5, 4], [2, 1], [2, 2]),
            ("neg_step", x34, [3], [0], [1], [-1]),
            ("reverse_full", x34, [-1], [I64MIN], [1], [-1]),
            ("reverse_full_clamp", x345, [100], [-100], [0], [-1]),
            ("neg_step2", x345, [-1, 3], [-6, 0], [2, 1], [-2, -2]),
            ("empty", x34, [2], [1], [0], None),
            ("i32", np.arange(10, dtype=I32), [1], [9], None, [3]),
            ("bool", np.arange(6).reshape(2, 3) % 2 == 0, [0], [2], [1], None),
            ("f16", np.arange(8, dtype=F16).reshape(2, 4), [1], [-1], [-1],
             None)):
        n = "slice_" + tag
        want = onnx_slice(x, starts, ends, axes, steps)
        attrs = {"starts": starts, "ends": ends}
        if axes is not None:
            attrs["axes"] = axes
        if steps is not None:
            attrs["steps"] = steps
        case(n, "slice", [("x", x)], want, attrs)
    # gather: negative indices count from the end of the axis.
    d = np.arange(15, dtype=F32).reshape(5, 3) / 4
    for tag, data, ind, axis in (
            ("axis0_i64", d, np.array([0, 4, 2], I64), None),
            ("neg_indices", d, np.array([-1, 0, -5], I64), 0),
            ("axis1_2d_indices_i32", d, np.array([[0, 2], [1, -1]], I32), 1),
            ("scalar_index", d, np.array(3, I64), 0),
            ("axis_neg1", np.arange(24, dtype=I32).reshape(2, 3, 4),
             np.array([3, 0, -2], I64), -1),
            ("axis1_rank3", np.arange(24, dtype=I64).reshape(2, 3, 4),
             np.array([[2], [0]], I32), 1),
            ("bool", np.array([[True, False], [False, False], [True, True]]),
             np.array([2, 0], I64), 0),
            ("f16", d.astype(F16), np.array([1, 1], I32), 0)):
        n = "gather_" + tag
        ax = 0 if axis is None else axis
        want = np.take(data, ind.astype(np.int64) % data.shape[ax], axis=ax)
        case(n, "gather", [("data", data), ("indices", ind)], want,
             None if axis is None else {"axis": axis})
    # expand: NumPy broadcasting of x to `shape`.
    for tag, shape, new, dt in (("col", (3, 1), [3, 4], F32),
                                ("add_rank", (3, 1), [2, 3, 4], F32),
                                ("scalar", (), [2, 3], I32),
                                ("same", (2, 3), [2, 3], F32),
                                ("bool", (1, 2), [3, 2], BOOL),
                                ("f16", (1,), [5], F16),
                                # ONNX Expand is bidirectional: a 1 in `shape`
                                # keeps the input's dimension.
                                ("bidirectional", (3, 4), [2, 1, 4], F32)):
        n = "expand_" + tag
        x = rnd(n, shape, dt, 0, 9)
        out_shape = np.broadcast_shapes(x.shape, tuple(new))
        case(n, "expand", [("x", x)],
             np.array(np.broadcast_to(x, out_shape), order="C"),
             {"shape": new})
    # pad: pads are all begins then all ends; modes constant, reflect, edge.
    for tag, shape, pads, mode, value, dt in (
            ("constant_zero", (2, 3), [1, 0, 0, 2], None, None, F32),
            ("constant_value", (2, 3), [0, 1, 1, 1], None, 1.5, F32),
            ("constant_neg_value", (3,), [2, 1], "constant", -2.25, F32),
            ("reflect", (3, 4), [2, 1, 1, 3], "reflect", None, F32),
            ("edge", (2, 3), [1, 2, 3, 1], "edge", None, F32),
            ("nchw_spatial", (1, 2, 3, 3), [0, 0, 1, 2, 0, 0, 2, 1], "reflect",
             None, F32),
            ("edge_rank3", (2, 2, 2), [1, 0, 1, 0, 2, 1], "edge", None, F32),
            ("i32_value", (2, 2), [1, 1, 1, 1], "constant", 7.0, I32),
            ("i64_edge", (3,), [2, 2], "edge", None, I64),
            ("f16_reflect", (4,), [3, 2], "reflect", None, F16),
            ("zero_pads", (2, 3), [0, 0, 0, 0], "reflect", None, F32)):
        n = "pad_" + tag
        x = rnd(n, shape, dt, -20, 20)
        r = len(shape)
        pw = [(pads[i], pads[i + r]) for i in range(r)]
        m = mode or "constant"
        if m == "constant":
            want = np.pad(x, pw, mode="constant",
                          constant_values=np.asarray(value or 0.0).astype(dt))
        else:
            want = np.pad(x, pw, mode=m)
        attrs = {"pads": pads}
        if mode is not None:
            attrs["mode"] = mode
        if value is not None:
            attrs["value"] = value
        case(n, "pad", [("x", x)], want.astype(dt), attrs)
    # squeeze: without axes every 1 is removed.
    for tag, shape, axes, dt in (("all", (1, 3, 1, 2), None, F32),
                                 ("axis0", (1, 3, 1, 2), [0], F32),
                                 ("neg_axes", (1, 3, 1, 2), [-2, 0], I32),
                                 ("to_scalar", (1, 1), None, F32),
                                 ("none_to_remove", (2, 3), None, F32),
                                 ("bool", (2, 1), [1], BOOL)):
        n = "squeeze_" + tag
        x = rnd(n, shape, dt, -9, 9)
        want = np.squeeze(x, axis=None if axes is None else tuple(axes))
        case(n, "squeeze", [("x", x)], want,
             None if axes is None else {"axes": axes})
    # unsqueeze: axes index the output.
    for tag, shape, axes, dt in (("axis0", (2, 3), [0], F32),
                                 ("last", (2, 3), [-1], F32),
                                 ("two", (2, 3), [0, 3], F32),
                                 ("neg_two", (2, 3), [-1, 1], I64),
                                 ("scalar", (), [0], F32),
                                 ("middle_unsorted", (2, 3), [3, 1], BOOL)):
        n = "unsqueeze_" + tag
        x = rnd(n, shape, dt, -9, 9)
        out_rank = len(shape) + len(axes)
        norm = sorted(a % out_rank for a in axes)
        want = x
        for a in norm:
            want = np.expand_dims(want, a)
        case(n, "unsqueeze", [("x", x)], want, {"axes": axes})
    # flatten (ONNX): [prod(d[:axis]), prod(d[axis:])].
    for tag, shape, axis, dt in (("default", (2, 3, 4), None, F32),
                                 ("axis0", (2, 3, 4), 0, F32),
                                 ("axis2", (2, 3, 4, 2), 2, F32),
                                 ("axis_rank", (2, 3), 2, I32),
                                 ("neg_axis", (2, 3, 4), -1, F32),
                                 ("bool", (2, 2, 2), 1, BOOL)):
        n = "flatten_" + tag
        x = rnd(n, shape, dt, -9, 9)
        a = 1 if axis is None else (axis if axis >= 0 else axis + len(shape))
        lead = int(np.prod(shape[:a]))
        case(n, "flatten", [("x", x)], x.reshape(lead, -1 if x.size else 0),
             None if axis is None else {"axis": axis})


# --------------------------------------------------------------------------
# Recurrent layers, ONNX equations written out in NumPy.

def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def act(name, x):
    return {"tanh": np.tanh, "relu": lambda v: np.maximum(v, 0),
            "sigmoid": sigmoid}[name](x)


def rnn_common(x, layout):
    """x -> [seq, batch, input]."""
    return x.transpose(1, 0, 2) if layout == 1 else x


def rnn_outputs(ys, hs, cs, layout):
    """ys: per direction [seq, batch, H] -> Y [seq, dirs, batch, H];
    hs/cs: per direction [batch, H] -> [dirs, batch, H] (layout 1 swaps)."""
    Y = np.stack(ys, axis=1)
    Yh = np.stack(hs, axis=0)
    Yc = np.stack(cs, axis=0) if cs is not None else None
    if layout == 1:
        Y = Y.transpose(2, 0, 1, 3)
        Yh = Yh.transpose(1, 0, 2)
        Yc = Yc.transpose(1, 0, 2) if Yc is not None else None
    return Y, Yh, Yc


def clipf(v, clip):
    return v if clip is None else np.clip(v, -clip, clip)


def lstm_ref(x, W, R, B, h0, c0, P, H, direction, layout, clip, input_forget):
    x = rnn_common(x, layout)
    dirs = 2 if direction == "bidirectional" else 1
    seq, batch, _ = x.shape
    if layout == 1:
        h0 = None if h0 is None else h0.transpose(1, 0, 2)
        c0 = None if c0 is None else c0.transpose(1, 0, 2)
    ys, hs, cs = [], [], []
    for d in range(dirs):
        rev = direction == "reverse" or d == 1
        Wi, Wo, Wf, Wc = np.split(W[d], 4)
        Ri, Ro, Rf, Rc = np.split(R[d], 4)
        b = B[d] if B is not None else np.zeros(8 * H)
        Wbi, Wbo, Wbf, Wbc, Rbi, Rbo, Rbf, Rbc = np.split(b, 8)
        p = P[d] if P is not None else np.zeros(3 * H)
        Pi, Po, Pf = np.split(p, 3)
        h = h0[d] if h0 is not None else np.zeros((batch, H))
        c = c0[d] if c0 is not None else np.zeros((batch, H))
        y = np.zeros((seq, batch, H))
        for t in (range(seq - 1, -1, -1) if rev else range(seq)):
            xt = x[t]
            i = sigmoid(clipf(xt @ Wi.T + h @ Ri.T + Pi * c + Wbi + Rbi, clip))
            if input_forget:
                f = 1 - i
            else:
                f = sigmoid(clipf(xt @ Wf.T + h @ Rf.T + Pf * c + Wbf + Rbf,
                                  clip))
            g = np.tanh(clipf(xt @ Wc.T + h @ Rc.T + Wbc + Rbc, clip))
            c = f * c + i * g
            o = sigmoid(clipf(xt @ Wo.T + h @ Ro.T + Po * c + Wbo + Rbo, clip))
            # ONNX applies clip to the input of every activation, h(Ct)
            # included (as onnxruntime does); Ct itself is not clipped.
            h = o * np.tanh(clipf(c, clip))
            y[t] = h
        ys.append(y)
        hs.append(h)
        cs.append(c)
    return rnn_outputs(ys, hs, cs, layout)


def gru_ref(x, W, R, B, h0, H, direction, layout, clip, lbr):
    x = rnn_common(x, layout)
    dirs = 2 if direction == "bidirectional" else 1
    seq, batch, _ = x.shape
    if layout == 1 and h0 is not None:
        h0 = h0.transpose(1, 0, 2)
    ys, hs = [], []
    for d in range(dirs):
        rev = direction == "reverse" or d == 1
        Wz, Wr, Wh = np.split(W[d], 3)
        Rz, Rr, Rh = np.split(R[d], 3)
        b = B[d] if B is not None else np.zeros(6 * H)
        Wbz, Wbr, Wbh, Rbz, Rbr, Rbh = np.split(b, 6)
        h = h0[d] if h0 is not None else np.zeros((batch, H))
        y = np.zeros((seq, batch, H))
        for t in (range(seq - 1, -1, -1) if rev else range(seq)):
            xt = x[t]
            z = sigmoid(clipf(xt @ Wz.T + h @ Rz.T + Wbz + Rbz, clip))
            r = sigmoid(clipf(xt @ Wr.T + h @ Rr.T + Wbr + Rbr, clip))
            if lbr:
                hh = np.tanh(clipf(xt @ Wh.T + r * (h @ Rh.T + Rbh) + Wbh,
                                   clip))
            else:
                hh = np.tanh(clipf(xt @ Wh.T + (r * h) @ Rh.T + Rbh + Wbh,
                                   clip))
            h = (1 - z) * hh + z * h
            y[t] = h
        ys.append(y)
        hs.append(h)
    Y, Yh, _ = rnn_outputs(ys, hs, None, layout)
    return Y, Yh


def rnn_ref(x, W, R, B, h0, H, direction, layout, clip, activation):
    x = rnn_common(x, layout)
    dirs = 2 if direction == "bidirectional" else 1
    seq, batch, _ = x.shape
    if layout == 1 and h0 is not None:
        h0 = h0.transpose(1, 0, 2)
    ys, hs = [], []
    for d in range(dirs):
        rev = direction == "reverse" or d == 1
        b = B[d] if B is not None else np.zeros(2 * H)
        Wb, Rb = np.split(b, 2)
        h = h0[d] if h0 is not None else np.zeros((batch, H))
        y = np.zeros((seq, batch, H))
        for t in (range(seq - 1, -1, -1) if rev else range(seq)):
            h = act(activation, clipf(x[t] @ W[d].T + h @ R[d].T + Wb + Rb,
                                      clip))
            y[t] = h
        ys.append(y)
        hs.append(h)
    Y, Yh, _ = rnn_outputs(ys, hs, None, layout)
    return Y, Yh


def torch_lstm_check(n, x, W, R, B, h0, c0, H, direction):
    """PyTorch LSTM (gates i,f,g,o) against the ONNX equations (i,o,f,c)."""
    if torch is None:
        return None
    dirs = W.shape[0]
    m = torch.nn.LSTM(x.shape[2], H, bidirectional=dirs == 2).double()
    perm = lambda a: np.concatenate([a[0:H], a[2 * H:3 * H], a[3 * H:4 * H],
                                     a[H:2 * H]])  # iofc -> ifgo
    with torch.no_grad():
        for d in range(dirs):
            sfx = "_reverse" if d == 1 else ""
            getattr(m, "weight_ih_l0" + sfx).copy_(torch.from_numpy(perm(W[d])))
            getattr(m, "weight_hh_l0" + sfx).copy_(torch.from_numpy(perm(R[d])))
            getattr(m, "bias_ih_l0" + sfx).copy_(
                torch.from_numpy(perm(B[d][:4 * H])))
            getattr(m, "bias_hh_l0" + sfx).copy_(
                torch.from_numpy(perm(B[d][4 * H:])))
        y, (h, c) = m(torch.from_numpy(x), (torch.from_numpy(h0),
                                            torch.from_numpy(c0)))
    return y.numpy(), h.numpy(), c.numpy()


def torch_gru_check(n, x, W, R, B, h0, H):
    """PyTorch GRU (r,z,n; linear_before_reset=1) against ONNX (z,r,h)."""
    if torch is None:
        return None
    m = torch.nn.GRU(x.shape[2], H).double()
    perm = lambda a: np.concatenate([a[H:2 * H], a[0:H], a[2 * H:3 * H]])
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.from_numpy(perm(W[0])))
        m.weight_hh_l0.copy_(torch.from_numpy(perm(R[0])))
        m.bias_ih_l0.copy_(torch.from_numpy(perm(B[0][:3 * H])))
        m.bias_hh_l0.copy_(torch.from_numpy(perm(B[0][3 * H:])))
        y, h = m(torch.from_numpy(x), torch.from_numpy(h0))
    return y.numpy(), h.numpy()


def gen_recurrent():
    S, Bt, I, H = 3, 2, 3, 4
    # LSTM
    for tag, direction, layout, has_b, has_h, has_c, has_p, clip, inf in (
            ("forward", "forward", 0, True, False, False, False, None, 0),
            ("no_bias", "forward", 0, False, False, False, False, None, 0),
            ("initial_states", "forward", 0, True, True, True, False, None, 0),
            ("initial_h_only", "forward", 0, True, True, False, False, None, 0),
            ("reverse", "reverse", 0, True, True, True, False, None, 0),
            ("bidirectional", "bidirectional", 0, True, True, True, False,
             None, 0),
            ("layout1", "forward", 1, True, True, True, False, None, 0),
            ("layout1_bidirectional", "bidirectional", 1, True, True, True,
             False, None, 0),
            ("peepholes", "forward", 0, True, True, True, True, None, 0),
            ("peepholes_bidirectional_no_states", "bidirectional", 0, True,
             False, False, True, None, 0),
            ("clip", "forward", 0, True, True, True, False, 0.5, 0),
            ("input_forget", "forward", 0, True, True, True, False, None, 1)):
        n = "lstm_" + tag
        D = 2 if direction == "bidirectional" else 1
        xs = (Bt, S, I) if layout else (S, Bt, I)
        hs = (Bt, D, H) if layout else (D, Bt, H)
        x = rnd(n, xs, salt="x")
        W = (rnd(n, (D, 4 * H, I), salt="w") * 0.5).astype(F32)
        R = (rnd(n, (D, 4 * H, H), salt="r") * 0.5).astype(F32)
        B = (rnd(n, (D, 8 * H), salt="b") * 0.5).astype(F32) if has_b else None
        h0 = rnd(n, hs, salt="h") if has_h else None
        c0 = rnd(n, hs, salt="c") if has_c else None
        P = (rnd(n, (D, 3 * H), salt="p") * 0.5).astype(F32) if has_p else None
        Y, Yh, Yc = lstm_ref(f64(x), f64(W), f64(R),
                             None if B is None else f64(B),
                             None if h0 is None else f64(h0),
                             None if c0 is None else f64(c0),
                             None if P is None else f64(P), H, direction,
                             layout, clip, inf)
        if tag in ("initial_states", "bidirectional"):
            t = torch_lstm_check(n, f64(x), f64(W), f64(R), f64(B), f64(h0),
                                 f64(c0), H, direction)
            if t is not None:
                ty, th, tc = t
                assert np.allclose(ty.reshape(S, Bt, D, H).transpose(0, 2, 1, 3),
                                   Y, rtol=1e-12, atol=1e-12), n
                assert np.allclose(th, Yh, rtol=1e-12, atol=1e-12), n
                assert np.allclose(tc, Yc, rtol=1e-12, atol=1e-12), n
        attrs = {"hidden_size": H}
        if direction != "forward":
            attrs["direction"] = direction
        if layout:
            attrs["layout"] = 1
        if clip is not None:
            attrs["clip"] = clip
        if inf:
            attrs["input_forget"] = 1
        ops = [("x", x), ("w", W), ("r", R),
               ("b", B) if has_b else None,
               ("initial_h", h0) if has_h else None,
               ("initial_c", c0) if has_c else None,
               ("p", P) if has_p else None]
        case(n, "lstm", ops, [to(Y, F32), to(Yh, F32), to(Yc, F32)], attrs,
             out_names=["y", "y_h", "y_c"])
    # GRU
    for tag, direction, layout, has_b, has_h, clip, lbr in (
            ("forward", "forward", 0, True, False, None, 0),
            ("linear_before_reset", "forward", 0, True, True, None, 1),
            ("no_bias", "forward", 0, False, True, None, 0),
            ("reverse", "reverse", 0, True, True, None, 0),
            ("bidirectional", "bidirectional", 0, True, True, None, 0),
            ("bidirectional_lbr", "bidirectional", 0, True, False, None, 1),
            ("layout1", "forward", 1, True, True, None, 0),
            ("layout1_bidirectional_lbr", "bidirectional", 1, True, True, None,
             1),
            ("clip", "forward", 0, True, True, 0.3, 0)):
        n = "gru_" + tag
        D = 2 if direction == "bidirectional" else 1
        xs = (Bt, S, I) if layout else (S, Bt, I)
        hs = (Bt, D, H) if layout else (D, Bt, H)
        x = rnd(n, xs, salt="x")
        W = (rnd(n, (D, 3 * H, I), salt="w") * 0.5).astype(F32)
        R = (rnd(n, (D, 3 * H, H), salt="r") * 0.5).astype(F32)
        B = (rnd(n, (D, 6 * H), salt="b") * 0.5).astype(F32) if has_b else None
        h0 = rnd(n, hs, salt="h") if has_h else None
        Y, Yh = gru_ref(f64(x), f64(W), f64(R), None if B is None else f64(B),
                        None if h0 is None else f64(h0), H, direction, layout,
                        clip, lbr)
        if tag == "linear_before_reset":
            t = torch_gru_check(n, f64(x), f64(W), f64(R), f64(B), f64(h0), H)
            if t is not None:
                assert np.allclose(t[0], Y[:, 0], rtol=1e-12, atol=1e-12), n
                assert np.allclose(t[1], Yh, rtol=1e-12, atol=1e-12), n
        attrs = {"hidden_size": H}
        if direction != "forward":
            attrs["direction"] = direction
        if layout:
            attrs["layout"] = 1
        if clip is not None:
            attrs["clip"] = clip
        if lbr:
            attrs["linear_before_reset"] = 1
        ops = [("x", x), ("w", W), ("r", R), ("b", B) if has_b else None,
               ("initial_h", h0) if has_h else None]
        case(n, "gru", ops, [to(Y, F32), to(Yh, F32)], attrs,
             out_names=["y", "y_h"])
    # RNN
    for tag, direction, layout, has_b, has_h, clip, activation in (
            ("tanh", "forward", 0, True, False, None, None),
            ("relu", "forward", 0, True, True, None, "relu"),
            ("no_bias", "forward", 0, False, True, None, None),
            ("reverse", "reverse", 0, True, True, None, None),
            ("bidirectional", "bidirectional", 0, True, True, None, None),
            ("layout1", "forward", 1, True, True, None, None),
            ("layout1_bidirectional_relu", "bidirectional", 1, True, False,
             None, "relu"),
            ("clip", "forward", 0, True, True, 0.4, None)):
        n = "rnn_" + tag
        D = 2 if direction == "bidirectional" else 1
        xs = (Bt, S, I) if layout else (S, Bt, I)
        hs = (Bt, D, H) if layout else (D, Bt, H)
        x = rnd(n, xs, salt="x")
        W = (rnd(n, (D, H, I), salt="w") * 0.5).astype(F32)
        R = (rnd(n, (D, H, H), salt="r") * 0.5).astype(F32)
        B = (rnd(n, (D, 2 * H), salt="b") * 0.5).astype(F32) if has_b else None
        h0 = rnd(n, hs, salt="h") if has_h else None
        a = activation or "tanh"
        Y, Yh = rnn_ref(f64(x), f64(W), f64(R), None if B is None else f64(B),
                        None if h0 is None else f64(h0), H, direction, layout,
                        clip, a)
        if torch is not None and layout == 0 and clip is None and has_b:
            m = torch.nn.RNN(I, H, nonlinearity=a,
                             bidirectional=D == 2).double()
            with torch.no_grad():
                for d in range(D):
                    sfx = "_reverse" if d == 1 else ""
                    getattr(m, "weight_ih_l0" + sfx).copy_(
                        torch.from_numpy(f64(W[d])))
                    getattr(m, "weight_hh_l0" + sfx).copy_(
                        torch.from_numpy(f64(R[d])))
                    getattr(m, "bias_ih_l0" + sfx).copy_(
                        torch.from_numpy(f64(B[d][:H])))
                    getattr(m, "bias_hh_l0" + sfx).copy_(
                        torch.from_numpy(f64(B[d][H:])))
                if direction != "reverse":
                    hh = torch.from_numpy(f64(h0) if has_h else
                                          np.zeros((D, Bt, H)))
                    ty, th = m(torch.from_numpy(f64(x)), hh)
                    assert np.allclose(
                        ty.numpy().reshape(S, Bt, D, H).transpose(0, 2, 1, 3),
                        Y, rtol=1e-12, atol=1e-12), n
                    assert np.allclose(th.numpy(), Yh, rtol=1e-12,
                                       atol=1e-12), n
        attrs = {"hidden_size": H}
        if direction != "forward":
            attrs["direction"] = direction
        if layout:
            attrs["layout"] = 1
        if clip is not None:
            attrs["clip"] = clip
        if activation is not None:
            attrs["activation"] = activation
        ops = [("x", x), ("w", W), ("r", R), ("b", B) if has_b else None,
               ("initial_h", h0) if has_h else None]
        case(n, "rnn", ops, [to(Y, F32), to(Yh, F32)], attrs,
             out_names=["y", "y_h"])


# --------------------------------------------------------------------------
# Edge cases: int64 values beyond 2^53 (an int64 path through double would
# round them), zero-size tensors, -inf masks, rank 6.

def gen_edges():
    big = np.array([2 ** 53 + 1, -(2 ** 60) - 3, 2 ** 62 + 7, 123,
                    -(2 ** 53) - 1, 9223372036854775000], dtype=I64)
    small = np.array([1, 5, -9, 2 ** 40 + 1, 2, -7], dtype=I64)
    case("add_i64_large", "add", [("lhs", big), ("rhs", small)], big + small)
    case("sub_i64_large", "sub", [("lhs", big), ("rhs", small)], big - small)
    m1 = np.array([2 ** 31 + 1, -(2 ** 30) - 1, 3, 2 ** 26 + 3], dtype=I64)
    m2 = np.array([2 ** 31 - 1, 3, -(2 ** 61) - 1, 2 ** 26 + 5], dtype=I64)
    case("mul_i64_large", "mul", [("lhs", m1), ("rhs", m2)], m1 * m2)
    case("div_i64_large", "div", [("lhs", big), ("rhs", small)],
         trunc_div(big, small).astype(I64))
    case("max_i64_large", "max", [("lhs", big), ("rhs", big + 1)],
         np.maximum(big, big + 1))
    case("min_i64_large", "min", [("lhs", big), ("rhs", big - 1)],
         np.minimum(big, big - 1))
    case("neg_i64_large", "neg", [("x", big)], -big)
    case("abs_i64_large", "abs", [("x", big)], np.abs(big))
    case("relu_i64_large", "relu", [("x", big)], np.maximum(big, 0))
    e1 = np.array([2 ** 53, 2 ** 53 + 1, -(2 ** 62) - 1, 5], dtype=I64)
    e2 = np.array([2 ** 53 + 1, 2 ** 53 + 1, -(2 ** 62), 5], dtype=I64)
    for op, fn in (("eq", np.equal), ("lt", np.less), ("le", np.less_equal),
                   ("gt", np.greater), ("ge", np.greater_equal)):
        case("%s_i64_large" % op, op, [("lhs", e1), ("rhs", e2)], fn(e1, e2))
    am = np.array([[2 ** 53, 2 ** 53 + 1, 2 ** 53 - 1],
                   [-(2 ** 60), -(2 ** 60) + 1, -(2 ** 60) - 1]], dtype=I64)
    case("argmax_i64_large", "argmax", [("x", am)],
         np.argmax(am, axis=1).astype(I64), {"axis": 1})
    case("reduce_sum_i64_large", "reduce_sum", [("x", am)],
         am.sum(axis=1), {"axes": [1]})
    case("reduce_max_i64_large", "reduce_max", [("x", am)],
         am.max(axis=1), {"axes": [1]})
    case("reduce_min_i64_large", "reduce_min", [("x", am)],
         am.min(axis=0), {"axes": [0]})
    case("reduce_prod_i64_large", "reduce_prod",
         [("x", np.array([2 ** 31 + 1, 2 ** 30 + 3], I64))],
         np.array((2 ** 31 + 1) * (2 ** 30 + 3), I64))
    cond = np.array([True, False, True, False, True, False])
    case("where_i64_large", "where", [("cond", cond), ("lhs", big),
                                      ("rhs", small)],
         np.where(cond, big, small))
    case("concat_i64_large", "concat", [("inputs0", big), ("inputs1", small)],
         np.concatenate([big, small]), {"axis": 0})
    case("gather_i64_large", "gather", [("data", big),
                                        ("indices", np.array([5, 0, 2], I64))],
         big[[5, 0, 2]])
    case("slice_i64_large", "slice", [("x", big)], big[4:0:-2],
         {"starts": [4], "ends": [0], "steps": [-2]})
    case("transpose_i64_large", "transpose", [("x", am)], am.T)
    case("pad_i64_large_edge", "pad", [("x", big)],
         np.pad(big, (1, 2), mode="edge"), {"pads": [1, 2], "mode": "edge"})
    case("expand_i64_large", "expand", [("x", big[:2].reshape(2, 1))],
         np.broadcast_to(big[:2].reshape(2, 1), (2, 3)), {"shape": [2, 3]})
    case("reshape_i64_large", "reshape", [("x", big)], big.reshape(3, 2),
         {"shape": [3, 2]})
    fbig = np.array([2.0 ** 62, -(2.0 ** 60) * 1.5, 2.0 ** 40 + 1.0, -7.5],
                    dtype=F32)
    case("cast_f32_i64_large", "cast", [("x", fbig)],
         np.array([2 ** 62, -3 * 2 ** 59, 2 ** 40, -7], dtype=I64),
         {"to": DT(I64)})
    case("cast_i64_f32_exact", "cast", [("x", np.array([2 ** 62, -(2 ** 40),
                                                        3], I64))],
         np.array([2.0 ** 62, -(2.0 ** 40), 3.0], F32), {"to": DT(F32)})

    # Zero-size tensors.
    z = np.zeros((0, 3), dtype=F32)
    case("reduce_sum_empty_axis", "reduce_sum", [("x", z)],
         np.zeros((3,), F32), {"axes": [0]})
    case("reduce_prod_empty_axis", "reduce_prod", [("x", z)],
         np.ones((3,), F32), {"axes": [0]})
    case("reduce_sum_empty_keep", "reduce_sum", [("x", z)],
         np.zeros((0, 1), F32), {"axes": [1], "keepdim": 1})
    # max/min over zero elements give the identity (ONNX 18+): -inf/+inf for
    # floats, the dtype's lowest/highest value for integers.
    z3 = np.zeros((2, 0, 4), dtype=F32)
    case("reduce_max_empty_axis", "reduce_max", [("x", z3)],
         np.maximum.reduce(z3, axis=1, keepdims=True, initial=-np.inf),
         {"axes": [1], "keepdim": 1})
    case("reduce_min_empty_axis", "reduce_min", [("x", z3)],
         np.minimum.reduce(z3, axis=1, initial=np.inf), {"axes": [1]})
    zi = np.zeros((0, 3), dtype=I32)
    case("reduce_max_empty_i32", "reduce_max", [("x", zi)],
         np.maximum.reduce(zi, axis=0, initial=np.iinfo(I32).min),
         {"axes": [0]})
    zu = np.zeros((2, 0), dtype=U8)
    case("reduce_min_empty_u8", "reduce_min", [("x", zu)],
         np.minimum.reduce(zu, axis=1, initial=np.iinfo(U8).max),
         {"axes": [1]})
    # A 0 in reshape's shape is a dim of size 0.
    case("reshape_zero_dim", "reshape", [("x", np.zeros((0, 3, 4), F32))],
         np.zeros((0, 3, 4), F32).reshape(3, 4, 0), {"shape": [3, 4, 0]})
    a = rnd("concat_empty_input", (2, 3), F32)
    case("concat_empty_input", "concat",
         [("inputs0", np.zeros((2, 0), F32)), ("inputs1", a)], a.copy(),
         {"axis": 1})
    case("add_empty", "add", [("lhs", np.zeros((0, 3), F32)),
                              ("rhs", np.ones((3,), F32))],
         np.zeros((0, 3), F32))
    case("matmul_k0", "matmul", [("lhs", np.zeros((2, 0), F32)),
                                 ("rhs", np.zeros((0, 3), F32))],
         np.zeros((2, 3), F32))
    case("relu_empty", "relu", [("x", np.zeros((2, 0, 4), F32))],
         np.zeros((2, 0, 4), F32))

    # -inf as a mask in softmax, constant rows in layer_norm.
    x = np.array([[0.5, -np.inf, 1.0, -np.inf], [-np.inf, 2.0, -1.0, 0.0]],
                 dtype=F32)
    xd = f64(x)
    m = xd.max(axis=-1, keepdims=True)
    with np.errstate(all="ignore"):
        lse = np.log(np.exp(xd - m).sum(axis=-1, keepdims=True)) + m
    case("softmax_neg_inf_mask", "softmax", [("x", x)], to(np.exp(xd - lse),
                                                           F32))
    case("log_softmax_neg_inf_mask", "log_softmax", [("x", x)],
         to(xd - lse, F32))
    xc = np.array([[1.5, 1.5, 1.5, 1.5], [0.0, 1.0, 2.0, 3.0]], dtype=F32)
    sc = np.array([2.0, -1.0, 0.5, 1.0], F32)
    bi = np.array([0.25, 0.0, -1.0, 3.0], F32)
    xd = f64(xc)
    mu = xd.mean(-1, keepdims=True)
    var = ((xd - mu) ** 2).mean(-1, keepdims=True)
    case("layer_norm_constant_row", "layer_norm",
         [("x", xc), ("scale", sc), ("bias", bi)],
         to((xd - mu) / np.sqrt(var + 1e-5) * f64(sc) + f64(bi), F32))

    # Rank 6 (the largest rank).
    x6 = rnd("transpose_rank6", (2, 1, 2, 3, 1, 2), F32)
    perm = [5, 3, 0, 2, 4, 1]
    case("transpose_rank6", "transpose", [("x", x6)], np.transpose(x6, perm),
         {"perm": perm})
    a6 = rnd("add_rank6", (2, 1, 2, 1, 3, 1), F32, salt="a")
    b6 = rnd("add_rank6", (1, 2, 1, 2, 1, 2), F32, salt="b")
    case("add_rank6_bcast", "add", [("lhs", a6), ("rhs", b6)],
         to(f64(a6) + f64(b6), F32))
    case("reduce_sum_rank6", "reduce_sum", [("x", x6)],
         to(f64(x6).sum(axis=(0, 3, 5)), F32), {"axes": [0, -3, -1]})
    case("conv2d_big_pads", "conv2d",
         [("x", rnd("conv2d_big_pads", (1, 1, 2, 2), F32, salt="x")),
          ("weight", rnd("conv2d_big_pads", (1, 1, 2, 2), F32, salt="w"))],
         to(conv2d_ref(f64(rnd("conv2d_big_pads", (1, 1, 2, 2), F32,
                                salt="x")),
                       f64(rnd("conv2d_big_pads", (1, 1, 2, 2), F32,
                               salt="w")), None, [1, 1], [3, 2, 1, 3],
                       [1, 1], 1), F32),
         {"pads": [3, 2, 1, 3]})

# --------------------------------------------------------------------------
# Constants (inline dense, splat and out-of-line blobs) feeding one op.

def fmt_elem(v, dt):
    if np.dtype(dt) == np.bool_:
        return "true" if v else "false"
    if np.dtype(dt).kind == "f":
        return fmt_float(float(v))
    return str(int(v))


def gen_constant():
    def raw(name, tir, inputs, expected):
        assert name.startswith("constant_")
        CASES.append((name, tir, inputs, [np.array(e, order="C")
                                          for e in expected], None))

    x = rnd("constant_dense", (2, 3), F32)
    c = np.array([0.5, -1.25, 3.0], dtype=F32)
    raw("constant_dense_f32",
        "graph @constant_dense_f32(%%x: f32[2,3]) -> (out: f32[2,3]) {\n"
        "  %%c = constant dense<[%s]> : f32[3]\n"
        "  %%r0 = add %%x, %%c : f32[2,3]\n  return %%r0\n}\n"
        % ", ".join(fmt_elem(v, F32) for v in c),
        [x], [to(f64(x) + f64(c), F32)])
    raw("constant_splat_f32",
        "graph @constant_splat_f32(%x: f32[2,3]) -> (out: f32[2,3]) {\n"
        "  %c = constant dense<0.75> : f32[2,3]\n"
        "  %r0 = mul %x, %c : f32[2,3]\n  return %r0\n}\n",
        [x], [to(f64(x) * 0.75, F32)])
    ci = np.array([[3, -4], [5, 9223372036854775807]], dtype=I64)
    raw("constant_dense_i64_output",
        "graph @constant_dense_i64_output() -> (out: i64[2,2]) {\n"
        "  %%c = constant dense<[%s]> : i64[2,2]\n  return %%c\n}\n"
        % ", ".join(fmt_elem(v, I64) for v in ci.ravel()), [], [ci])
    cb = np.array([True, False, True])
    xb = np.array([True, True, False])
    raw("constant_dense_bool",
        "graph @constant_dense_bool(%%x: bool[3]) -> (out: bool[3]) {\n"
        "  %%c = constant dense<[%s]> : bool[3]\n"
        "  %%r0 = and %%x, %%c : bool[3]\n  return %%r0\n}\n"
        % ", ".join(fmt_elem(v, BOOL) for v in cb), [xb], [xb & cb])
    ch = np.array([1.5, -0.099975586, 65504.0], dtype=F16)
    xh = rnd("constant_dense_f16", (3,), F16)
    raw("constant_dense_f16",
        "graph @constant_dense_f16(%%x: f16[3]) -> (out: f16[3]) {\n"
        "  %%c = constant dense<[%s]> : f16[3]\n"
        "  %%r0 = max %%x, %%c : f16[3]\n  return %%r0\n}\n"
        % ", ".join(fmt_elem(v, F16) for v in ch), [xh], [np.maximum(xh, ch)])
    # Out-of-line blob (raw little-endian bytes), used twice.
    w = rnd("constant_blob", (3, 2), F32, salt="w")
    xw = rnd("constant_blob", (2, 3), F32, salt="x")
    raw("constant_blob_f32",
        "graph @constant_blob_f32(%%x: f32[2,3]) -> (out: f32[2,2], "
        "twice: f32[3,2]) {\n"
        "  %%w = constant @weight : f32[3,2]\n"
        "  %%r0 = matmul %%x, %%w : f32[2,2]\n"
        "  %%r1 = add %%w, %%w : f32[3,2]\n"
        "  return %%r0, %%r1\n}\n\nblobs {\n  @weight = 0x%s\n}\n"
        % w.astype("<f4").tobytes().hex().upper(),
        [xw], [to(f64(xw) @ f64(w), F32), to(2 * f64(w), F32)])


# --------------------------------------------------------------------------
# fused: the body is evaluated as a graph; expectations from the ops' formulas
# in double, each op's result rounded to f32 as the reference rounds it.

def gen_fused():
    def raw(name, tir, inputs, expected):
        assert name.startswith("fused_")
        CASES.append((name, tir, inputs, [np.array(e, order="C")
                                          for e in expected], None))

    x = rnd("fused_elementwise", (2, 3), F32, salt="x")
    b = rnd("fused_elementwise", (3,), F32, salt="b")
    s = np.array(-1.5, dtype=F32)
    m = to(f64(x) * f64(s), F32)
    a = to(f64(m) + f64(b), F32)
    raw("fused_elementwise_f32",
        "graph @fused_elementwise_f32(%x: f32[2,3], %s: f32[], %b: f32[3]) "
        "-> (out: f32[2,3]) {\n"
        "  %r0 = fused %x, %s, %b body(%in0: f32[2,3], %in1: f32[], "
        "%in2: f32[3]) {\n"
        "    %0 = mul %in0, %in1 : f32[2,3]\n"
        "    %1 = add %0, %in2 : f32[2,3]\n"
        "    %2 = relu %1 : f32[2,3]\n"
        "    return %2\n"
        "  } : f32[2,3]\n  return %r0\n}\n",
        [x, s, b], [np.maximum(a, np.float32(0))])

    x = rnd("fused_epilogue", (1, 2, 5, 5), F32, salt="x")
    w = rnd("fused_epilogue", (3, 2, 3, 3), F32, salt="w")
    bias = rnd("fused_epilogue", (3,), F32, salt="b")
    r = rnd("fused_epilogue", (1, 3, 3, 3), F32, salt="r")
    c = to(conv2d_ref(f64(x), f64(w), f64(bias), (1, 1), (0, 0, 0, 0),
                      (1, 1), 1), F32)
    a = to(f64(c) + f64(r), F32)
    raw("fused_epilogue_conv2d",
        "graph @fused_epilogue_conv2d(%x: f32[1,2,5,5], %w: f32[3,2,3,3], "
        "%b: f32[3], %r: f32[1,3,3,3]) -> (out: f32[1,3,3,3]) {\n"
        "  %r0 = fused %x, %w, %b, %r {kind = \"epilogue\"} "
        "body(%in0: f32[1,2,5,5], %in1: f32[3,2,3,3], %in2: f32[3], "
        "%in3: f32[1,3,3,3]) {\n"
        "    %0 = conv2d %in0, %in1, %in2 : f32[1,3,3,3]\n"
        "    %1 = add %0, %in3 : f32[1,3,3,3]\n"
        "    %2 = relu %1 : f32[1,3,3,3]\n"
        "    return %2\n"
        "  } : f32[1,3,3,3]\n  return %r0\n}\n",
        [x, w, bias, r], [np.maximum(a, np.float32(0))])


def to_blocked_ref(x, block):
    """[N, C, H, W] -> [N, ceil(C/B), H, W, B], padding lanes zero."""
    N, C, H, W = x.shape
    cb = -(-C // block)
    xp = np.zeros((N, cb * block, H, W), dtype=x.dtype)
    xp[:, :C] = x
    return np.ascontiguousarray(
        xp.reshape(N, cb, block, H, W).transpose(0, 1, 3, 4, 2))


def from_blocked_ref(y, channels):
    N, cb, H, W, B = y.shape
    return np.ascontiguousarray(
        y.transpose(0, 1, 4, 2, 3).reshape(N, cb * B, H, W)[:, :channels])


def pack_weight(w, bi, bo):
    """[OC, C, KH, KW] -> [OCb, ICb, KH, KW, Bi, Bo], zero-padded."""
    oc, c, kh, kw = w.shape
    ocb, icb = -(-oc // bo), -(-c // bi)
    wp = np.zeros((ocb * bo, icb * bi, kh, kw), dtype=w.dtype)
    wp[:oc, :c] = w
    return np.ascontiguousarray(
        wp.reshape(ocb, bo, icb, bi, kh, kw).transpose(0, 2, 4, 5, 3, 1))


def gen_layout():
    # The reorders: C = 5 in blocks of 4 (3 padding lanes).
    x = rnd("to_blocked_f32", (2, 5, 2, 3), F32)
    case("to_blocked_f32", "to_blocked", [("x", x)], to_blocked_ref(x, 4),
         {"block": 4})
    y = rnd("from_blocked_f32", (1, 2, 3, 2, 4), F32)
    case("from_blocked_f32", "from_blocked", [("x", y)],
         from_blocked_ref(y, 7), {"channels": 7})
    # conv2d_blocked = act(conv2d + bias + residual) on blocked values,
    # written out with conv2d_ref on the unblocked data (and PyTorch).
    specs = [
        # name, C, OC, HxW, k, strides, pads, bi, bo, activation, residual
        ("relu_residual", 6, 5, (5, 4), 3, (1, 1), (1, 1, 1, 1), 4, 4,
         "relu", True),
        ("plain_clip", 3, 6, (7, 6), 3, (2, 2), (1, 0, 1, 2), 1, 4,
         "clip", False),
    ]
    for tag, C, OC, (H, W), k, st, pads, bi, bo, act, has_res in specs:
        n = "conv2d_blocked_" + tag
        x = rnd(n, (1, C, H, W), F32, salt="x")
        w = rnd(n, (OC, C, k, k), F32, salt="w")
        b = rnd(n, (OC,), F32, salt="b")
        ref = conv2d_ref(f64(x), f64(w), f64(b), st, pads, (1, 1), 1)
        if torch is not None:
            T = torch.from_numpy
            t = F.conv2d(F.pad(T(x), (pads[1], pads[3], pads[0], pads[2])),
                         T(w), T(b), stride=st)
            assert np.allclose(t.numpy(), ref, rtol=1e-4, atol=1e-5), n
        res = rnd(n, ref.shape, F32, salt="r")
        if has_res:
            ref = ref + f64(res)
        attrs = {"pads": list(pads), "strides": list(st), "activation": act}
        if act == "relu":
            ref = np.maximum(ref, 0.0)
        else:
            attrs.update({"clip_min": -0.5, "clip_max": 0.75})
            ref = np.minimum(np.maximum(ref, -0.5), 0.75)
        ocb = -(-OC // bo)
        bias = np.zeros(ocb * bo, dtype=F32)
        bias[:OC] = b
        xin = x if bi == 1 else to_blocked_ref(x, bi)
        ops = [("x", xin), ("weight", pack_weight(w, bi, bo)), ("bias", bias),
               ("residual", to_blocked_ref(res, bo)) if has_res else None]
        # The padding lanes of the result hold act(0 + 0 + 0) = 0, as
        # to_blocked_ref's do.
        case(n, "conv2d_blocked", ops, to(to_blocked_ref(ref, bo), F32), attrs)
    # depthwise_conv2d_blocked = act(conv2d(groups = C) + bias + residual) on
    # blocked values; weight [Cb, KH, KW, B] with filter c in lane c % B.
    # C = 10 in blocks of 4 (2 padding lanes, which stay 0), stride 2,
    # asymmetric pads, clip, residual.
    n = "depthwise_conv2d_blocked_clip_residual"
    C, B, st, pads = 10, 4, (2, 2), (1, 0, 1, 2)
    x = rnd(n, (1, C, 7, 6), F32, salt="x")
    w = rnd(n, (C, 1, 3, 3), F32, salt="w")
    b = rnd(n, (C,), F32, salt="b")
    ref = conv2d_ref(f64(x), f64(w), f64(b), st, pads, (1, 1), C)
    if torch is not None:
        T = torch.from_numpy
        t = F.conv2d(F.pad(T(x), (pads[1], pads[3], pads[0], pads[2])),
                     T(w), T(b), stride=st, groups=C)
        assert np.allclose(t.numpy(), ref, rtol=1e-4, atol=1e-5), n
    res = rnd(n, ref.shape, F32, salt="r")
    ref = np.minimum(np.maximum(ref + f64(res), -0.5), 0.75)
    cb = -(-C // B)
    wb = np.zeros((cb * B, 3, 3), dtype=F32)
    wb[:C] = w[:, 0]
    wb = np.ascontiguousarray(wb.reshape(cb, B, 3, 3).transpose(0, 2, 3, 1))
    bias = np.zeros(cb * B, dtype=F32)
    bias[:C] = b
    ops = [("x", to_blocked_ref(x, B)), ("weight", wb), ("bias", bias),
           ("residual", to_blocked_ref(res, B))]
    case(n, "depthwise_conv2d_blocked", ops, to(to_blocked_ref(ref, B), F32),
         {"pads": list(pads), "strides": list(st), "activation": "clip",
          "clip_min": -0.5, "clip_max": 0.75})
    # max_pool2d_blocked = to_blocked(max_pool2d(x)): pool2d_ref on the
    # unblocked data (and PyTorch); C = 5 in blocks of 4, so the padding
    # lanes pool zeros to 0. ceil_mode makes the last window hang over.
    n = "max_pool2d_blocked_f32"
    x = rnd(n, (1, 5, 7, 6), F32)
    k, st, pads = [3, 3], [2, 2], [1, 1, 1, 1]
    want = pool2d_ref(f64(x), "max", k, st, pads, [1, 1], 1, 0)
    torch_check(n, "max", x, k, st, pads, [1, 1], 1, 0, want)
    case(n, "max_pool2d_blocked", [("x", to_blocked_ref(x, 4))],
         to(to_blocked_ref(want, 4), F32),
         {"kernel": k, "strides": st, "pads": pads, "ceil_mode": 1})


# --------------------------------------------------------------------------

def write_all():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    seen = set()
    for name, tir, inputs, expected, tol in CASES:
        assert name not in seen, name
        seen.add(name)
        d = os.path.join(OUT, name)
        os.makedirs(d)
        with open(os.path.join(d, "model.tir"), "w") as f:
            f.write(tir)
        for i, a in enumerate(inputs):
            np.save(os.path.join(d, "input_%d.npy" % i), a)
        for i, a in enumerate(expected):
            np.save(os.path.join(d, "expected_%d.npy" % i), a)
        if tol is not None:
            why, rtol, atol = tol
            with open(os.path.join(d, "tolerance.txt"), "w") as f:
                f.write("# %s\n%g %g\n" % (why, rtol, atol))


def main():
    gen_unary_float()
    gen_unary_numeric()
    gen_binary()
    gen_compare_logic()
    gen_where()
    gen_cast()
    gen_linalg()
    gen_conv_pool()
    gen_norm()
    gen_reduce()
    gen_shape()
    gen_recurrent()
    gen_constant()
    gen_edges()
    gen_fused()
    gen_layout()
    write_all()
    total = 0
    for root, _, files in os.walk(OUT):
        for fn in files:
            total += os.path.getsize(os.path.join(root, fn))
    print("%d cases, %d bytes in %s" % (len(CASES), total, OUT),
          file=sys.stderr)


if __name__ == "__main__":
    main()

//===- RowKernelsCodegenTest.cpp - Compiled row kernels vs the interpreter ===//
//
// softmax, log_softmax, layer_norm, batch_norm, reduce_sum/mean/max/min/
// prod and argmax, compiled with the interpreter fallback off, against the
// reference interpreter; f32 below, then integers, f16 and bf16 (with their
// own tolerances, stated at each test). Sizes 1, 7, 8, 9, 15, 16, 17, 1000, 1023 on the
// reduced axis (below, at and above the vector width 8/16, with tails), the
// axis in every position (last: row kernels; others: column kernels with
// and without vector lanes), keepdim, several axes, empty reductions,
// large-magnitude inputs (~1e4) and rows with NaN / +-inf.
//
// Tolerances (|got - want| <= atol + rtol |want|, NaN only against NaN,
// infinities equal), from the error analysis in codegen/lower/*.cpp:
// - reduce_max / reduce_min: exact.
// - reduce_sum / reduce_mean: double accumulation in another order, one
//   rounding: rtol 2^-23 (1 ulp), atol count * 2^-53 * sum|x|.
// - reduce_prod: rtol 2^-22 (double order effects are ~1e-13; 1 ulp from the
//   final rounding, one more for its tie cases).
// - softmax: e^(x - max) has the vectorized exp's <= 4 ulp error; the sum,
//   in double, of such terms is within 4 ulp; scaling by the f32 1/sum adds
//   1 ulp: rtol 12 ulp (12 * 2^-24 = 7.2e-7), atol 1e-37 (subnormals).
// - log_softmax: (x - max) - log(sum) in double; log(sum) is off by the
//   sum's relative error (<= 4 ulp = 2.4e-7 absolute): atol 5e-7 (2x), rtol
//   2^-23 for the rounding of the result.
// - layer_norm: double throughout, 1/sqrt multiplied instead of divided:
//   rtol 2^-23, atol 1e-12 * the row scale.
// - batch_norm: y = fma(x, a, b) with a, b rounded to f32: per element
//   2^-22 (|x a| + |b|) + 2^-23 |y|.
// The largest errors seen are printed ("[ error    ]").
//
//===----------------------------------------------------------------------===//
#include "CodegenTestSupport.h"

#include "runtime/ModelArena.h"

#include <cstdio>
#include <functional>
#include <mutex>

namespace tcpu {
namespace {

using cgtest::expectThreads;
using cgtest::ParallelLog;
using cgtest::randomTensor;

const int64_t kSizes[] = {1, 7, 8, 9, 15, 16, 17, 1000, 1023};

/// The tolerance of element i of output `out` (0-based across outputs):
/// absolute bound on |got - want|.
using TolFn = std::function<double(size_t out, int64_t i, double want)>;

struct Errors {
  double maxAbs = 0, maxRel = 0;
};

/// Runs `graph` compiled (fallback off unless `allowFallback`; `threads` as
/// CompileOptions::threads) and interpreted, checks every f32 output
/// element within tol, returns the largest errors.
Errors check(const Graph &graph, const std::vector<Tensor> &inputs,
             const TolFn &tol, const std::string &what,
             bool allowFallback = false, int threads = 0) {
  Errors e;
  absl::StatusOr<std::vector<Tensor>> want = interpret(graph, inputs);
  EXPECT_TRUE(want.ok()) << what << ": " << want.status();
  CompileOptions options;
  options.allowInterpreterFallback = allowFallback;
  options.threads = threads;
  absl::StatusOr<std::unique_ptr<CompiledModel>> model = compile(graph, options);
  EXPECT_TRUE(model.ok()) << what << ": " << model.status();
  if (!want.ok() || !model.ok())
    return e;
  absl::StatusOr<std::vector<Tensor>> got = (*model)->run(inputs);
  EXPECT_TRUE(got.ok()) << what << ": " << got.status();
  if (!got.ok())
    return e;
  EXPECT_EQ(got->size(), want->size());
  for (size_t o = 0; o < got->size() && o < want->size(); ++o) {
    const Tensor &g = (*got)[o], &w = (*want)[o];
    EXPECT_EQ(g.type(), w.type()) << what;
    if (g.type() != w.type())
      continue;
    int failures = 0;
    for (int64_t i = 0; i < g.numElements(); ++i) {
      double gv = g.elementAsDouble(i), wv = w.elementAsDouble(i);
      bool ok;
      if (std::isnan(wv) || std::isnan(gv) || std::isinf(wv) || std::isinf(gv)) {
        ok = (std::isnan(wv) && std::isnan(gv)) || gv == wv;
      } else {
        double d = std::fabs(gv - wv);
        ok = d <= tol(o, i, wv);
        e.maxAbs = std::max(e.maxAbs, d);
        if (wv != 0)
          e.maxRel = std::max(e.maxRel, d / std::fabs(wv));
      }
      if (!ok && failures++ < 5)
        ADD_FAILURE() << what << ": output '" << graph.outputs()[o].name << "' "
                      << w.type().str() << " element " << i << ": got "
                      << gv << ", want " << wv;
    }
  }
  std::printf("[ error    ] %s: max abs %.3g, max rel %.3g\n", what.c_str(),
              e.maxAbs, e.maxRel);
  return e;
}

/// A graph with one `kind` op per (shape, attrs) case, all on random inputs.
struct Cases {
  GraphBuilder b{"cases"};
  std::vector<Tensor> inputs;
  std::vector<double> scales; // per output: count * sum|x| bound helper
  int n = 0;
  Value *add(const Tensor &x) {
    Value *v = b.input("x" + std::to_string(n++), x.type());
    inputs.push_back(x);
    return v;
  }
  void out(OpKind kind, std::vector<Value *> operands, Attributes attrs,
           double scale = 0) {
    absl::StatusOr<Value *> v = b.create(kind, std::move(operands), std::move(attrs));
    ASSERT_TRUE(v.ok()) << v.status();
    b.output("y" + std::to_string(scales.size()), *v);
    scales.push_back(scale);
  }
  std::unique_ptr<Graph> finish() { return b.finish().value(); }
};

/// The [outer, s, inner] shapes for axis size s: the axis last, first,
/// and in the middle with an inner size below and above the vector width.
std::vector<std::pair<Shape, int64_t>> axisShapes(int64_t s) {
  return {{{s}, 0}, {{3, s}, 1}, {{s, 17}, 0}, {{2, s, 5}, 1}, {{2, 3, s}, 2},
          {{s, 1, 9}, 0}};
}

double maxAbs(const Tensor &t) {
  double m = 0;
  for (int64_t i = 0; i < t.numElements(); ++i)
    if (std::isfinite(t.elementAsDouble(i)))
      m = std::max(m, std::fabs(t.elementAsDouble(i)));
  return m;
}

Attributes reduceAttrs(std::vector<int64_t> axes, bool keepdim) {
  Attributes a;
  if (!axes.empty() || keepdim)
    a.set("axes", axes);
  a.set("keepdim", int64_t{keepdim});
  return a;
}

void checkReduce(OpKind kind, double lo, double hi, bool specials) {
  std::mt19937_64 rng(static_cast<uint64_t>(kind) * 7 + specials);
  Cases c;
  auto addCase = [&](const Shape &shape, std::vector<int64_t> axes, bool keepdim) {
    Tensor x = randomTensor(TensorType(DType::F32, shape), rng, lo, hi, specials);
    int64_t count = 1;
    std::vector<bool> mask(shape.size(), axes.empty());
    for (int64_t a : axes)
      if (!shape.empty())
        mask[a < 0 ? a + shape.size() : a] = true;
    for (size_t d = 0; d < shape.size(); ++d)
      if (mask[d])
        count *= shape[d];
    // count * 2^-53 * sum|x| <= count^2 * 2^-53 * max|x|
    double scale = static_cast<double>(count) * count * std::ldexp(1.0, -53) * maxAbs(x);
    c.out(kind, {c.add(x)}, reduceAttrs(axes, keepdim), scale);
  };
  for (int64_t s : kSizes)
    for (auto &[shape, axis] : axisShapes(s)) {
      addCase(shape, {axis}, false);
      addCase(shape, {axis - static_cast<int64_t>(shape.size())}, true);
    }
  addCase({4, 6, 10}, {1, 2}, false);  // adjacent axes: [4, 60] rows
  addCase({4, 6, 10}, {0, 1}, true);   // [24, 10] columns
  addCase({3, 1, 33}, {0, 2}, false);  // adjacent once the size-1 dim drops
  addCase({5, 7, 3}, {}, false);       // every axis
  addCase({5, 7, 3}, {}, true);
  addCase({}, {}, false);              // a scalar
  addCase({}, {0}, true);
  addCase({4, 1, 3}, {1}, false);      // reducing a size-1 dim: a copy
  addCase({0, 5}, {0}, false);         // empty reductions: identities
  addCase({3, 0}, {1}, true);
  addCase({2, 0, 9}, {1}, false);
  addCase({0, 5}, {1}, false);         // empty result
  auto g = c.finish();
  double rtol = kind == OpKind::ReduceProd ? std::ldexp(1.0, -22)
                : kind == OpKind::ReduceMax || kind == OpKind::ReduceMin
                    ? 0
                    : std::ldexp(1.0, -23);
  bool exact = kind == OpKind::ReduceMax || kind == OpKind::ReduceMin;
  check(*g, c.inputs,
        [&](size_t o, int64_t, double w) {
          return exact ? 0.0 : rtol * std::fabs(w) + c.scales[o];
        },
        std::string(opInfo(kind).mnemonic) + (specials ? " with specials" : ""));
}

TEST(RowKernelsCodegen, Reductions) {
  for (OpKind k : {OpKind::ReduceSum, OpKind::ReduceMean, OpKind::ReduceMax,
                   OpKind::ReduceMin}) {
    checkReduce(k, -4, 4, false);
    checkReduce(k, -4, 4, true);
    checkReduce(k, -1e4, 1e4, false);
  }
  checkReduce(OpKind::ReduceProd, 0.5, 1.5, false);
  checkReduce(OpKind::ReduceProd, 0.9, 1.1, true); // 0, inf, NaN: exact rules
}

TEST(RowKernelsCodegen, ReduceNaNAndInf) {
  // Rows (last axis) and columns (axis 0) holding NaN and infinities in
  // every lane position and in the tail.
  for (OpKind k : {OpKind::ReduceSum, OpKind::ReduceMean, OpKind::ReduceMax,
                   OpKind::ReduceMin, OpKind::ReduceProd}) {
    Cases c;
    for (int64_t n : {7, 17, 1023}) {
      for (double special : {NAN, INFINITY, -INFINITY}) {
        Tensor x = Tensor::allocate(TensorType(DType::F32, {n, n})).value();
        for (int64_t i = 0; i < n * n; ++i)
          x.setElementFromDouble(i, 1.0 + 0.001 * (i % 13));
        for (int64_t r = 0; r < n; r += 3) // a special at column r of row r
          x.setElementFromDouble(r * n + r, special);
        Value *v = c.add(x);
        c.out(k, {v}, reduceAttrs({1}, false));
        c.out(k, {v}, reduceAttrs({0}, true));
      }
    }
    auto g = c.finish();
    check(*g, c.inputs,
          [](size_t, int64_t, double w) { return std::ldexp(1.0, -22) * std::fabs(w); },
          std::string(opInfo(k).mnemonic) + " NaN/inf rows");
  }
}

TEST(RowKernelsCodegen, ReduceNonAdjacentAxes) {
  // Reduced dims that do not merge into one block run on the loop-nest
  // kernel, which walks each output's elements in the reference's
  // (row-major) order: exact, for every kind.
  std::mt19937_64 rng(3);
  for (OpKind k : {OpKind::ReduceSum, OpKind::ReduceMean, OpKind::ReduceMax,
                   OpKind::ReduceMin, OpKind::ReduceProd}) {
    Cases c;
    auto addCase = [&](const Shape &shape, std::vector<int64_t> axes, bool keepdim) {
      double lo = k == OpKind::ReduceProd ? 0.5 : -4, hi = k == OpKind::ReduceProd ? 1.5 : 4;
      c.out(k, {c.add(randomTensor(TensorType(DType::F32, shape), rng, lo, hi))},
            reduceAttrs(axes, keepdim));
    };
    addCase({3, 4, 5}, {0, 2}, false);
    addCase({3, 4, 5}, {0, 2}, true);
    addCase({2, 3, 4, 5}, {1, 3}, false);
    addCase({2, 3, 4, 5}, {0, 1, 3}, false);
    addCase({6, 17, 5, 16}, {1, 3}, false); // last dim reduced: scalar walk
    addCase({6, 5, 3, 33}, {0, 2}, false);  // last dim kept: W outputs at once
    addCase({7, 1, 9, 1, 17}, {0, 2, 3}, true);
    addCase({0, 4, 5}, {0, 2}, false);     // empty reduction: identities
    auto g = c.finish();
    check(*g, c.inputs, [](size_t, int64_t, double) { return 0.0; },
          std::string(opInfo(k).mnemonic) + " non-adjacent axes");
  }
}

// ----- Other dtypes: integers, f16, bf16; argmax --------------------------------

/// Runs `graph` compiled without fallback against the interpreter:
/// identical bytes for integers, within `ulps` of the type for floats.
void checkExact(const Graph &graph, const std::vector<Tensor> &inputs, int64_t ulps,
                const std::string &what) {
  SCOPED_TRACE(what);
  CompileOptions options;
  options.allowInterpreterFallback = false;
  int64_t worst = cgtest::expectMatchesInterpreter(graph, inputs, ulps, options);
  std::printf("[ ulps     ] %s: %lld\n", what.c_str(), static_cast<long long>(worst));
}

/// One reduction per axis position and size (kSizes up to 1023), keepdim
/// too, several and non-adjacent axes, every axis, a scalar and (unless
/// `nonEmpty`) empty reductions.
std::unique_ptr<Graph> reduceCases(Cases &c, OpKind kind, DType dt, std::mt19937_64 &rng,
                                   bool nonEmpty, double lo = -4, double hi = 4) {
  auto addCase = [&](const Shape &shape, std::vector<int64_t> axes, bool keepdim) {
    c.out(kind, {c.add(randomTensor(TensorType(dt, shape), rng, lo, hi))},
          reduceAttrs(axes, keepdim));
  };
  for (int64_t s : {1, 7, 16, 17, 1023})
    for (auto &[shape, axis] : axisShapes(s))
      addCase(shape, {axis}, axis % 2 == 0);
  addCase({4, 6, 10}, {1, 2}, false);
  addCase({3, 4, 5}, {0, 2}, false);
  addCase({5, 7, 3}, {}, false);
  addCase({}, {}, false);
  if (!nonEmpty) {
    addCase({0, 5}, {0}, false);
    addCase({2, 0, 9}, {1}, true);
  }
  addCase({0, 5}, {1}, false); // empty result
  return c.finish();
}

TEST(RowKernelsCodegen, ReduceIntegers) {
  // Exact: wrapping sum and prod, exact mean (truncated), max and min.
  for (DType dt : {DType::I8, DType::U8, DType::I32, DType::I64})
    for (OpKind k : {OpKind::ReduceSum, OpKind::ReduceMean, OpKind::ReduceMax,
                     OpKind::ReduceMin, OpKind::ReduceProd}) {
      std::mt19937_64 rng(static_cast<uint64_t>(k) * 3 + static_cast<int>(dt));
      Cases c;
      auto g = reduceCases(c, k, dt, rng, /*nonEmpty=*/k == OpKind::ReduceMean);
      checkExact(*g, c.inputs, 0,
                 std::string(opInfo(k).mnemonic) + " " + std::string(dtypeName(dt)));
    }
  // Means of extreme values: the i128 sum does not overflow.
  for (DType dt : {DType::I32, DType::I64}) {
    Cases c;
    Tensor x = Tensor::allocate(TensorType(dt, {3, 1000})).value();
    for (int64_t i = 0; i < 3000; ++i)
      x.setElementFromInt(i, i % 1000 == 999 ? 7 : (i / 1000 == 1 ? INT64_MIN : INT64_MAX));
    c.out(OpKind::ReduceMean, {c.add(x)}, reduceAttrs({1}, false));
    auto g = c.finish();
    checkExact(*g, c.inputs, 0, "reduce_mean of extremes " + std::string(dtypeName(dt)));
  }
}

TEST(RowKernelsCodegen, ReduceHalves) {
  // f16/bf16 widened to f32, accumulated in double, rounded once (to odd
  // at f32, then to 16 bits) as the reference: max and min exact; sum,
  // mean and prod only in another order, within 1 ulp of the 16-bit type.
  for (DType dt : {DType::F16, DType::BF16})
    for (OpKind k : {OpKind::ReduceSum, OpKind::ReduceMean, OpKind::ReduceMax,
                     OpKind::ReduceMin, OpKind::ReduceProd}) {
      std::mt19937_64 rng(static_cast<uint64_t>(k) * 5 + static_cast<int>(dt));
      Cases c;
      bool prod = k == OpKind::ReduceProd;
      auto g = reduceCases(c, k, dt, rng, false, prod ? 0.9 : -4, prod ? 1.1 : 4);
      bool exact = k == OpKind::ReduceMax || k == OpKind::ReduceMin;
      checkExact(*g, c.inputs, exact ? 0 : 1,
                 std::string(opInfo(k).mnemonic) + " " + std::string(dtypeName(dt)));
    }
}

TEST(RowKernelsCodegen, Argmax) {
  // Exact indices. Values from a small set, so that ties are common (first
  // index, or the last with select_last_index); NaN beats every number.
  for (DType dt : {DType::F32, DType::F16, DType::BF16, DType::I8, DType::U8, DType::I32,
                   DType::I64}) {
    for (int64_t last : {0, 1}) {
      std::mt19937_64 rng(static_cast<uint64_t>(dt) * 2 + last);
      Cases c;
      auto addCase = [&](const Shape &shape, int64_t axis, bool keepdim, bool ties) {
        Tensor x = randomTensor(TensorType(dt, shape), rng, -4, 4, /*specials=*/true);
        if (ties)
          for (int64_t i = 0; i < x.numElements(); ++i)
            if (!std::isnan(x.elementAsDouble(i)))
              x.setElementFromInt(i, static_cast<int64_t>(rng() % 3));
        Attributes a;
        a.set("axis", axis);
        a.set("keepdim", int64_t{keepdim});
        a.set("select_last_index", last);
        c.out(OpKind::Argmax, {c.add(x)}, a);
      };
      for (int64_t s : {1, 7, 16, 17, 1023})
        for (auto &[shape, axis] : axisShapes(s)) {
          addCase(shape, axis, axis == 0, false);
          addCase(shape, axis - static_cast<int64_t>(shape.size()), false, true);
        }
      addCase({}, 0, false, false); // a scalar: index 0
      addCase({0, 5}, 1, false, false); // empty result
      auto g = c.finish();
      checkExact(*g, c.inputs, 0,
                 "argmax " + std::string(dtypeName(dt)) + (last ? " last" : " first"));
    }
  }
}

TEST(RowKernelsCodegen, NormalizationHalves) {
  // f16/bf16: loads widened, the f32 kernels' arithmetic (see the f32
  // tolerances above), one rounding to 16 bits: within 1 ulp of the 16-bit
  // type, plus log_softmax's 5e-7 absolute error. batch_norm evaluates the
  // reference's formula in double (exact); layer_norm within 1 ulp.
  for (DType dt : {DType::F16, DType::BF16}) {
    std::mt19937_64 rng(static_cast<uint64_t>(dt) + 17);
    double ulp = dt == DType::F16 ? 0x1p-10 : 0x1p-7;
    for (OpKind k : {OpKind::Softmax, OpKind::LogSoftmax}) {
      Cases c;
      for (int64_t s : {1, 7, 16, 17, 1023})
        for (auto &[shape, axis] : axisShapes(s)) {
          Attributes a;
          a.set("axis", axis);
          c.out(k, {c.add(randomTensor(TensorType(dt, shape), rng, -8, 8, false))}, a);
        }
      auto g = c.finish();
      double atol = k == OpKind::LogSoftmax ? 5e-7 : 6e-8;
      check(*g, c.inputs, [&](size_t, int64_t, double w) { return ulp * std::fabs(w) + atol; },
            std::string(opInfo(k).mnemonic) + " " + std::string(dtypeName(dt)));
    }
    Cases c;
    for (int64_t s : {1, 7, 17, 1023}) {
      Tensor x = randomTensor(TensorType(dt, {3, s}), rng, -4, 4, false);
      Tensor scale = randomTensor(TensorType(dt, {s}), rng, -2, 2, false);
      Tensor bias = randomTensor(TensorType(dt, {s}), rng, -2, 2, false);
      c.out(OpKind::LayerNorm, {c.add(x), c.add(scale), c.add(bias)}, {});
      int64_t ch = 3;
      Attributes eps;
      eps.set("epsilon", 1e-3);
      std::vector<Value *> bn = {c.add(randomTensor(TensorType(dt, {2, ch, s}), rng, -4, 4))};
      for (int p = 0; p < 4; ++p)
        bn.push_back(c.add(randomTensor(TensorType(dt, {ch}), rng, p == 3 ? 0 : -2, 2, false)));
      c.out(OpKind::BatchNorm, bn, eps);
    }
    auto g = c.finish();
    checkExact(*g, c.inputs, 1, "layer_norm and batch_norm " + std::string(dtypeName(dt)));
  }
}

// ----- softmax / log_softmax -----------------------------------------------------

constexpr double kSoftmaxRtol = 12 * 0x1p-24;
constexpr double kSoftmaxAtol = 1e-37;
constexpr double kLogSoftmaxAtol = 5e-7;

TolFn softmaxTol(bool logarithm) {
  return [logarithm](size_t, int64_t, double w) {
    return logarithm ? kLogSoftmaxAtol + 0x1p-23 * std::fabs(w)
                     : kSoftmaxAtol + kSoftmaxRtol * std::fabs(w);
  };
}

void checkSoftmax(bool logarithm, double lo, double hi, bool specials) {
  OpKind kind = logarithm ? OpKind::LogSoftmax : OpKind::Softmax;
  std::mt19937_64 rng(11 + logarithm * 2 + specials);
  Cases c;
  for (int64_t s : kSizes)
    for (auto &[shape, axis] : axisShapes(s)) {
      Attributes a;
      a.set("axis", axis == static_cast<int64_t>(shape.size()) - 1 && s % 2 ? int64_t{-1}
                                                                          : axis);
      c.out(kind, {c.add(randomTensor(TensorType(DType::F32, shape), rng, lo, hi, specials))},
            a);
    }
  for (Shape empty : {Shape{0, 5}, Shape{3, 0}}) {
    Attributes a;
    a.set("axis", int64_t{1});
    c.out(kind, {c.add(randomTensor(TensorType(DType::F32, empty), rng))}, a);
  }
  auto g = c.finish();
  char what[96];
  std::snprintf(what, sizeof what, "%s in [%g, %g]%s", logarithm ? "log_softmax" : "softmax",
                lo, hi, specials ? " with specials" : "");
  check(*g, c.inputs, softmaxTol(logarithm), what);
}

TEST(RowKernelsCodegen, Softmax) {
  for (bool logarithm : {false, true}) {
    checkSoftmax(logarithm, -4, 4, false);
    checkSoftmax(logarithm, -4, 4, true);
    checkSoftmax(logarithm, -30, 30, false);
    checkSoftmax(logarithm, -1e4, 1e4, false); // stability: huge logits
    checkSoftmax(logarithm, 9990, 10010, false); // ~1e4, close together
  }
}

TEST(RowKernelsCodegen, SoftmaxSpecialRows) {
  // Rows (last axis) and columns (axis 0) with NaN, +inf, all -inf, some
  // -inf, a single dominant value: NaN rows as the reference.
  for (bool logarithm : {false, true}) {
    Cases c;
    for (int64_t n : {1, 7, 9, 17, 1023}) {
      const int rows = 6;
      Tensor x = Tensor::allocate(TensorType(DType::F32, {rows, n})).value();
      for (int64_t i = 0; i < rows * n; ++i)
        x.setElementFromDouble(i, 0.01 * static_cast<double>((i * 7) % 23) - 0.1);
      int64_t k = n / 2;
      x.setElementFromDouble(0 * n + k, NAN);
      x.setElementFromDouble(1 * n + n - 1, INFINITY);
      for (int64_t j = 0; j < n; ++j)
        x.setElementFromDouble(2 * n + j, -INFINITY);
      for (int64_t j = 0; j < n; j += 2)
        x.setElementFromDouble(3 * n + j, -INFINITY);
      x.setElementFromDouble(4 * n + k, 1e4f);
      x.setElementFromDouble(5 * n + k, -1e30f);
      Value *v = c.add(x);
      Attributes last, first;
      last.set("axis", int64_t{-1});
      first.set("axis", int64_t{0});
      c.out(logarithm ? OpKind::LogSoftmax : OpKind::Softmax, {v}, last);
      c.out(logarithm ? OpKind::LogSoftmax : OpKind::Softmax, {v}, first);
    }
    auto g = c.finish();
    check(*g, c.inputs, softmaxTol(logarithm),
          std::string(logarithm ? "log_softmax" : "softmax") + " NaN/inf rows");
  }
}

// ----- layer_norm / batch_norm ----------------------------------------------------

TEST(RowKernelsCodegen, LayerNorm) {
  std::mt19937_64 rng(5);
  for (double range : {4.0, 1e4}) {
    for (bool specials : {false, true}) {
      Cases c;
      std::vector<double> rowScale;
      auto addCase = [&](const Shape &shape, int64_t axis, int params, bool single) {
        Tensor x = randomTensor(TensorType(DType::F32, shape), rng, -range, range, specials);
        std::vector<Value *> ops = {c.add(x)};
        int64_t a = axis < 0 ? axis + shape.size() : axis;
        Shape norm(shape.begin() + a, shape.end());
        Shape pshape = single ? Shape{1} : norm;
        for (int p = 0; p < 2; ++p) {
          if (p < params)
            ops.push_back(c.add(randomTensor(TensorType(DType::F32, pshape), rng,
                                             -2, 2, false)));
        }
        if (params == -1) // bias only
          ops = {ops[0], nullptr,
                 c.add(randomTensor(TensorType(DType::F32, pshape), rng, -2, 2, false))};
        Attributes at;
        at.set("axis", axis);
        at.set("epsilon", 1e-5);
        c.out(OpKind::LayerNorm, ops, at);
      };
      for (int64_t s : kSizes) {
        addCase({s}, 0, 2, false);
        addCase({3, s}, -1, 1, false);
        addCase({2, s}, 1, 0, false);
        addCase({2, 3, s}, 1, 2, false); // normalized block [3, s]
        addCase({3, s}, -1, -1, false);
        addCase({2, s}, -1, 2, true);    // scale and bias of one element
      }
      addCase({4, 1}, -1, 2, false); // one element per row: var 0
      addCase({0, 8}, -1, 2, false); // empty
      auto g = c.finish();
      // atol: 1e-12 of the largest |y| (|y| <= sqrt(n) * 2 + 2 here).
      check(*g, c.inputs,
            [](size_t, int64_t, double w) { return 0x1p-23 * std::fabs(w) + 1e-10; },
            "layer_norm in +-" + std::to_string(range) + (specials ? " with specials" : ""));
    }
  }
}

TEST(RowKernelsCodegen, LayerNormPartialBroadcast) {
  // scale / bias broadcast along part of the normalized shape ([3, 1] or
  // [1, 4] of [3, 4]) are read through a table of element indices.
  std::mt19937_64 rng(9);
  Cases c;
  for (const auto &[x, s, bias] :
       {std::tuple<Shape, Shape, Shape>{{2, 3, 4}, {3, 1}, {1, 4}},
        {{5, 3, 17}, {1, 17}, {3, 1}},
        {{2, 3, 4}, {3, 4}, {3, 1}}}) {
    Attributes at;
    at.set("axis", int64_t{1});
    c.out(OpKind::LayerNorm,
          {c.add(randomTensor(TensorType(DType::F32, x), rng)),
           c.add(randomTensor(TensorType(DType::F32, s), rng)),
           c.add(randomTensor(TensorType(DType::F32, bias), rng))},
          at);
  }
  auto g = c.finish();
  check(*g, c.inputs,
        [](size_t, int64_t, double w) { return 0x1p-23 * std::fabs(w) + 1e-10; },
        "layer_norm partial broadcast");
}

TEST(RowKernelsCodegen, BatchNorm) {
  std::mt19937_64 rng(13);
  for (bool specials : {false, true}) {
    Cases c;
    struct Params {
      Tensor x, scale, bias, mean, var;
      int64_t channels, hw;
    };
    std::vector<Params> ps;
    auto addCase = [&](const Shape &shape) {
      int64_t ch = shape[1];
      Params p{randomTensor(TensorType(DType::F32, shape), rng, -4, 4, specials),
               randomTensor(TensorType(DType::F32, {ch}), rng, -2, 2, false),
               randomTensor(TensorType(DType::F32, {ch}), rng, -2, 2, false),
               randomTensor(TensorType(DType::F32, {ch}), rng, -2, 2, false),
               randomTensor(TensorType(DType::F32, {ch}), rng, 0, 3, false), ch, 1};
      for (size_t d = 2; d < shape.size(); ++d)
        p.hw *= shape[d];
      Attributes at;
      at.set("epsilon", 1e-3);
      c.out(OpKind::BatchNorm,
            {c.add(p.x), c.add(p.scale), c.add(p.bias), c.add(p.mean), c.add(p.var)}, at);
      ps.push_back(std::move(p));
    };
    for (int64_t s : kSizes)
      addCase({2, 3, s});
    addCase({4, 5});
    addCase({2, 4, 7, 9});
    addCase({1, 16, 8, 8});
    addCase({0, 3, 4});
    auto g = c.finish();
    check(*g, c.inputs,
          [&](size_t o, int64_t i, double w) {
            const Params &p = ps[o];
            int64_t ch = (i / p.hw) % p.channels;
            double a = p.scale.elementAsDouble(ch) /
                       std::sqrt(p.var.elementAsDouble(ch) + 1e-3);
            double b = p.bias.elementAsDouble(ch) - p.mean.elementAsDouble(ch) * a;
            return 0x1p-22 * (std::fabs(p.x.elementAsDouble(i) * a) + std::fabs(b)) +
                   0x1p-23 * std::fabs(w);
          },
          std::string("batch_norm") + (specials ? " with specials" : ""));
  }
}

// ----- threads ----------------------------------------------------------------

// Row kernels big enough to split over threads, with uneven task counts
// (67 softmax rows of 1023 in tasks of 23, 23, 21; 5 outer rows of 9000
// column elements in tasks of 3 and 2; ...), at 1 and 2 threads: the same
// tolerances as above (no special values: a NaN would turn whole rows into
// NaN and hide errors), and every loop on at most `threads` slots, split
// over several tasks at 2.
TEST(RowKernelsCodegen, ThreadedAtOneAndTwoThreads) {
  for (int threads : {1, 2}) {
    std::mt19937_64 rng(31);
    std::string at = " at " + std::to_string(threads) + " thread(s)";
    auto run = [&](Cases &c, const TolFn &tol, const std::string &what) {
      auto g = c.finish();
      ParallelLog log;
      check(*g, c.inputs, tol, what + at, false, threads);
      expectThreads(log, threads, what + at);
    };
    for (bool logarithm : {false, true}) {
      OpKind kind = logarithm ? OpKind::LogSoftmax : OpKind::Softmax;
      Cases c;
      Attributes last, middle;
      last.set("axis", int64_t{-1});
      middle.set("axis", int64_t{1});
      c.out(kind, {c.add(randomTensor(TensorType(DType::F32, {67, 1023}), rng, -4, 4, false))},
            last);
      c.out(kind, {c.add(randomTensor(TensorType(DType::F32, {5, 1000, 9}), rng, -4, 4, false))},
            middle);
      run(c, softmaxTol(logarithm), logarithm ? "log_softmax" : "softmax");
    }
    {
      Cases c;
      Attributes a;
      a.set("axis", int64_t{-1});
      a.set("epsilon", 1e-5);
      c.out(OpKind::LayerNorm,
            {c.add(randomTensor(TensorType(DType::F32, {70, 999}), rng, -4, 4, false)),
             c.add(randomTensor(TensorType(DType::F32, {999}), rng, -2, 2, false)),
             c.add(randomTensor(TensorType(DType::F32, {999}), rng, -2, 2, false))},
            a);
      run(c, [](size_t, int64_t, double w) { return 0x1p-23 * std::fabs(w) + 1e-10; },
          "layer_norm");
    }
    {
      // 15 planes of 2025 in tasks of 8 and 7. Inputs and parameters bound
      // |x a| + |b| by 4 * 2 / sqrt(1e-3) + 2 + 2 * 2 / sqrt(1e-3) < 400.
      Cases c;
      Attributes a;
      a.set("epsilon", 1e-3);
      Tensor var = randomTensor(TensorType(DType::F32, {5}), rng, 0, 3, false);
      c.out(OpKind::BatchNorm,
            {c.add(randomTensor(TensorType(DType::F32, {3, 5, 45, 45}), rng, -4, 4, false)),
             c.add(randomTensor(TensorType(DType::F32, {5}), rng, -2, 2, false)),
             c.add(randomTensor(TensorType(DType::F32, {5}), rng, -2, 2, false)),
             c.add(randomTensor(TensorType(DType::F32, {5}), rng, -2, 2, false)),
             c.add(var)},
            a);
      run(c, [](size_t, int64_t, double w) { return 0x1p-22 * 400 + 0x1p-23 * std::fabs(w); },
          "batch_norm");
    }
    for (OpKind kind : {OpKind::ReduceSum, OpKind::ReduceMax}) {
      // Rows: 65 of 1500 in tasks of 22, 22, 21; columns: 41 outer rows of
      // 800 x 5 in tasks of 9 (the last 5).
      Cases c;
      Tensor rows = randomTensor(TensorType(DType::F32, {65, 1500}), rng, -4, 4, false);
      Tensor cols = randomTensor(TensorType(DType::F32, {41, 800, 5}), rng, -4, 4, false);
      c.out(kind, {c.add(rows)}, reduceAttrs({1}, false),
            1500.0 * 1500.0 * std::ldexp(1.0, -53) * maxAbs(rows));
      c.out(kind, {c.add(cols)}, reduceAttrs({1}, true),
            800.0 * 800.0 * std::ldexp(1.0, -53) * maxAbs(cols));
      bool exact = kind == OpKind::ReduceMax;
      std::vector<double> scales = c.scales;
      run(c,
          [exact, scales](size_t o, int64_t, double w) {
            return exact ? 0.0 : std::ldexp(1.0, -23) * std::fabs(w) + scales[o];
          },
          std::string(opInfo(kind).mnemonic));
    }
  }
}

} // namespace
} // namespace tcpu

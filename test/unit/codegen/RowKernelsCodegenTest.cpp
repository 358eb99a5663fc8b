//===- RowKernelsCodegenTest.cpp - Compiled row kernels vs the interpreter ===//
//
// softmax, log_softmax, layer_norm, batch_norm and reduce_sum/mean/max/min/
// prod on f32, compiled with the interpreter fallback off, against the
// reference interpreter. Sizes 1, 7, 8, 9, 15, 16, 17, 1000, 1023 on the
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

#include <cstdio>
#include <functional>

namespace tcpu {
namespace {

using cgtest::randomTensor;

const int64_t kSizes[] = {1, 7, 8, 9, 15, 16, 17, 1000, 1023};

/// The tolerance of element i of output `out` (0-based across outputs):
/// absolute bound on |got - want|.
using TolFn = std::function<double(size_t out, int64_t i, double want)>;

struct Errors {
  double maxAbs = 0, maxRel = 0;
};

/// Runs `graph` compiled (fallback off unless `allowFallback`) and
/// interpreted, checks every f32 output element within tol, returns the
/// largest errors.
Errors check(const Graph &graph, const std::vector<Tensor> &inputs,
             const TolFn &tol, const std::string &what,
             bool allowFallback = false) {
  Errors e;
  absl::StatusOr<std::vector<Tensor>> want = interpret(graph, inputs);
  EXPECT_TRUE(want.ok()) << what << ": " << want.status();
  CompileOptions options;
  options.allowInterpreterFallback = allowFallback;
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

TEST(RowKernelsCodegen, ReduceNonAdjacentAxesFallBack) {
  // Axes {0, 2} of [3, 4, 5] are not lowered: the interpreter runs them.
  std::mt19937_64 rng(3);
  Cases c;
  c.out(OpKind::ReduceSum, {c.add(randomTensor(TensorType(DType::F32, {3, 4, 5}), rng))},
        reduceAttrs({0, 2}, false));
  auto g = c.finish();
  CompileOptions options;
  options.allowInterpreterFallback = false;
  EXPECT_FALSE(compile(*g, options).ok());
  check(*g, c.inputs, [](size_t, int64_t, double) { return 0.0; },
        "reduce_sum axes {0, 2} (fallback)", /*allowFallback=*/true);
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

TEST(RowKernelsCodegen, LayerNormPartialBroadcastFallsBack) {
  std::mt19937_64 rng(9);
  Cases c;
  Value *x = c.add(randomTensor(TensorType(DType::F32, {2, 3, 4}), rng));
  Value *s = c.add(randomTensor(TensorType(DType::F32, {3, 1}), rng));
  Attributes at;
  at.set("axis", int64_t{1});
  c.out(OpKind::LayerNorm, {x, s}, at);
  auto g = c.finish();
  check(*g, c.inputs, [](size_t, int64_t, double) { return 0.0; },
        "layer_norm scale [3, 1] (fallback)", /*allowFallback=*/true);
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

} // namespace
} // namespace tcpu

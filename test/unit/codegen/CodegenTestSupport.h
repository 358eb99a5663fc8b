//===- CodegenTestSupport.h - Differential testing of compiled models ---*- C++ -*-===//
//
// Random tensors, and a comparison of a compiled model's outputs with the
// reference interpreter's: integer and bool outputs must be identical, float
// outputs (f32, f16, bf16) within a stated number of ulps of their type
// (NaN matches NaN).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Tcpu.h"
#include "ir/Builder.h"
#include "ir/Interpreter.h"
#include "runtime/ModelArena.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace tcpu::cgtest {

/// Random values: floats uniform in [lo, hi] with, when `specials`, about
/// one element in 16 replaced by 0, -0, +-inf, NaN, a subnormal or a large
/// value; integers uniform over the dtype's range (i64: +-2^40); bool fair.
inline Tensor randomTensor(const TensorType &type, std::mt19937_64 &rng,
                           double lo = -4, double hi = 4, bool specials = true) {
  Tensor t = Tensor::allocate(type).value();
  std::uniform_real_distribution<double> real(lo, hi);
  std::uniform_int_distribution<int> pick(0, 15);
  const double sp[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 1e-40, -3e-39,
                       1e30, -2.5, 0.5};
  for (int64_t i = 0, n = t.numElements(); i < n; ++i) {
    switch (type.dtype) {
    case DType::F32:
    case DType::F16:
    case DType::BF16:
      t.setElementFromDouble(
          i, specials && pick(rng) == 0 ? sp[rng() % std::size(sp)] : real(rng));
      break;
    case DType::I8:
      t.setElementFromInt(i, static_cast<int64_t>(rng() % 256) - 128);
      break;
    case DType::U8:
      t.setElementFromInt(i, static_cast<int64_t>(rng() % 256));
      break;
    case DType::I32:
      t.setElementFromInt(i, static_cast<int32_t>(rng()));
      break;
    case DType::I64:
      t.setElementFromInt(i, static_cast<int64_t>(rng() % (1ull << 41)) -
                                 (int64_t{1} << 40));
      break;
    case DType::Bool:
      t.setElementFromInt(i, rng() % 2);
      break;
    }
  }
  return t;
}

/// Distance in ulps between two f32 values (0 for two NaNs; huge for NaN
/// against a number).
inline int64_t ulpDistance(float a, float b) {
  if (std::isnan(a) || std::isnan(b))
    return std::isnan(a) && std::isnan(b) ? 0 : std::numeric_limits<int64_t>::max();
  auto ordered = [](float f) {
    int32_t i;
    std::memcpy(&i, &f, 4);
    return i < 0 ? int64_t{INT32_MIN} - i : int64_t{i};
  };
  int64_t d = ordered(a) - ordered(b);
  return d < 0 ? -d : d;
}

/// Distance in ulps between two f16 or bf16 values given as bits (0 for
/// two NaNs, whatever their payloads; huge for NaN against a number).
inline int64_t ulpDistance16(uint16_t a, uint16_t b, DType t) {
  auto isNaN = [t](uint16_t h) {
    return t == DType::F16 ? (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0
                           : (h & 0x7f80) == 0x7f80 && (h & 0x7f) != 0;
  };
  if (isNaN(a) || isNaN(b))
    return isNaN(a) && isNaN(b) ? 0 : std::numeric_limits<int64_t>::max();
  auto ordered = [](uint16_t h) {
    return h & 0x8000 ? -int64_t{h & 0x7fff} : int64_t{h};
  };
  int64_t d = ordered(a) - ordered(b);
  return d < 0 ? -d : d;
}

/// Largest ulp distance over the elements of two float tensors of one type
/// (ulps of f32, f16 or bf16); for other dtypes, 0 when the bytes agree,
/// else INT64_MAX.
inline int64_t maxUlp(const Tensor &got, const Tensor &want, std::string &where) {
  if (got.type() != want.type()) {
    where = "type " + got.type().str() + " vs " + want.type().str();
    return std::numeric_limits<int64_t>::max();
  }
  int64_t worst = 0;
  for (int64_t i = 0, n = got.numElements(); i < n; ++i) {
    int64_t d;
    if (got.dtype() == DType::F32) {
      d = ulpDistance(got.dataAs<float>()[i], want.dataAs<float>()[i]);
    } else if (got.dtype() == DType::F16 || got.dtype() == DType::BF16) {
      d = ulpDistance16(got.dataAs<uint16_t>()[i], want.dataAs<uint16_t>()[i],
                        got.dtype());
    } else {
      int64_t s = dtypeSize(got.dtype());
      d = std::memcmp(static_cast<const char *>(got.data()) + i * s,
                      static_cast<const char *>(want.data()) + i * s, s) == 0
              ? 0
              : std::numeric_limits<int64_t>::max();
    }
    if (d > worst) {
      worst = d;
      char buf[160];
      std::snprintf(buf, sizeof buf, "element %lld: got %.9g, want %.9g",
                    static_cast<long long>(i), got.elementAsDouble(i),
                    want.elementAsDouble(i));
      where = buf;
    }
  }
  return worst;
}

/// Compiles `graph` (with `options`), runs it and the interpreter on
/// `inputs`, and expects every output within `ulps`. Returns the largest
/// ulp distance seen.
inline int64_t expectMatchesInterpreter(const Graph &graph,
                                        const std::vector<Tensor> &inputs,
                                        int64_t ulps,
                                        CompileOptions options = {}) {
  absl::StatusOr<std::vector<Tensor>> want = interpret(graph, inputs);
  EXPECT_TRUE(want.ok()) << want.status();
  absl::StatusOr<std::unique_ptr<CompiledModel>> model = compile(graph, options);
  EXPECT_TRUE(model.ok()) << model.status();
  if (!want.ok() || !model.ok())
    return std::numeric_limits<int64_t>::max();
  absl::StatusOr<std::vector<Tensor>> got = (*model)->run(inputs);
  EXPECT_TRUE(got.ok()) << got.status();
  if (!got.ok())
    return std::numeric_limits<int64_t>::max();
  EXPECT_EQ(got->size(), want->size());
  int64_t worst = 0;
  for (size_t i = 0; i < got->size() && i < want->size(); ++i) {
    std::string where;
    int64_t d = maxUlp((*got)[i], (*want)[i], where);
    EXPECT_LE(d, ulps) << "output '" << graph.outputs()[i].name << "' "
                       << (*want)[i].type().str() << ": " << where;
    worst = std::max(worst, d);
  }
  return worst;
}

/// Compiles `graph` (with `options`), runs it and the interpreter on
/// `inputs`, and expects every element of the f32 outputs within
/// rtol * |want| + atol (for sums taken in another order than the
/// reference's, whose error grows with the number of terms).
inline void expectCloseToInterpreter(const Graph &graph,
                                     const std::vector<Tensor> &inputs,
                                     double rtol, double atol,
                                     const CompileOptions &options) {
  absl::StatusOr<std::vector<Tensor>> want = interpret(graph, inputs);
  ASSERT_TRUE(want.ok()) << want.status();
  absl::StatusOr<std::unique_ptr<CompiledModel>> model = compile(graph, options);
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<std::vector<Tensor>> got = (*model)->run(inputs);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), want->size());
  for (size_t o = 0; o < want->size(); ++o) {
    const Tensor &g = (*got)[o], &w = (*want)[o];
    ASSERT_EQ(g.type(), w.type());
    ASSERT_EQ(w.dtype(), DType::F32);
    int failures = 0;
    for (int64_t i = 0; i < g.numElements(); ++i) {
      double a = g.dataAs<float>()[i], e = w.dataAs<float>()[i];
      if (!(std::fabs(a - e) <= rtol * std::fabs(e) + atol) && failures++ < 5)
        ADD_FAILURE() << graph.outputs()[o].name << " element " << i
                      << ": got " << a << ", want " << e;
    }
  }
}

/// Attributes of a conv2d_blocked / depthwise_conv2d_blocked under test;
/// "clip" clips to [-0.5, 0.75], so that both bounds cut random data.
inline Attributes blockedConvAttrs(const std::vector<int64_t> &strides,
                                   const std::vector<int64_t> &pads,
                                   const std::vector<int64_t> &dilations,
                                   const std::string &activation) {
  Attributes a{{"strides", strides},
               {"pads", pads},
               {"dilations", dilations},
               {"activation", activation}};
  if (activation == "clip") {
    a.set("clip_min", -0.5);
    a.set("clip_max", 0.75);
  }
  return a;
}

/// The parallel loops run while it lives, as runtime/ModelArena.h's task
/// observer sees them (one entry per body call of tcpu_parallel_for). The
/// observer is process-wide: one log at a time.
struct ParallelLog {
  mutable std::mutex mu;
  std::vector<ParallelTaskInfo> tasks;
  ParallelLog() {
    setParallelTaskObserver(
        [](void *user, const ParallelTaskInfo &info) {
          auto *log = static_cast<ParallelLog *>(user);
          std::lock_guard<std::mutex> lock(log->mu);
          log->tasks.push_back(info);
        },
        this);
  }
  ~ParallelLog() { setParallelTaskObserver(nullptr, nullptr); }
  ParallelLog(const ParallelLog &) = delete;
  ParallelLog &operator=(const ParallelLog &) = delete;

  /// Whether a loop of more than one index ran in several calls (split).
  bool split() const {
    std::lock_guard<std::mutex> lock(mu);
    return std::any_of(tasks.begin(), tasks.end(), [](const ParallelTaskInfo &t) {
      return t.n > 1 && t.end - t.begin < t.n;
    });
  }
  /// Whether a loop of more than one index ran.
  bool parallelLoop() const {
    std::lock_guard<std::mutex> lock(mu);
    return std::any_of(tasks.begin(), tasks.end(),
                       [](const ParallelTaskInfo &t) { return t.n > 1; });
  }
  /// The arena thread counts the loops ran with.
  std::set<int64_t> threadCounts() const {
    std::lock_guard<std::mutex> lock(mu);
    std::set<int64_t> s;
    for (const ParallelTaskInfo &t : tasks)
      s.insert(t.threads);
    return s;
  }
  /// The largest thread slot a body call ran on (-1: none ran).
  int64_t maxSlot() const {
    std::lock_guard<std::mutex> lock(mu);
    int64_t m = -1;
    for (const ParallelTaskInfo &t : tasks)
      m = std::max(m, t.slot);
    return m;
  }
};

/// A parallel loop ran, every call in an arena of `threads` on one of its
/// slots; at 1 thread every loop ran in one call, at more it was split into
/// several calls.
inline void expectThreads(const ParallelLog &log, int threads,
                          const std::string &what) {
  EXPECT_TRUE(log.parallelLoop()) << what << ": no parallel loop ran";
  EXPECT_EQ(log.threadCounts(), std::set<int64_t>{threads}) << what;
  EXPECT_LT(log.maxSlot(), threads) << what;
  EXPECT_EQ(log.split(), threads > 1) << what;
}

} // namespace tcpu::cgtest

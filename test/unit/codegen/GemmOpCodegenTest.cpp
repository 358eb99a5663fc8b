//===- GemmOpCodegenTest.cpp - Compiled `gemm` op vs the interpreter ------===//
//
// The ONNX-style gemm op (transposes, alpha, beta, C broadcast to [M, N])
// compiled onto the GEMM generator, against the reference interpreter.
// Tolerance: |got - want| <= rtol * |want| + 1e-5 * sqrt(K) * |alpha| (inputs
// in [-1, 1]): the kernel sums K f32 products in its own order, the
// reference in double; see ConvCodegenTest for the same bound's reasoning.
// rtol is 1e-5 for f32, and one ulp of the type for f16 (2^-10) and bf16
// (2^-7), whose f32 result and the reference's double one may round to
// neighbouring 16-bit values. Integers: exact.
//
//===----------------------------------------------------------------------===//
#include "CodegenTestSupport.h"

#include "ir/Builder.h"

#include <cmath>

namespace tcpu {
namespace {

using cgtest::randomTensor;

struct Case {
  int64_t M, N, K;
  bool transA, transB;
  double alpha, beta;
  Shape cShape; // empty vector and noC: no C
  bool noC;
  DType dtype = DType::F32;
};

/// Builds gemm(a, b[, c]), runs it compiled and interpreted, compares; returns
/// the ops that fell back to the interpreter.
std::vector<std::string> check(const Case &c, bool allowFallback) {
  std::mt19937_64 rng(c.M * 131 + c.N * 17 + c.K);
  GraphBuilder b("gemm");
  TensorType at(c.dtype, c.transA ? Shape{c.K, c.M} : Shape{c.M, c.K});
  TensorType bt(c.dtype, c.transB ? Shape{c.N, c.K} : Shape{c.K, c.N});
  std::vector<Tensor> inputs = {randomTensor(at, rng, -1, 1, false),
                                randomTensor(bt, rng, -1, 1, false)};
  std::vector<Value *> operands = {b.input("a", at), b.input("b", bt)};
  if (!c.noC) {
    TensorType ct(c.dtype, c.cShape);
    inputs.push_back(randomTensor(ct, rng, -1, 1, false));
    operands.push_back(b.input("c", ct));
  }
  absl::StatusOr<Value *> y =
      b.gemm(operands, {{"trans_a", int64_t{c.transA}},
                        {"trans_b", int64_t{c.transB}},
                        {"alpha", c.alpha},
                        {"beta", c.beta}});
  EXPECT_TRUE(y.ok()) << y.status();
  if (!y.ok())
    return {};
  b.output("y", *y);
  std::unique_ptr<Graph> g = b.finish().value();

  absl::StatusOr<std::vector<Tensor>> want = interpret(*g, inputs);
  CompileOptions options;
  options.allowInterpreterFallback = allowFallback;
  absl::StatusOr<std::unique_ptr<CompiledModel>> model = compile(*g, options);
  EXPECT_TRUE(want.ok() && model.ok());
  if (!want.ok() || !model.ok())
    return {};
  absl::StatusOr<std::vector<Tensor>> got = (*model)->run(inputs);
  EXPECT_TRUE(got.ok()) << got.status();
  if (!got.ok())
    return {};
  const Tensor &w = (*want)[0], &r = (*got)[0];
  double bound = 1e-5 * std::sqrt(static_cast<double>(c.K)) * std::fabs(c.alpha);
  double rtol = c.dtype == DType::F16 ? 0x1p-10 : c.dtype == DType::BF16 ? 0x1p-7 : 1e-5;
  if (!isFloat(c.dtype))
    rtol = bound = 0;
  EXPECT_EQ(r.type(), w.type());
  for (int64_t i = 0; i < w.numElements() && r.type() == w.type(); ++i) {
    double d = std::fabs(r.elementAsDouble(i) - w.elementAsDouble(i));
    EXPECT_LE(d, rtol * std::fabs(w.elementAsDouble(i)) + bound)
        << dtypeName(c.dtype) << " M=" << c.M << " N=" << c.N << " K=" << c.K
        << " element " << i;
  }
  return (*model)->fallbackOps();
}

TEST(GemmOpCodegen, TransposesAlphaAndEveryCBroadcast) {
  for (auto [M, N, K] : {std::tuple<int64_t, int64_t, int64_t>{1, 10, 256},
                         {7, 9, 33}, {64, 256, 784}, {17, 1, 5}}) {
    for (int t = 0; t < 4; ++t) {
      bool ta = t & 1, tb = t & 2;
      for (const auto &[cShape, noC] :
           {std::pair<Shape, bool>{{}, true}, {{N}, false}, {{1, N}, false},
            {{M, 1}, false}, {{M, N}, false}}) {
        Case c{M, N, K, ta, tb, 0.5, 1.0, cShape, noC};
        std::vector<std::string> fallback = check(c, /*allowFallback=*/false);
        EXPECT_TRUE(fallback.empty());
      }
    }
  }
}

TEST(GemmOpCodegen, OtherBetasScalarCAndKZero) {
  // beta != 1 (also 0, which still multiplies C's infinities into NaN in
  // the reference), a scalar or [1, 1] C, K = 0 and empty results: lowered,
  // C added by a pass after the product.
  for (const Case &c : {Case{5, 6, 7, false, true, 1.0, 0.5, {5, 6}, false},
                        Case{5, 6, 7, false, false, 2.0, 1.0, {}, false},
                        Case{5, 6, 7, true, false, 2.0, -3.0, {1, 1}, false},
                        Case{17, 33, 9, false, false, 1.0, 0.0, {33}, false},
                        Case{17, 33, 9, true, true, -1.5, 2.0, {17, 1}, false},
                        Case{4, 5, 0, false, false, -2.0, 0.5, {4, 5}, false},
                        Case{4, 5, 0, false, false, 1.0, 1.0, {}, true},
                        Case{0, 5, 3, false, false, 1.0, 1.0, {5}, false},
                        Case{1, 1, 1, false, false, 1.0, 1.0, {}, false}})
    EXPECT_TRUE(check(c, /*allowFallback=*/false).empty());
}

TEST(GemmOpCodegen, EveryDType) {
  for (DType dt : {DType::F16, DType::BF16, DType::I8, DType::U8, DType::I32, DType::I64}) {
    for (auto [M, N, K] : {std::tuple<int64_t, int64_t, int64_t>{1, 10, 33},
                           {17, 33, 16}}) {
      // Every transpose with a full C; every other C form untransposed.
      // alpha and beta small integers (integers: exact wrapping), then not
      // (integers: through double, truncated).
      std::vector<Case> cases;
      for (int t = 0; t < 4; ++t)
        cases.push_back({M, N, K, bool(t & 1), bool(t & 2), 2.0, -1.0, {M, N}, false, dt});
      for (const auto &[cShape, noC] :
           {std::pair<Shape, bool>{{}, true}, {{N}, false}, {{M, 1}, false}, {{}, false}})
        cases.push_back({M, N, K, false, false, 2.0, -1.0, cShape, noC, dt});
      cases.push_back({M, N, K, true, false, 0.5, 1.5, {N}, false, dt});
      for (const Case &c : cases)
        EXPECT_TRUE(check(c, /*allowFallback=*/false).empty());
    }
  }
}

} // namespace
} // namespace tcpu

//===- GemmOpCodegenTest.cpp - Compiled `gemm` op vs the interpreter ------===//
//
// The ONNX-style gemm op (transposes, alpha, beta, C broadcast to [M, N])
// compiled onto the GEMM generator, against the reference interpreter.
// Tolerance: |got - want| <= 1e-5 * |want| + 1e-5 * sqrt(K) * |alpha| (inputs
// in [-1, 1]): the kernel sums K f32 products in its own order, the
// reference in double; see ConvCodegenTest for the same bound's reasoning.
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
};

/// Builds gemm(a, b[, c]), runs it compiled and interpreted, compares; returns
/// the ops that fell back to the interpreter.
std::vector<std::string> check(const Case &c, bool allowFallback) {
  std::mt19937_64 rng(c.M * 131 + c.N * 17 + c.K);
  GraphBuilder b("gemm");
  TensorType at(DType::F32, c.transA ? Shape{c.K, c.M} : Shape{c.M, c.K});
  TensorType bt(DType::F32, c.transB ? Shape{c.N, c.K} : Shape{c.K, c.N});
  std::vector<Tensor> inputs = {randomTensor(at, rng, -1, 1, false),
                                randomTensor(bt, rng, -1, 1, false)};
  std::vector<Value *> operands = {b.input("a", at), b.input("b", bt)};
  if (!c.noC) {
    TensorType ct(DType::F32, c.cShape);
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
  for (int64_t i = 0; i < w.numElements(); ++i) {
    double d = std::fabs(r.elementAsDouble(i) - w.elementAsDouble(i));
    EXPECT_LE(d, 1e-5 * std::fabs(w.elementAsDouble(i)) + bound)
        << "M=" << c.M << " N=" << c.N << " K=" << c.K << " element " << i;
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

TEST(GemmOpCodegen, UnsupportedFormsFallBackAndStayCorrect) {
  // beta != 1 with C, and a scalar C, run on the interpreter.
  std::vector<std::string> f1 =
      check({5, 6, 7, false, true, 1.0, 0.5, {5, 6}, false}, true);
  ASSERT_EQ(f1.size(), 1u);
  EXPECT_EQ(f1[0].rfind("gemm", 0), 0u) << f1[0];
  std::vector<std::string> f2 =
      check({5, 6, 7, false, false, 2.0, 1.0, {}, false}, true);
  EXPECT_EQ(f2.size(), 1u);
}

} // namespace
} // namespace tcpu

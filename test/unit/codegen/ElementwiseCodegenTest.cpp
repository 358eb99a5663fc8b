//===- ElementwiseCodegenTest.cpp - Compiled elementwise ops vs the interpreter ===//
//
// Every lowered elementwise op, for every dtype its lowering handles, on
// shapes below, at and above the vector width (8 for AVX2, 16 for AVX-512),
// odd shapes and NumPy broadcasting (scalar, row, column, middle dim, rank
// 6). Inputs include 0, -0, +-inf, NaN, subnormals and large values.
// Tolerance: exact (0 ulp, identical bytes) for everything except the ops
// built on the vectorized f32 exp (exp, sigmoid, tanh, gelu tanh), allowed
// kTranscendentalUlps; the largest distance seen is printed.
//
//===----------------------------------------------------------------------===//
#include "CodegenTestSupport.h"

#include <cstdio>

namespace tcpu {
namespace {

using cgtest::expectMatchesInterpreter;
using cgtest::randomTensor;

/// Bound on the ulp error of exp, sigmoid, tanh and gelu(tanh) on f32.
constexpr int64_t kTranscendentalUlps = 4;

/// (lhs, rhs) shape pairs: equal shapes around the vector width, odd
/// shapes, then broadcasting.
const std::vector<std::pair<Shape, Shape>> &shapeCases() {
  static const std::vector<std::pair<Shape, Shape>> cases = [] {
    std::vector<std::pair<Shape, Shape>> c;
    for (int64_t n : {1, 7, 8, 9, 15, 16, 17, 31, 33, 1000, 1023})
      c.push_back({{n}, {n}});
    c.push_back({{}, {}});
    c.push_back({{3, 5, 7}, {3, 5, 7}});
    c.push_back({{}, {17}});             // scalar
    c.push_back({{1023}, {1}});          // scalar-like
    c.push_back({{5, 17}, {17}});        // row
    c.push_back({{5, 1}, {5, 19}});      // column
    c.push_back({{4, 1, 9}, {4, 3, 9}}); // middle dim
    c.push_back({{4, 3, 33}, {4, 1, 33}});
    c.push_back({{2, 1, 3, 1, 2, 5}, {1, 4, 3, 2, 1, 5}}); // rank 6
    c.push_back({{0, 3}, {1, 3}});                         // empty
    return c;
  }();
  return cases;
}

/// One graph with one `kind` op per shape case (unary ops take the lhs shape
/// and its broadcast with rhs), run compiled without fallback.
int64_t checkOp(OpKind kind, DType dtype, int64_t ulps, Attributes attrs = {},
                double lo = -4, double hi = 4, int arity = -1,
                DType operandDType = DType::F32, bool sameDType = true) {
  const OpInfo &info = opInfo(kind);
  if (arity < 0)
    arity = info.minOperands();
  GraphBuilder b(std::string(info.mnemonic));
  std::vector<Tensor> inputs;
  std::mt19937_64 rng(static_cast<uint64_t>(kind) * 131 + static_cast<int>(dtype));
  int caseIndex = 0;
  for (const auto &[s0, s1] : shapeCases()) {
    std::vector<Value *> operands;
    for (int k = 0; k < arity; ++k) {
      Shape s = arity == 1 ? (s0.size() >= s1.size() ? s0 : s1)
                           : (k % 2 == 0 ? s0 : s1);
      DType dt = sameDType ? dtype : (k == 0 ? operandDType : dtype);
      TensorType t(dt, s);
      operands.push_back(b.input("x" + std::to_string(caseIndex) + "_" +
                                     std::to_string(k),
                                 t));
      inputs.push_back(randomTensor(t, rng, lo, hi));
    }
    absl::StatusOr<Value *> v = b.create(kind, operands, attrs);
    if (!v.ok()) {
      ADD_FAILURE() << v.status();
      return 0;
    }
    b.output("case" + std::to_string(caseIndex), *v);
    ++caseIndex;
  }
  absl::StatusOr<std::unique_ptr<Graph>> g = b.finish();
  EXPECT_TRUE(g.ok()) << g.status();
  if (!g.ok())
    return 0;
  CompileOptions options;
  options.allowInterpreterFallback = false;
  int64_t worst = expectMatchesInterpreter(**g, inputs, ulps, options);
  std::printf("[ ulps     ] %s %s: %lld\n", std::string(info.mnemonic).c_str(),
              std::string(dtypeName(dtype)).c_str(), static_cast<long long>(worst));
  return worst;
}

const DType kNumeric[] = {DType::F32, DType::I8, DType::U8, DType::I32, DType::I64};

TEST(ElementwiseCodegen, UnaryFloatExact) {
  for (OpKind k : {OpKind::Log, OpKind::Sqrt, OpKind::Rsqrt, OpKind::Reciprocal,
                   OpKind::Erf, OpKind::Round})
    checkOp(k, DType::F32, 0);
  checkOp(OpKind::Log, DType::F32, 0, {}, 0, 100);
  checkOp(OpKind::Round, DType::F32, 0, {}, -6, 6);
  Attributes none;
  none.set("approximate", std::string("none"));
  checkOp(OpKind::Gelu, DType::F32, 0, none);
  for (double alpha : {0.01, 0.25, -3.0}) {
    Attributes a;
    a.set("alpha", alpha);
    checkOp(OpKind::LeakyRelu, DType::F32, 0, a);
  }
}

TEST(ElementwiseCodegen, Transcendentals) {
  for (auto [lo, hi] : {std::pair{-4.0, 4.0}, {-20.0, 20.0}, {-110.0, 95.0}}) {
    checkOp(OpKind::Exp, DType::F32, kTranscendentalUlps, {}, lo, hi);
    checkOp(OpKind::Sigmoid, DType::F32, kTranscendentalUlps, {}, lo, hi);
    checkOp(OpKind::Tanh, DType::F32, kTranscendentalUlps, {}, lo, hi);
  }
  checkOp(OpKind::Tanh, DType::F32, kTranscendentalUlps, {}, -0.7, 0.7);
  Attributes tanh;
  tanh.set("approximate", std::string("tanh"));
  checkOp(OpKind::Gelu, DType::F32, kTranscendentalUlps, tanh, -3, 3);
}

TEST(ElementwiseCodegen, ExpUlpSweep) {
  // Every 97th f32 in [-104, 89]: the largest error of the vectorized exp.
  GraphBuilder b("sweep");
  std::vector<float> xs;
  for (float x = -104.0f; x < 89.0f; x += 0.0097f)
    xs.push_back(x);
  TensorType t(DType::F32, {static_cast<int64_t>(xs.size())});
  Value *x = b.input("x", t);
  b.output("exp", b.create(OpKind::Exp, {x}).value());
  b.output("sigmoid", b.create(OpKind::Sigmoid, {x}).value());
  b.output("tanh", b.create(OpKind::Tanh, {x}).value());
  auto g = b.finish().value();
  Tensor in = Tensor::allocate(t).value();
  std::memcpy(in.mutableData(), xs.data(), xs.size() * 4);
  int64_t worst = expectMatchesInterpreter(*g, {in}, kTranscendentalUlps);
  std::printf("[ ulps     ] exp/sigmoid/tanh sweep of %zu values: %lld\n",
              xs.size(), static_cast<long long>(worst));
}

TEST(ElementwiseCodegen, UnaryNumeric) {
  for (DType dt : kNumeric) {
    if (dt != DType::U8)
      checkOp(OpKind::Neg, dt, 0);
    checkOp(OpKind::Abs, dt, 0);
    checkOp(OpKind::Relu, dt, 0);
    Attributes both, lower, upper;
    both.set("min", -1.5);
    both.set("max", 100.25);
    lower.set("min", 3.0);
    upper.set("max", -1e10);
    checkOp(OpKind::Clip, dt, 0, both);
    checkOp(OpKind::Clip, dt, 0, lower);
    checkOp(OpKind::Clip, dt, 0, upper);
  }
  Attributes f;
  f.set("min", 0.1);
  f.set("max", 0.30000000000000004);
  checkOp(OpKind::Clip, DType::F32, 0, f, 0, 0.5);
}

TEST(ElementwiseCodegen, Binary) {
  for (DType dt : kNumeric)
    for (OpKind k : {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Max, OpKind::Min})
      checkOp(k, dt, 0);
  checkOp(OpKind::Div, DType::F32, 0);
  checkOp(OpKind::Pow, DType::F32, 0);
  checkOp(OpKind::Pow, DType::F32, 0, {}, 0, 3);
}

TEST(ElementwiseCodegen, CompareAndLogic) {
  for (DType dt : {DType::F32, DType::I8, DType::U8, DType::I32, DType::I64, DType::Bool})
    for (OpKind k : {OpKind::Eq, OpKind::Lt, OpKind::Le, OpKind::Gt, OpKind::Ge})
      checkOp(k, dt, 0, {}, -2, 2);
  for (OpKind k : {OpKind::Not, OpKind::And, OpKind::Or})
    checkOp(k, DType::Bool, 0);
}

TEST(ElementwiseCodegen, Where) {
  for (DType dt : {DType::F32, DType::I8, DType::I32, DType::I64, DType::Bool,
                   DType::F16, DType::BF16})
    checkOp(OpKind::Where, dt, 0, {}, -4, 4, 3, DType::Bool, false);
}

TEST(ElementwiseCodegen, Cast) {
  const DType all[] = {DType::F32, DType::I8, DType::U8, DType::I32, DType::I64, DType::Bool};
  for (DType from : all)
    for (DType to : all) {
      Attributes a;
      a.set("to", to);
      // Floats wide enough to saturate every integer type.
      checkOp(OpKind::Cast, to, 0, a, -3e9, 3e9, 1, from, false);
      checkOp(OpKind::Cast, to, 0, a, -300, 300, 1, from, false);
    }
}

TEST(ElementwiseCodegen, DataMovement) {
  std::mt19937_64 rng(7);
  GraphBuilder b("moves");
  TensorType t(DType::F32, {3, 1, 5});
  Value *x = b.input("x", t);
  Attributes shape, axes, squeezeAxes, expandShape;
  shape.set("shape", std::vector<int64_t>{5, 3});
  axes.set("axes", std::vector<int64_t>{0});
  expandShape.set("shape", std::vector<int64_t>{2, 3, 4, 5});
  b.output("reshape", b.create(OpKind::Reshape, {x}, shape).value());
  b.output("squeeze", b.create(OpKind::Squeeze, {x}).value());
  b.output("unsqueeze", b.create(OpKind::Unsqueeze, {x}, axes).value());
  b.output("flatten", b.create(OpKind::Flatten, {x}).value());
  b.output("expand", b.create(OpKind::Expand, {x}, expandShape).value());
  auto g = b.finish().value();
  CompileOptions options;
  options.allowInterpreterFallback = false;
  expectMatchesInterpreter(*g, {randomTensor(t, rng)}, 0, options);
}

TEST(ElementwiseCodegen, FallsBackWhereNotLowered) {
  // Integer division can fail (division by zero), which a kernel cannot
  // report: it runs on the interpreter, and an error there is the run's.
  GraphBuilder b("idiv");
  TensorType t(DType::I32, {9});
  Value *x = b.input("x", t), *y = b.input("y", t);
  b.output("q", b.create(OpKind::Div, {x, y}).value());
  auto g = b.finish().value();
  auto model = compile(*g, {}).value();
  ASSERT_EQ(model->fallbackOps().size(), 1u);
  EXPECT_EQ(model->fallbackOps()[0].rfind("div ", 0), 0u) << model->fallbackOps()[0];
  Tensor a = Tensor::allocate(t).value(), z = Tensor::allocate(t).value();
  for (int i = 0; i < 9; ++i) {
    a.setElementFromInt(i, 100 - i);
    z.setElementFromInt(i, i + 1);
  }
  auto r = model->run({a, z});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].elementAsInt(3), 97 / 4);
  z.setElementFromInt(4, 0);
  auto bad = model->run({a, z});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("division by zero"),
            std::string::npos);
}

} // namespace
} // namespace tcpu

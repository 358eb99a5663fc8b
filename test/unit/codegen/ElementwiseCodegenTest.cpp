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
#include "codegen/TestingHooks.h"

#include <cstdio>
#include <functional>

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

/// Rewrites the random values of operand k (say, to keep divisors nonzero).
using AdjustFn = std::function<void(int k, Tensor &)>;

/// One graph with one `kind` op per shape case (unary ops take the lhs shape
/// and its broadcast with rhs), run compiled without fallback.
int64_t checkOp(OpKind kind, DType dtype, int64_t ulps, Attributes attrs = {},
                double lo = -4, double hi = 4, int arity = -1,
                DType operandDType = DType::F32, bool sameDType = true,
                const AdjustFn &adjust = nullptr) {
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
      if (adjust)
        adjust(k, inputs.back());
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
  // Every op has a lowering now; the test hook sends div to the
  // interpreter, whose error (division by zero) is then the run's.
  testing::ForceInterpreterFallback force(OpKind::Div);
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
  CompileOptions strict;
  strict.allowInterpreterFallback = false;
  EXPECT_FALSE(compile(*g, strict).ok());
}

// ----- f16 and bf16 ----------------------------------------------------------
// Tolerance: 0 ulp of the 16-bit type for every op. The kernels compute the
// reference's double formula (with the same libm calls) and round it to odd
// at f32, then to nearest even at 16 bits -- the reference's own rounding
// (ops::storeDouble) -- so they agree bit for bit, NaN payloads aside.

const DType kHalves[] = {DType::F16, DType::BF16};
bool lowp16(DType t) { return t == DType::F16 || t == DType::BF16; }

TEST(ElementwiseCodegen, HalfFloatUnary) {
  for (DType dt : kHalves) {
    for (OpKind k : {OpKind::Exp, OpKind::Log, OpKind::Sqrt, OpKind::Rsqrt,
                     OpKind::Reciprocal, OpKind::Tanh, OpKind::Sigmoid, OpKind::Erf,
                     OpKind::Round, OpKind::Neg, OpKind::Abs, OpKind::Relu})
      checkOp(k, dt, 0);
    checkOp(OpKind::Exp, dt, 0, {}, -20, 12);
    checkOp(OpKind::Log, dt, 0, {}, 0, 100);
    checkOp(OpKind::Round, dt, 0, {}, -6, 6);
    for (const char *approximate : {"none", "tanh"}) {
      Attributes a;
      a.set("approximate", std::string(approximate));
      checkOp(OpKind::Gelu, dt, 0, a);
    }
    for (double alpha : {0.01, 0.25, -3.0}) {
      Attributes a;
      a.set("alpha", alpha);
      checkOp(OpKind::LeakyRelu, dt, 0, a);
    }
    Attributes both, lower;
    both.set("min", -1.5);
    both.set("max", 0.30000000000000004);
    lower.set("min", 1.0009765625 + 0x1p-11); // an f16 tie: rounds to even
    checkOp(OpKind::Clip, dt, 0, both);
    checkOp(OpKind::Clip, dt, 0, lower);
  }
}

TEST(ElementwiseCodegen, HalfFloatBinaryAndCompare) {
  for (DType dt : kHalves) {
    for (OpKind k : {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Div, OpKind::Pow,
                     OpKind::Max, OpKind::Min})
      checkOp(k, dt, 0);
    checkOp(OpKind::Pow, dt, 0, {}, 0, 3);
    for (OpKind k : {OpKind::Eq, OpKind::Lt, OpKind::Le, OpKind::Gt, OpKind::Ge})
      checkOp(k, dt, 0, {}, -2, 2);
  }
  // bf16 products and quotients down to f32's subnormal range.
  for (OpKind k : {OpKind::Mul, OpKind::Div})
    checkOp(k, DType::BF16, 0, {}, -3e-20, 3e-20);
  checkOp(OpKind::Mul, DType::F16, 0, {}, -3e-3, 3e-3); // f16 subnormals
}

TEST(ElementwiseCodegen, CastToAndFromHalves) {
  // (Pairs without f16/bf16: the Cast test.) The i32/i64 values (+-2^31,
  // +-2^40) have more bits than f32 holds, so bf16 is rounded once from the
  // exact integer (through round to odd), never twice.
  for (DType from : kAllDTypes)
    for (DType to : kAllDTypes) {
      if (!lowp16(from) && !lowp16(to))
        continue;
      Attributes a;
      a.set("to", to);
      checkOp(OpKind::Cast, to, 0, a, -3e9, 3e9, 1, from, false);
      checkOp(OpKind::Cast, to, 0, a, -300, 300, 1, from, false);
      checkOp(OpKind::Cast, to, 0, a, -1e-6, 1e-6, 1, from, false);
    }
}

TEST(ElementwiseCodegen, CastRoundsIntegersOnceToBF16) {
  // 2^30 + 2^22 + 1 lies just above a bf16 tie: nearest f32 is the tie
  // itself (2^30 + 2^22), which would then round to even (down); rounded
  // once, it goes up. Likewise below ties and at larger magnitudes.
  std::vector<int64_t> values;
  for (int64_t sign : {1, -1})
    for (int64_t delta : {-1, 0, 1})
      for (int shift : {30, 40, 55})
        values.push_back(sign * ((int64_t{1} << shift) + (int64_t{1} << (shift - 8)) + delta));
  values.insert(values.end(), {INT64_MAX, INT64_MIN, INT32_MAX, INT32_MIN});
  for (DType from : {DType::I64, DType::I32}) {
    for (DType to : kHalves) {
      GraphBuilder b("ties");
      TensorType t(from, {static_cast<int64_t>(values.size())});
      Value *x = b.input("x", t);
      Attributes a;
      a.set("to", to);
      b.output("y", b.create(OpKind::Cast, {x}, a).value());
      auto g = b.finish().value();
      Tensor in = Tensor::allocate(t).value();
      for (size_t i = 0; i < values.size(); ++i)
        in.setElementFromInt(i, values[i]); // i32 saturates
      CompileOptions options;
      options.allowInterpreterFallback = false;
      EXPECT_EQ(expectMatchesInterpreter(*g, {in}, 0, options), 0);
    }
  }
}

TEST(ElementwiseCodegen, HalvesAndIntegerDivOnEightLanes) {
  // AVX2's width (8 lanes) with 37 elements: four vectors and a tail.
  std::mt19937_64 rng(8);
  GraphBuilder b("lanes8");
  std::vector<Tensor> inputs;
  int n = 0;
  auto in = [&](DType dt) {
    TensorType t(dt, {37});
    inputs.push_back(randomTensor(t, rng));
    if (dt == DType::I32)
      for (int64_t i = 0; i < 37; ++i)
        if (inputs.back().elementAsInt(i) == 0)
          inputs.back().setElementFromInt(i, 3);
    return b.input("x" + std::to_string(n++), t);
  };
  for (DType dt : kHalves) {
    b.output("add" + std::to_string(n), b.create(OpKind::Add, {in(dt), in(dt)}).value());
    b.output("exp" + std::to_string(n), b.create(OpKind::Exp, {in(dt)}).value());
    Attributes to;
    to.set("to", dt);
    b.output("cast" + std::to_string(n), b.create(OpKind::Cast, {in(DType::I64)}, to).value());
  }
  b.output("div", b.create(OpKind::Div, {in(DType::I32), in(DType::I32)}).value());
  auto g = b.finish().value();
  CompileOptions options;
  options.allowInterpreterFallback = false;
  options.cpu = "haswell";
  expectMatchesInterpreter(*g, inputs, 0, options);
}

// ----- Integer div and pow ---------------------------------------------------

const DType kIntegers[] = {DType::I8, DType::U8, DType::I32, DType::I64};

/// The smallest value of an integer dtype.
int64_t lowest(DType dt) {
  return dt == DType::I8 ? INT8_MIN : dt == DType::I32 ? INT32_MIN
                         : dt == DType::I64 ? INT64_MIN : 0;
}

TEST(ElementwiseCodegen, IntegerDiv) {
  for (DType dt : kIntegers) {
    // Divisors: random, with zeros replaced by 1 and every 7th element -1
    // (signed) under a dividend of the dtype's lowest value every 5th.
    checkOp(OpKind::Div, dt, 0, {}, -4, 4, -1, DType::F32, true, [dt](int k, Tensor &t) {
      for (int64_t i = 0; i < t.numElements(); ++i) {
        if (k == 1 && t.elementAsInt(i) == 0)
          t.setElementFromInt(i, 1);
        if (k == 1 && isSignedInteger(dt) && i % 7 == 0)
          t.setElementFromInt(i, -1);
        if (k == 0 && i % 5 == 0)
          t.setElementFromInt(i, lowest(dt));
      }
    });
    // Small divisors, so that quotients are not mostly 0 and +-1.
    checkOp(OpKind::Div, dt, 0, {}, -4, 4, -1, DType::F32, true, [](int k, Tensor &t) {
      if (k == 1)
        for (int64_t i = 0; i < t.numElements(); ++i)
          t.setElementFromInt(i, t.elementAsInt(i) % 13 == 0 ? 3 : t.elementAsInt(i) % 13);
    });
  }
}

TEST(ElementwiseCodegen, IntegerPow) {
  // Zero to a negative power is an error (IntegerErrorsNameTheOp), so the
  // cases keep negative exponents away from zero bases.
  for (DType dt : kIntegers) {
    bool s = isSignedInteger(dt);
    auto mod = [](Tensor &t, int64_t i, uint64_t m) {
      return static_cast<int64_t>(static_cast<uint64_t>(t.elementAsInt(i)) % m);
    };
    // Bases -3..3 without 0, exponents -3 (signed) to 40: exact values,
    // wrapping, and the negative-exponent rules.
    checkOp(OpKind::Pow, dt, 0, {}, -4, 4, -1, DType::F32, true, [&](int k, Tensor &t) {
      for (int64_t i = 0; i < t.numElements(); ++i) {
        int64_t v = k == 0 ? mod(t, i, 7) - (s ? 3 : 0) : mod(t, i, 44) - (s ? 3 : 0);
        t.setElementFromInt(i, k == 0 && v == 0 ? 2 : v);
      }
    });
    // Bases 0..3, exponents 0..10 (0^0 = 1).
    checkOp(OpKind::Pow, dt, 0, {}, -4, 4, -1, DType::F32, true, [&](int k, Tensor &t) {
      for (int64_t i = 0; i < t.numElements(); ++i)
        t.setElementFromInt(i, mod(t, i, k == 0 ? 4 : 11));
    });
    // Any nonzero base and any exponent (random over the dtype, i64 over
    // +-2^40).
    checkOp(OpKind::Pow, dt, 0, {}, -4, 4, -1, DType::F32, true, [](int k, Tensor &t) {
      for (int64_t i = 0; i < t.numElements(); ++i)
        if (k == 0 && t.elementAsInt(i) == 0)
          t.setElementFromInt(i, 5);
    });
  }
}

/// Compiles lhs `op` rhs (one i-dtype vector each, n elements), runs it with
/// the given values and returns the run's status.
absl::Status runBinary(OpKind kind, DType dt, const std::vector<int64_t> &lhs,
                       const std::vector<int64_t> &rhs, std::vector<int64_t> *out = nullptr) {
  GraphBuilder b("ints");
  TensorType t(dt, {static_cast<int64_t>(lhs.size())});
  Value *x = b.input("x", t), *y = b.input("y", t);
  Value *result = b.create(kind, {x, y}).value();
  result->name = "r"; // errors name the op by its result
  b.output("r", result);
  auto g = b.finish().value();
  CompileOptions options;
  options.allowInterpreterFallback = false;
  auto model = compile(*g, options);
  if (!model.ok())
    return model.status();
  Tensor a = Tensor::allocate(t).value(), c = Tensor::allocate(t).value();
  for (size_t i = 0; i < lhs.size(); ++i) {
    a.setElementFromInt(i, lhs[i]);
    c.setElementFromInt(i, rhs[i]);
  }
  auto r = (*model)->run({a, c});
  if (r.ok() && out)
    for (int64_t i = 0; i < (*r)[0].numElements(); ++i)
      out->push_back((*r)[0].elementAsInt(i));
  return r.status();
}

TEST(ElementwiseCodegen, IntegerErrorsNameTheOp) {
  // 37 elements: 2 vectors of 16 (or 4 of 8) and a scalar tail; the bad
  // element in a vector lane, then in the tail.
  for (DType dt : kIntegers) {
    for (int64_t bad : {5, 36}) {
      std::vector<int64_t> x(37, 9), y(37, 2);
      y[bad] = 0;
      absl::Status s = runBinary(OpKind::Div, dt, x, y);
      ASSERT_FALSE(s.ok()) << dtypeName(dt);
      EXPECT_EQ(std::string(s.message()), "div %r: integer division by zero");
      if (!isSignedInteger(dt))
        continue;
      std::vector<int64_t> e(37, 3);
      x[bad] = 0;
      e[bad] = -2;
      s = runBinary(OpKind::Pow, dt, x, e);
      ASSERT_FALSE(s.ok()) << dtypeName(dt);
      EXPECT_EQ(std::string(s.message()),
                "pow %r: integer pow: zero raised to a negative power");
    }
    // INT_MIN / -1 wraps to INT_MIN, as the reference (idiv would trap).
    if (isSignedInteger(dt)) {
      std::vector<int64_t> out;
      ASSERT_TRUE(runBinary(OpKind::Div, dt, {lowest(dt), 7, -7}, {-1, -2, 2}, &out).ok());
      EXPECT_EQ(out, (std::vector<int64_t>{lowest(dt), -3, -3}));
    }
  }
}

} // namespace
} // namespace tcpu

//===- ElementwiseOpsTest.cpp - Type inference and reference semantics -----===//
//
// Expected values are computed independently: by hand (noted inline) or with
// NumPy/PyTorch in float64 and then rounded to the result dtype, pasted with
// 9 significant digits (the commands are in the comments).
//
//===----------------------------------------------------------------------===//
#include "ir/Builder.h"
#include "ir/Interpreter.h"
#include "ir/Verifier.h"

#include "OpTestSupport.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>

using namespace tcpu;
using namespace tcpu::optest;

namespace {

// ----- constant --------------------------------------------------------------

TEST(Constant, EvaluatesToItsValue) {
  GraphBuilder b("c");
  Tensor value = make(DType::F32, {2}, {1.5, -2});
  b.output("y", b.constant(value));
  std::unique_ptr<Graph> g = b.finish().value();
  std::vector<Tensor> r = interpret(*g, {}).value();
  expectType(r[0], DType::F32, {2});
  expectValues(r[0], {1.5, -2});
}

TEST(Constant, CannotBeInferredFromOperands) {
  EXPECT_EQ(inferError(OpKind::Constant, {}),
            "'constant' has no operands to infer a type from; its type is the "
            "type of its value (use GraphBuilder::constant(Tensor))");
}

// ----- direct evaluation ---------------------------------------------------

TEST(DirectEval, InconsistentOperandsAreAnErrorNotACrash) {
  // An eval called without verification (e.g. by a pass) re-checks types.
  Tensor a = make(DType::F32, {2}, {1, 2});
  Tensor b = make(DType::F32, {3}, {1, 2, 3});
  Attributes attrs;
  std::vector<TensorType> resultTypes = {TensorType(DType::F32, {2})};
  for (OpKind k : {OpKind::Add, OpKind::Exp, OpKind::Cast}) {
    SCOPED_TRACE(std::string(opInfo(k).mnemonic));
    Attributes at = attrs;
    if (k == OpKind::Cast)
      at.set("to", DType::I8); // result f32[2] was not what cast to i8 gives
    std::vector<const Tensor *> operands = {&a, &b};
    if (k != OpKind::Add)
      operands = {&b};
    EvalContext ctx{opInfo(k), operands, at, resultTypes};
    EXPECT_FALSE(opInfo(k).eval(ctx).ok());
  }
  // The consistent call works.
  EvalContext ok{opInfo(OpKind::Add), {&a, &a}, attrs, resultTypes};
  absl::StatusOr<std::vector<Tensor>> r = opInfo(OpKind::Add).eval(ok);
  ASSERT_TRUE(r.ok()) << r.status();
  expectValues((*r)[0], {2, 4});
}

// ----- unary float -----------------------------------------------------------

// x = [-2, -0.5, 0, 0.5, 3]; np.float32(np.f(x)) printed with %.9g.
const std::vector<double> kUnaryX = {-2, -0.5, 0, 0.5, 3};

TEST(UnaryFloat, ValuesF32) {
  struct Case {
    OpKind kind;
    std::vector<double> x, want;
  } cases[] = {
      {OpKind::Exp, kUnaryX, {0.135335281, 0.606530666, 1, 1.64872122, 20.085537}},
      {OpKind::Tanh, kUnaryX, {-0.964027584, -0.462117165, 0, 0.462117165, 0.995054781}},
      // 1 / (1 + np.exp(-x))
      {OpKind::Sigmoid, kUnaryX, {0.119202919, 0.377540678, 0.5, 0.622459352, 0.952574134}},
      // math.erf
      {OpKind::Erf, kUnaryX, {-0.995322287, -0.520499885, 0, 0.520499885, 0.999977887}},
      {OpKind::Log, {0.25, 1, 2, 10}, {-1.38629436, 0, 0.693147182, 2.30258512}},
      {OpKind::Sqrt, {0.25, 1, 2, 10}, {0.5, 1, 1.41421354, 3.1622777}},
      {OpKind::Rsqrt, {0.25, 1, 2, 10}, {2, 1, 0.707106769, 0.316227764}},
      {OpKind::Reciprocal, {0.25, 1, 2, 10}, {4, 1, 0.5, 0.100000001}},
      // torch.nn.functional.leaky_relu(float64 x) (alpha 0.01)
      {OpKind::LeakyRelu, kUnaryX, {-0.0199999996, -0.00499999989, 0, 0.5, 3}},
      // torch.nn.functional.gelu(float64 x)
      {OpKind::Gelu, kUnaryX, {-0.0455002636, -0.154268771, 0, 0.345731229, 2.99595022}},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(std::string(opInfo(c.kind).mnemonic));
    Shape shape = {static_cast<int64_t>(c.x.size())};
    Tensor y = runOk(c.kind, {make(DType::F32, shape, c.x)});
    expectType(y, DType::F32, shape);
    expectValues(y, c.want, 2e-7);
  }
}

TEST(UnaryFloat, SpecialValues) {
  // IEEE semantics, by hand.
  std::vector<double> x = {-kInf, -1, -0.0, 0, kInf, kNaN};
  struct Case {
    OpKind kind;
    std::vector<double> want;
  } cases[] = {
      {OpKind::Exp, {0, 0.36787945, 1, 1, kInf, kNaN}},
      {OpKind::Log, {kNaN, kNaN, -kInf, -kInf, kInf, kNaN}},
      {OpKind::Sqrt, {kNaN, kNaN, -0.0, 0, kInf, kNaN}},
      {OpKind::Rsqrt, {kNaN, kNaN, -kInf, kInf, 0, kNaN}},
      {OpKind::Reciprocal, {-0.0, -1, -kInf, kInf, 0, kNaN}},
      {OpKind::Tanh, {-1, -0.761594176, -0.0, 0, 1, kNaN}},
      {OpKind::Sigmoid, {0, 0.268941432, 0.5, 0.5, 1, kNaN}},
      {OpKind::Erf, {-1, -0.842700779, -0.0, 0, 1, kNaN}},
      // -inf * (1 + erf(-inf)) = -inf * 0 = NaN, as torch.nn.functional.gelu.
      {OpKind::Gelu, {kNaN, -0.158655256, -0.0, 0, kInf, kNaN}},
      {OpKind::LeakyRelu, {-kInf, -0.00999999978, -0.0, 0, kInf, kNaN}},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(std::string(opInfo(c.kind).mnemonic));
    Tensor y = runOk(c.kind, {make(DType::F32, {6}, x)});
    expectValues(y, c.want, 2e-7);
    if (c.want[2] == 0) { // the sign of zero is part of the result
      EXPECT_EQ(std::signbit(y.elementAsDouble(2)), std::signbit(c.want[2]));
    }
  }
  // Sigmoid does not overflow to NaN for large |x|.
  expectValues(runOk(OpKind::Sigmoid, {make(DType::F32, {2}, {-1000, 1000})}),
               {0, 1});
}

TEST(UnaryFloat, HalfAndBFloat16RoundOnce) {
  // np.float16(np.exp([1, -1, 0.5])); bf16: torch float64 -> bfloat16.
  Tensor h = runOk(OpKind::Exp, {make(DType::F16, {3}, {1, -1, 0.5})});
  expectType(h, DType::F16, {3});
  expectValues(h, {2.71875, 0.367919921875, 1.6484375});
  Tensor bf = runOk(OpKind::Exp, {make(DType::BF16, {3}, {1, -1, 0.5})});
  expectType(bf, DType::BF16, {3});
  expectValues(bf, {2.71875, 0.3671875, 1.6484375});
}

TEST(UnaryFloat, GeluTanhAndAlpha) {
  // torch.nn.functional.gelu(float64 x, approximate='tanh')
  expectValues(runOk(OpKind::Gelu, {make(DType::F32, {5}, kUnaryX)},
                     {{"approximate", std::string("tanh")}}),
               {-0.0454023071, -0.154285997, 0, 0.345714003, 2.99636269}, 2e-7);
  // torch.nn.functional.leaky_relu(float64 x, 0.2)
  expectValues(runOk(OpKind::LeakyRelu, {make(DType::F32, {5}, kUnaryX)},
                     {{"alpha", 0.2}}),
               {-0.400000006, -0.100000001, 0, 0.5, 3}, 2e-7);
}

TEST(UnaryFloat, Errors) {
  EXPECT_EQ(inferError(OpKind::Exp, {TensorType(DType::I32, {2})}),
            "operand 'x' of 'exp' must have a float type, got i32[2]");
  EXPECT_EQ(inferError(OpKind::Sigmoid, {TensorType(DType::Bool, {})}),
            "operand 'x' of 'sigmoid' must have a float type, got bool[]");
  EXPECT_EQ(inferError(OpKind::Gelu, {TensorType(DType::F32, {2})},
                       {{"approximate", std::string("fast")}}),
            "approximate of 'gelu' must be \"none\" or \"tanh\", got \"fast\"");
  EXPECT_EQ(inferError(OpKind::Tanh, {TensorType(DType::F32, {1, 16}, "nc8c")}),
            "operand 'x' of 'tanh' must have the plain layout, got "
            "f32[1,16]<nc8c>");
  EXPECT_EQ(inferError(OpKind::Exp, {TensorType(DType::BF16, {0, 3})}), "");
}

// ----- unary numeric ---------------------------------------------------------

TEST(UnaryNumeric, Neg) {
  Tensor f = runOk(OpKind::Neg, {make(DType::F32, {4}, {1.5, 0, -kInf, kNaN})});
  expectValues(f, {-1.5, -0.0, kInf, kNaN});
  EXPECT_TRUE(std::signbit(f.elementAsDouble(1)));
  // Wrapping: -(-128) is -128 in i8, -(INT64_MIN) is INT64_MIN.
  Tensor i8 = runOk(OpKind::Neg, {makeInt(DType::I8, {3}, {-128, 127, 0})});
  expectType(i8, DType::I8, {3});
  expectInts(i8, {-128, -127, 0});
  expectInts(runOk(OpKind::Neg, {makeInt(DType::I32, {2}, {5, -2147483648})}),
             {-5, -2147483648});
  expectInts(runOk(OpKind::Neg, {makeInt(DType::I64, {2}, {kI64Min, kI64Max})}),
             {kI64Min, -kI64Max});
  expectValues(runOk(OpKind::Neg, {make(DType::BF16, {1}, {2.5})}), {-2.5});
  EXPECT_EQ(inferError(OpKind::Neg, {TensorType(DType::U8, {2})}),
            "operand 'x' of 'neg' must have a float or signed integer type, got "
            "u8[2]");
  EXPECT_EQ(inferError(OpKind::Neg, {TensorType(DType::Bool, {2})}),
            "operand 'x' of 'neg' must have a float or signed integer type, got "
            "bool[2]");
}

TEST(UnaryNumeric, Abs) {
  Tensor f = runOk(OpKind::Abs, {make(DType::F32, {4}, {-1.5, -0.0, -kInf, kNaN})});
  expectValues(f, {1.5, 0, kInf, kNaN});
  EXPECT_FALSE(std::signbit(f.elementAsDouble(1)));
  // np.abs(np.int8(-128)) == -128 (wraps).
  expectInts(runOk(OpKind::Abs, {makeInt(DType::I8, {3}, {-128, -5, 7})}),
             {-128, 5, 7});
  expectInts(runOk(OpKind::Abs, {makeInt(DType::U8, {2}, {200, 0})}), {200, 0});
  expectInts(runOk(OpKind::Abs, {makeInt(DType::I64, {2}, {kI64Min, -kI64Max})}),
             {kI64Min, kI64Max});
  EXPECT_EQ(inferError(OpKind::Abs, {TensorType(DType::Bool, {2})}),
            "operand 'x' of 'abs' must have a numeric type, got bool[2]");
}

TEST(UnaryNumeric, Relu) {
  // relu = max(x, 0): NaN propagates, -0 stays -0 (as torch.relu).
  Tensor f = runOk(OpKind::Relu,
                   {make(DType::F32, {5}, {-2, -0.0, 3, kNaN, -kInf})});
  expectValues(f, {0, 0, 3, kNaN, 0});
  EXPECT_TRUE(std::signbit(f.elementAsDouble(1)));
  expectInts(runOk(OpKind::Relu, {makeInt(DType::I32, {3}, {-7, 0, 9})}),
             {0, 0, 9});
  expectInts(runOk(OpKind::Relu, {makeInt(DType::U8, {2}, {0, 255})}), {0, 255});
  expectValues(runOk(OpKind::Relu, {make(DType::F16, {2}, {-1, 0.5})}), {0, 0.5});
}

TEST(UnaryNumeric, Clip) {
  Tensor x = make(DType::F32, {5}, {-3, -1, 0.5, 2, kNaN});
  expectValues(runOk(OpKind::Clip, {x}, {{"min", -1.5}, {"max", 1.0}}),
               {-1.5, -1, 0.5, 1, kNaN});
  expectValues(runOk(OpKind::Clip, {x}, {{"min", 0.0}}), {0, 0, 0.5, 2, kNaN});
  expectValues(runOk(OpKind::Clip, {x}, {{"max", 0.0}}), {-3, -1, 0, 0, kNaN});
  expectValues(runOk(OpKind::Clip, {x}), {-3, -1, 0.5, 2, kNaN});
  // min > max: everything becomes max (np.clip / torch.clamp).
  expectValues(runOk(OpKind::Clip, {x}, {{"min", 2.0}, {"max", 1.0}}),
               {1, 1, 1, 1, kNaN});
  expectValues(runOk(OpKind::Clip, {make(DType::F32, {2}, {-kInf, kInf})},
                     {{"min", -1.0}, {"max", 1.0}}),
               {-1, 1});
  // Integers: bounds become the nearest integers inside [min, max].
  expectInts(runOk(OpKind::Clip, {makeInt(DType::I32, {4}, {-5, -1, 2, 5})},
                   {{"min", -1.5}, {"max", 2.5}}),
             {-1, -1, 2, 2});
  // Bounds beyond the dtype saturate, they do not wrap.
  expectInts(runOk(OpKind::Clip, {makeInt(DType::I8, {2}, {-128, 5})},
                   {{"min", 1000.0}}),
             {127, 127});
  expectInts(runOk(OpKind::Clip, {makeInt(DType::U8, {2}, {0, 255})},
                   {{"min", -1e30}, {"max", 1e30}}),
             {0, 255});
  EXPECT_EQ(inferError(OpKind::Clip, {TensorType(DType::F32, {2})},
                       {{"min", kNaN}}),
            "min of 'clip' is NaN");
  EXPECT_EQ(inferError(OpKind::Clip, {TensorType(DType::Bool, {2})}),
            "operand 'x' of 'clip' must have a numeric type, got bool[2]");
}

// ----- binary arithmetic -----------------------------------------------------

TEST(Binary, BroadcastingF32) {
  Tensor a = make(DType::F32, {2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = make(DType::F32, {3}, {10, 20, 30});
  Tensor y = runOk(OpKind::Add, {a, b});
  expectType(y, DType::F32, {2, 3});
  expectValues(y, {11, 22, 33, 14, 25, 36});
  // Both sides broadcast: [2,1] - [1,3] -> [2,3].
  Tensor col = make(DType::F32, {2, 1}, {1, 2});
  Tensor row = make(DType::F32, {1, 3}, {10, 20, 30});
  Tensor d = runOk(OpKind::Sub, {col, row});
  expectType(d, DType::F32, {2, 3});
  expectValues(d, {-9, -19, -29, -8, -18, -28});
  // Rank 0 with rank 2.
  Tensor s = make(DType::F32, {}, {2});
  Tensor m = runOk(OpKind::Mul, {s, a});
  expectType(m, DType::F32, {2, 3});
  expectValues(m, {2, 4, 6, 8, 10, 12});
  Tensor q = runOk(OpKind::Div, {a, s});
  expectValues(q, {0.5, 1, 1.5, 2, 2.5, 3});
  Tensor ss = runOk(OpKind::Add, {s, s});
  expectType(ss, DType::F32, {});
  expectValues(ss, {4});
}

TEST(Binary, ZeroSizedDims) {
  Tensor e = runOk(OpKind::Add, {make(DType::F32, {0, 3}, {}),
                                 make(DType::F32, {1, 3}, {1, 2, 3})});
  expectType(e, DType::F32, {0, 3});
  // [2,1] with [1,0]: 1 broadcasts to 0.
  Tensor e2 = runOk(OpKind::Mul, {make(DType::I32, {2, 1}, {1, 2}),
                                  make(DType::I32, {1, 0}, {})});
  expectType(e2, DType::I32, {2, 0});
  EXPECT_EQ(inferError(OpKind::Add, {TensorType(DType::F32, {0}),
                                     TensorType(DType::F32, {2})}),
            "operands of 'add' are not broadcast-compatible: f32[0] and f32[2]");
}

TEST(Binary, FloatSpecialValues) {
  Tensor a = make(DType::F32, {4}, {1, -1, 0, kInf});
  Tensor z = make(DType::F32, {4}, {0, 0, 0, kInf});
  expectValues(runOk(OpKind::Div, {a, z}), {kInf, -kInf, kNaN, kNaN});
  expectValues(runOk(OpKind::Sub, {a, z}), {1, -1, 0, kNaN});
  expectValues(runOk(OpKind::Add, {make(DType::F32, {1}, {kNaN}),
                                   make(DType::F32, {1}, {1})}),
               {kNaN});
  // np.power([2, -8, 0, 4], [0.5, 1/3, -1, -0.5]) as float32
  expectValues(runOk(OpKind::Pow, {make(DType::F32, {4}, {2, -8, 0, 4}),
                                   make(DType::F32, {4}, {0.5, 1.0 / 3, -1, -0.5})}),
               {1.41421354, kNaN, kInf, 0.5}, 2e-7);
  // pow(NaN, 0) = 1 and pow(1, NaN) = 1 (C, NumPy).
  expectValues(runOk(OpKind::Pow, {make(DType::F32, {2}, {kNaN, 1}),
                                   make(DType::F32, {2}, {0, kNaN})}),
               {1, 1});
}

TEST(Binary, HalfPrecisionRoundsOnce) {
  // f16: 2048 + 1.0009765625 = 2049.0009765625, just above the tie at 2049
  // between 2048 and 2050: rounds up (np.float16 of the exact sum).
  Tensor h = runOk(OpKind::Add, {make(DType::F16, {1}, {2048}),
                                 make(DType::F16, {1}, {1.0009765625})});
  expectType(h, DType::F16, {1});
  expectValues(h, {2050});
  // bf16 (8 significant bits, spacing 4 in [512, 1024)): 14 * 37 = 518 is
  // the tie between 516 and 520 -> 520 (even); 5 * 103 = 515 -> 516.
  expectValues(runOk(OpKind::Mul, {make(DType::BF16, {2}, {14, 5}),
                                   make(DType::BF16, {2}, {37, 103})}),
               {520, 516});
}

TEST(Binary, IntegerWraps) {
  // Two's-complement wrapping (np.int8(100) + np.int8(100) == -56, etc.).
  expectInts(runOk(OpKind::Add, {makeInt(DType::I8, {2}, {100, -100}),
                                 makeInt(DType::I8, {2}, {100, -100})}),
             {-56, 56});
  expectInts(runOk(OpKind::Add, {makeInt(DType::U8, {1}, {200}),
                                 makeInt(DType::U8, {1}, {100})}),
             {44});
  expectInts(runOk(OpKind::Sub, {makeInt(DType::U8, {1}, {1}),
                                 makeInt(DType::U8, {1}, {2})}),
             {255});
  expectInts(runOk(OpKind::Add, {makeInt(DType::I32, {1}, {2147483647}),
                                 makeInt(DType::I32, {1}, {1})}),
             {-2147483648LL});
  expectInts(runOk(OpKind::Add, {makeInt(DType::I64, {2}, {kI64Max, kI64Min}),
                                 makeInt(DType::I64, {2}, {1, -1})}),
             {kI64Min, kI64Max});
  expectInts(runOk(OpKind::Mul, {makeInt(DType::I64, {2}, {int64_t{1} << 62, 3}),
                                 makeInt(DType::I64, {2}, {4, -5})}),
             {0, -15});
  expectInts(runOk(OpKind::Mul, {makeInt(DType::I8, {1}, {16}),
                                 makeInt(DType::I8, {1}, {16})}),
             {0});
}

TEST(Binary, IntegerDiv) {
  // Truncation toward zero (C semantics, not NumPy's floor).
  expectInts(runOk(OpKind::Div, {makeInt(DType::I32, {4}, {7, -7, 7, -7}),
                                 makeInt(DType::I32, {4}, {2, 2, -2, -2})}),
             {3, -3, -3, 3});
  // INT_MIN / -1 wraps to INT_MIN.
  expectInts(runOk(OpKind::Div, {makeInt(DType::I64, {1}, {kI64Min}),
                                 makeInt(DType::I64, {1}, {-1})}),
             {kI64Min});
  expectInts(runOk(OpKind::Div, {makeInt(DType::I8, {1}, {-128}),
                                 makeInt(DType::I8, {1}, {-1})}),
             {-128});
  absl::StatusOr<Tensor> r = run(OpKind::Div, {makeInt(DType::I32, {2}, {1, 2}),
                                               makeInt(DType::I32, {2}, {1, 0})});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message()).find("integer division by zero"),
            std::string::npos)
      << r.status();
}

TEST(Binary, IntegerPow) {
  expectInts(runOk(OpKind::Pow, {makeInt(DType::I32, {5}, {3, 0, -2, 5, 7}),
                                 makeInt(DType::I32, {5}, {4, 0, 3, 1, 0})}),
             {81, 1, -8, 5, 1});
  // Negative exponents: the exact result truncated toward zero.
  expectInts(runOk(OpKind::Pow, {makeInt(DType::I64, {5}, {2, 1, -1, -1, -3}),
                                 makeInt(DType::I64, {5}, {-1, -5, -3, -2, -1})}),
             {0, 1, -1, 1, 0});
  // Wrapping: np.int64(3) ** 40 and np.int32(2) ** 31.
  expectInts(runOk(OpKind::Pow, {makeInt(DType::I64, {1}, {3}),
                                 makeInt(DType::I64, {1}, {40})}),
             {-6289078614652622815LL});
  expectInts(runOk(OpKind::Pow, {makeInt(DType::I32, {1}, {2}),
                                 makeInt(DType::I32, {1}, {31})}),
             {-2147483648LL});
  absl::StatusOr<Tensor> r = run(OpKind::Pow, {makeInt(DType::I8, {1}, {0}),
                                               makeInt(DType::I8, {1}, {-1})});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message())
                .find("integer pow: zero raised to a negative power"),
            std::string::npos)
      << r.status();
}

TEST(Binary, MaxMin) {
  Tensor a = make(DType::F32, {5}, {1, kNaN, 3, -0.0, 0});
  Tensor b = make(DType::F32, {5}, {2, 1, kNaN, 0, -0.0});
  Tensor mx = runOk(OpKind::Max, {a, b});
  expectValues(mx, {2, kNaN, kNaN, 0, 0});
  // Equal operands give lhs (torch.maximum(-0., 0.) is -0.).
  EXPECT_TRUE(std::signbit(mx.elementAsDouble(3)));
  EXPECT_FALSE(std::signbit(mx.elementAsDouble(4)));
  Tensor mn = runOk(OpKind::Min, {a, b});
  expectValues(mn, {1, kNaN, kNaN, 0, 0});
  EXPECT_TRUE(std::signbit(mn.elementAsDouble(3)));
  EXPECT_FALSE(std::signbit(mn.elementAsDouble(4)));
  expectInts(runOk(OpKind::Max, {makeInt(DType::I64, {2}, {kI64Max - 1, -5}),
                                 makeInt(DType::I64, {1}, {kI64Max})}),
             {kI64Max, kI64Max});
  expectInts(runOk(OpKind::Min, {makeInt(DType::U8, {2}, {255, 3}),
                                 makeInt(DType::U8, {2}, {254, 4})}),
             {254, 3});
}

TEST(Binary, Errors) {
  EXPECT_EQ(inferError(OpKind::Add, {TensorType(DType::F32, {2, 3}),
                                     TensorType(DType::I32, {3})}),
            "operands of 'add' have different dtypes: lhs is f32[2,3], rhs is "
            "i32[3]");
  EXPECT_EQ(inferError(OpKind::Add, {TensorType(DType::F32, {8, 64}),
                                     TensorType(DType::F32, {32})}),
            "operands of 'add' are not broadcast-compatible: f32[8,64] and "
            "f32[32]");
  EXPECT_EQ(inferError(OpKind::Pow, {TensorType(DType::Bool, {2}),
                                     TensorType(DType::Bool, {2})}),
            "operand 'lhs' of 'pow' must have a numeric type, got bool[2]");
  EXPECT_EQ(inferError(OpKind::Mul, {TensorType(DType::F32, {2}),
                                     TensorType(DType::F32, {2}, "x4")}),
            "operand 'rhs' of 'mul' must have the plain layout, got f32[2]<x4>");
  // Success gives the broadcast shape with the plain layout.
  const OpInfo &info = opInfo(OpKind::Max);
  TensorType a(DType::I8, {4, 1, 3}), b(DType::I8, {5, 1});
  std::vector<TensorType> r = inferResultTypes(info, {&a, &b}, {}).value();
  EXPECT_EQ(r, std::vector<TensorType>{TensorType(DType::I8, {4, 5, 3})});
}

// ----- comparisons and logic -------------------------------------------------

TEST(Compare, FloatsWithNaN) {
  Tensor a = make(DType::F32, {4}, {1, 2, kNaN, -0.0});
  Tensor b = make(DType::F32, {4}, {2, 2, kNaN, 0});
  struct Case {
    OpKind kind;
    std::vector<int64_t> want;
  } cases[] = {
      {OpKind::Eq, {0, 1, 0, 1}}, {OpKind::Lt, {1, 0, 0, 0}},
      {OpKind::Le, {1, 1, 0, 1}}, {OpKind::Gt, {0, 0, 0, 0}},
      {OpKind::Ge, {0, 1, 0, 1}},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(std::string(opInfo(c.kind).mnemonic));
    Tensor y = runOk(c.kind, {a, b});
    expectType(y, DType::Bool, {4});
    expectInts(y, c.want);
  }
}

TEST(Compare, IntegersExactlyAndBroadcast) {
  // 2^53 and 2^53 + 1 are equal as doubles but not as int64.
  int64_t big = int64_t{1} << 53;
  Tensor a = makeInt(DType::I64, {2}, {big, big + 1});
  Tensor b = makeInt(DType::I64, {}, {big + 1});
  expectInts(runOk(OpKind::Lt, {a, b}), {1, 0});
  expectInts(runOk(OpKind::Eq, {a, b}), {0, 1});
  // [2,1] vs [3] -> [2,3].
  Tensor col = makeInt(DType::U8, {2, 1}, {1, 3});
  Tensor row = makeInt(DType::U8, {3}, {0, 1, 2});
  Tensor g = runOk(OpKind::Gt, {col, row});
  expectType(g, DType::Bool, {2, 3});
  expectInts(g, {1, 0, 0, 1, 1, 1});
  // Bool operands compare as 0/1.
  expectInts(runOk(OpKind::Eq, {makeInt(DType::Bool, {2}, {1, 0}),
                                makeInt(DType::Bool, {2}, {1, 1})}),
             {1, 0});
  EXPECT_EQ(inferError(OpKind::Lt, {TensorType(DType::F32, {2}),
                                    TensorType(DType::F16, {2})}),
            "operands of 'lt' have different dtypes: lhs is f32[2], rhs is "
            "f16[2]");
  EXPECT_EQ(inferError(OpKind::Ge, {TensorType(DType::I32, {2, 2}),
                                    TensorType(DType::I32, {3})}),
            "operands of 'ge' are not broadcast-compatible: i32[2,2] and i32[3]");
}

TEST(Logic, NotAndOr) {
  Tensor a = makeInt(DType::Bool, {2, 2}, {0, 0, 1, 1});
  Tensor b = makeInt(DType::Bool, {2}, {0, 1});
  Tensor n = runOk(OpKind::Not, {a});
  expectType(n, DType::Bool, {2, 2});
  expectInts(n, {1, 1, 0, 0});
  expectInts(runOk(OpKind::And, {a, b}), {0, 0, 0, 1});
  expectInts(runOk(OpKind::Or, {a, b}), {0, 1, 1, 1});
  EXPECT_EQ(inferError(OpKind::Not, {TensorType(DType::F32, {2})}),
            "operand 'x' of 'not' must have the bool type, got f32[2]");
  EXPECT_EQ(inferError(OpKind::And, {TensorType(DType::Bool, {2}),
                                     TensorType(DType::I8, {2})}),
            "operand 'rhs' of 'and' must have the bool type, got i8[2]");
  EXPECT_EQ(inferError(OpKind::Or, {TensorType(DType::Bool, {2}),
                                    TensorType(DType::Bool, {3})}),
            "operands of 'or' are not broadcast-compatible: bool[2] and bool[3]");
}

TEST(Where, ThreeWayBroadcastExact) {
  Tensor cond = makeInt(DType::Bool, {2, 1}, {1, 0});
  Tensor lhs = make(DType::F32, {3}, {-0.0, kNaN, 1.5});
  Tensor rhs = make(DType::F32, {}, {7});
  Tensor y = runOk(OpKind::Where, {cond, lhs, rhs});
  expectType(y, DType::F32, {2, 3});
  expectValues(y, {-0.0, kNaN, 1.5, 7, 7, 7});
  EXPECT_TRUE(std::signbit(y.elementAsDouble(0)));
  // int64 values above 2^53 are copied exactly.
  int64_t big = (int64_t{1} << 62) + 1;
  Tensor yi = runOk(OpKind::Where, {makeInt(DType::Bool, {2}, {0, 1}),
                                    makeInt(DType::I64, {2}, {big, big}),
                                    makeInt(DType::I64, {2}, {-big, -big})});
  expectInts(yi, {-big, big});
  EXPECT_EQ(inferError(OpKind::Where, {TensorType(DType::F32, {2}),
                                       TensorType(DType::F32, {2}),
                                       TensorType(DType::F32, {2})}),
            "operand 'cond' of 'where' must have the bool type, got f32[2]");
  EXPECT_EQ(inferError(OpKind::Where, {TensorType(DType::Bool, {2}),
                                       TensorType(DType::F32, {2}),
                                       TensorType(DType::F16, {2})}),
            "operands of 'where' have different dtypes: lhs is f32[2], rhs is "
            "f16[2]");
  EXPECT_EQ(inferError(OpKind::Where, {TensorType(DType::Bool, {2}),
                                       TensorType(DType::F32, {3}),
                                       TensorType(DType::F32, {1})}),
            "operands of 'where' are not broadcast-compatible: bool[2], f32[3] "
            "and f32[1]");
}

// ----- cast ------------------------------------------------------------------

Tensor castTo(const Tensor &x, DType to) {
  Tensor y = runOk(OpKind::Cast, {x}, {{"to", to}});
  expectType(y, to, x.shape());
  return y;
}

TEST(Cast, FloatToInteger) {
  Tensor x = make(DType::F32, {7}, {2.7, -2.7, 1e10, -1e10, kNaN, kInf, -0.5});
  expectInts(castTo(x, DType::I32),
             {2, -2, 2147483647, -2147483648LL, 0, 2147483647, 0});
  expectInts(castTo(x, DType::U8), {2, 0, 255, 0, 0, 255, 0});
  expectInts(castTo(x, DType::I64), {2, -2, 10000000000LL, -10000000000LL, 0,
                                     kI64Max, 0});
  // Bool: x != 0, so NaN is true and -0 is false.
  expectInts(castTo(make(DType::F32, {4}, {0, -0.0, kNaN, 0.1}), DType::Bool),
             {0, 0, 1, 1});
}

TEST(Cast, IntegerToInteger) {
  // Narrowing wraps (like Rust's `as`, NumPy's astype).
  expectInts(castTo(makeInt(DType::I32, {4}, {300, -129, 127, -1}), DType::I8),
             {44, 127, 127, -1});
  expectInts(castTo(makeInt(DType::I8, {2}, {-1, 5}), DType::U8), {255, 5});
  expectInts(castTo(makeInt(DType::U8, {2}, {255, 128}), DType::I8), {-1, -128});
  expectInts(castTo(makeInt(DType::I64, {1}, {(int64_t{1} << 32) + 7}),
                    DType::I32),
             {7});
  expectInts(castTo(makeInt(DType::I32, {3}, {0, -3, 2}), DType::Bool),
             {0, 1, 1});
  expectInts(castTo(makeInt(DType::Bool, {2}, {1, 0}), DType::I64), {1, 0});
}

TEST(Cast, ToFloatRoundsOnceToNearestEven) {
  // f32 -> f16: 1 + 2^-11 ties to 1; 1 + 3 * 2^-11 ties up to 1 + 2^-9;
  // 65519 -> 65504; 65520 -> inf (np.float32(...).astype(np.float16)).
  expectValues(castTo(make(DType::F32, {4},
                           {1 + std::ldexp(1, -11), 1 + 3 * std::ldexp(1, -11),
                            65519, 65520}),
                      DType::F16),
               {1, 1 + std::ldexp(1, -9), 65504, kInf});
  // f32 -> bf16: 1 + 2^-8 ties to 1, 1 + 3 * 2^-8 ties up to 1 + 2^-6.
  expectValues(castTo(make(DType::F32, {3},
                           {1 + std::ldexp(1, -8), 1 + 3 * std::ldexp(1, -8),
                            kNaN}),
                      DType::BF16),
               {1, 1 + std::ldexp(1, -6), kNaN});
  // i64 -> f32 rounds the exact integer once: 2^62 + 2^38 + 1 is above the
  // tie 2^62 + 2^38, so 2^62 + 2^39 (np.float32(np.int64(...))); through
  // double it would become the tie and round to 2^62.
  int64_t v = (int64_t{1} << 62) + (int64_t{1} << 38) + 1;
  expectValues(castTo(makeInt(DType::I64, {1}, {v}), DType::F32),
               {std::ldexp(1, 62) + std::ldexp(1, 39)});
  // i32 -> bf16: 2^30 + 2^22 + 1 -> 2^30 + 2^23 by hand (PyTorch, rounding
  // through f32, gives 2^30).
  expectValues(castTo(makeInt(DType::I32, {1}, {(1 << 30) + (1 << 22) + 1}),
                      DType::BF16),
               {std::ldexp(1, 30) + std::ldexp(1, 23)});
  // f16 -> f32 and bool -> f32 are exact; same-dtype cast is the identity.
  expectValues(castTo(make(DType::F16, {2}, {0.333251953125, -65504}), DType::F32),
               {0.333251953125, -65504});
  expectValues(castTo(makeInt(DType::Bool, {2}, {1, 0}), DType::F32), {1, 0});
  expectValues(castTo(make(DType::F32, {2}, {0.1, kNaN}), DType::F32),
               {static_cast<float>(0.1), kNaN});
}

TEST(Cast, Errors) {
  EXPECT_EQ(inferError(OpKind::Cast, {TensorType(DType::F32, {2})}),
            "attribute problem: 'cast' needs attribute 'to' (dtype)");
  EXPECT_EQ(inferError(OpKind::Cast, {TensorType(DType::F32, {2}, "x4")},
                       {{"to", DType::I8}}),
            "operand 'x' of 'cast' must have the plain layout, got f32[2]<x4>");
}

} // namespace

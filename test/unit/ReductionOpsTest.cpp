//===- ReductionOpsTest.cpp - Type inference and reference semantics -------===//
//
// Expected values are computed independently: by hand (noted inline) or with
// NumPy in float64 and rounded to float32, pasted with 9 significant digits.
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

using Ints = std::vector<int64_t>;

// x = ((np.arange(24)**2 % 11) - 4).reshape(2, 3, 4)
const std::vector<double> kX = {-4, -3, 0, 5, 1,  -1, -1, 1, 5, 0,  -3, -4,
                                -3, 0,  5, 1, -1, -1, 1,  5, 0, -3, -4, -3};

TEST(Reduce, AxesAndKeepdimF32) {
  Tensor x = make(DType::F32, {2, 3, 4}, kX);
  // x.sum(axis=(0, 2))
  Tensor s = runOk(OpKind::ReduceSum, {x}, {{"axes", Ints{0, 2}}});
  expectType(s, DType::F32, {3});
  expectValues(s, {1, 4, -12});
  // Same with negative axes and keepdim.
  Tensor sk = runOk(OpKind::ReduceSum, {x},
                    {{"axes", Ints{-1, -3}}, {"keepdim", int64_t{1}}});
  expectType(sk, DType::F32, {1, 3, 1});
  expectValues(sk, {1, 4, -12});
  // No axes, or an empty list: every axis (x.sum() == -7).
  Tensor all = runOk(OpKind::ReduceSum, {x});
  expectType(all, DType::F32, {});
  expectValues(all, {-7});
  Tensor allEmpty = runOk(OpKind::ReduceSum, {x}, {{"axes", Ints{}}, {"keepdim", int64_t{1}}});
  expectType(allEmpty, DType::F32, {1, 1, 1});
  expectValues(allEmpty, {-7});
  // x.mean(axis=1)
  Tensor m = runOk(OpKind::ReduceMean, {x}, {{"axes", Ints{1}}});
  expectType(m, DType::F32, {2, 4});
  expectValues(m, {0.666666687, -1.33333337, -1.33333337, 0.666666687,
                   -1.33333337, -1.33333337, 0.666666687, 1},
               1e-7);
  // x.max(axis=-1), x.min(axis=0), x.prod(axis=1)
  expectValues(runOk(OpKind::ReduceMax, {x}, {{"axes", Ints{-1}}}),
               {5, 1, 5, 5, 5, 0});
  expectValues(runOk(OpKind::ReduceMin, {x}, {{"axes", Ints{0}}}),
               {-4, -3, 0, 1, -1, -1, -1, 1, 0, -3, -4, -4});
  expectValues(runOk(OpKind::ReduceProd, {x}, {{"axes", Ints{1}}}),
               {-20, 0, 0, -20, 0, 0, -20, -15});
}

TEST(Reduce, ScalarAndEmpty) {
  Tensor s = make(DType::F32, {}, {2.5});
  for (OpKind k : {OpKind::ReduceSum, OpKind::ReduceMean, OpKind::ReduceMax,
                   OpKind::ReduceMin, OpKind::ReduceProd}) {
    Tensor y = runOk(k, {s});
    expectType(y, DType::F32, {});
    expectValues(y, {2.5});
  }
  // Axis 0 of a scalar is the scalar itself.
  expectValues(runOk(OpKind::ReduceSum, {s}, {{"axes", Ints{0}}}), {2.5});
  // Reducing an empty axis: sum 0, prod 1, mean NaN (0/0), as NumPy.
  Tensor e = make(DType::F32, {0, 3}, {});
  Tensor sum = runOk(OpKind::ReduceSum, {e}, {{"axes", Ints{0}}});
  expectType(sum, DType::F32, {3});
  expectValues(sum, {0, 0, 0});
  expectValues(runOk(OpKind::ReduceProd, {e}, {{"axes", Ints{0}}}), {1, 1, 1});
  expectValues(runOk(OpKind::ReduceMean, {e}, {{"axes", Ints{0}}}),
               {kNaN, kNaN, kNaN});
  expectInts(runOk(OpKind::ReduceSum, {makeInt(DType::I32, {2, 0}, {})},
                   {{"axes", Ints{1}}}),
             {0, 0});
  // Reducing a non-empty axis of an empty tensor gives an empty tensor.
  Tensor mx = runOk(OpKind::ReduceMax, {e}, {{"axes", Ints{1}}});
  expectType(mx, DType::F32, {0});
}

TEST(Reduce, NaNAndInf) {
  Tensor x = make(DType::F32, {2, 3}, {1, kNaN, 3, -kInf, 2, kInf});
  Ints axis1 = {1};
  expectValues(runOk(OpKind::ReduceMax, {x}, {{"axes", axis1}}), {kNaN, kInf});
  expectValues(runOk(OpKind::ReduceMin, {x}, {{"axes", axis1}}), {kNaN, -kInf});
  expectValues(runOk(OpKind::ReduceSum, {x}, {{"axes", axis1}}), {kNaN, kNaN});
  // NaN first or last in its slot: still NaN.
  Tensor y = make(DType::F32, {2, 2}, {kNaN, 1, 1, kNaN});
  expectValues(runOk(OpKind::ReduceMax, {y}, {{"axes", axis1}}), {kNaN, kNaN});
  expectValues(runOk(OpKind::ReduceMin, {y}, {{"axes", axis1}}), {kNaN, kNaN});
}

TEST(Reduce, HalfSumRoundsOnce) {
  // 2048 + 1 + 2^-24 = 2049 + 2^-24 is just above the f16 tie at 2049, so
  // it rounds to 2050 (np.float16(2048 + 1 + 2**-24)); rounding through f32
  // would give the tie 2049 and then 2048.
  Tensor y = runOk(OpKind::ReduceSum,
                   {make(DType::F16, {3}, {2048, 1, std::ldexp(1, -24)})});
  expectType(y, DType::F16, {});
  expectValues(y, {2050});
  // bf16 accumulates in double: 256 + 1 + 1 = 258 is exact in bf16
  // (accumulating in bf16 would lose each 1 to a tie and give 256).
  expectValues(runOk(OpKind::ReduceSum, {make(DType::BF16, {3}, {256, 1, 1})}),
               {258});
}

TEST(Reduce, Integers) {
  Tensor x = makeInt(DType::I32, {2, 3}, {1, 2, 3, -4, 5, -7});
  expectInts(runOk(OpKind::ReduceSum, {x}, {{"axes", Ints{1}}}), {6, -6});
  expectInts(runOk(OpKind::ReduceProd, {x}, {{"axes", Ints{0}}}), {-4, 10, -21});
  expectInts(runOk(OpKind::ReduceMax, {x}), {5});
  expectInts(runOk(OpKind::ReduceMin, {x}, {{"axes", Ints{-1}}}), {1, -7});
  // Mean truncates toward zero: 6/3 = 2, -6/3 = -2; [-7, 2] -> -2.5 -> -2.
  expectInts(runOk(OpKind::ReduceMean, {x}, {{"axes", Ints{1}}}), {2, -2});
  expectInts(runOk(OpKind::ReduceMean, {makeInt(DType::I8, {2}, {-7, 2})}), {-2});
  // The mean is exact even when the sum overflows int64.
  expectInts(runOk(OpKind::ReduceMean,
                   {makeInt(DType::I64, {3}, {kI64Max, kI64Max, kI64Max - 3})}),
             {kI64Max - 1});
  // Sum and prod wrap like add and mul.
  expectInts(runOk(OpKind::ReduceSum, {makeInt(DType::I8, {2}, {100, 100})}), {-56});
  expectInts(runOk(OpKind::ReduceSum, {makeInt(DType::I64, {2}, {kI64Max, 2})}),
             {kI64Min + 1});
  expectInts(runOk(OpKind::ReduceProd, {makeInt(DType::I8, {2}, {16, 16})}), {0});
  expectInts(runOk(OpKind::ReduceSum, {makeInt(DType::U8, {2}, {200, 100})}), {44});
  Tensor u = runOk(OpKind::ReduceMax, {makeInt(DType::U8, {3}, {7, 255, 0})});
  expectType(u, DType::U8, {});
  expectInts(u, {255});
}

TEST(Reduce, Errors) {
  TensorType x(DType::F32, {2, 3});
  EXPECT_EQ(inferError(OpKind::ReduceSum, {x}, {{"axes", Ints{1, -1}}}),
            "axis -1 is repeated in the axes [1, -1] of 'reduce_sum' for f32[2,3]");
  EXPECT_EQ(inferError(OpKind::ReduceMean, {x}, {{"axes", Ints{2}}}),
            "axis 2 of 'reduce_mean' is out of range for rank 2 (valid: -2 to 1)");
  EXPECT_EQ(inferError(OpKind::ReduceMax, {x}, {{"axes", Ints{-3}}}),
            "axis -3 of 'reduce_max' is out of range for rank 2 (valid: -2 to 1)");
  EXPECT_EQ(inferError(OpKind::ReduceSum, {TensorType(DType::Bool, {2})}),
            "operand 'x' of 'reduce_sum' must have a numeric type, got bool[2]");
  EXPECT_EQ(inferError(OpKind::ReduceMean, {TensorType(DType::I32, {0})}),
            "'reduce_mean' reduces over zero elements (axis 0 of i32[0] is "
            "empty) and has no identity");
  EXPECT_EQ(inferError(OpKind::ReduceMean, {TensorType(DType::F32, {0})}), "");
  EXPECT_EQ(inferError(OpKind::ReduceSum, {TensorType(DType::F32, {1, 16}, "nc8c")}),
            "operand 'x' of 'reduce_sum' must have the plain layout, got "
            "f32[1,16]<nc8c>");
}

TEST(Reduce, MaxMinOverZeroElementsGiveTheIdentity) {
  // ONNX 18+: ReduceMax over an empty set is -inf (the lowest integer for
  // integer dtypes), ReduceMin +inf (the highest).
  Tensor f = make(DType::F32, {2, 0, 3}, {});
  Tensor mx = runOk(OpKind::ReduceMax, {f},
                    {{"axes", Ints{1}}, {"keepdim", int64_t{1}}});
  expectType(mx, DType::F32, {2, 1, 3});
  expectValues(mx, std::vector<double>(6, -kInf));
  Tensor mn = runOk(OpKind::ReduceMin, {f}, {{"axes", Ints{1}}});
  expectType(mn, DType::F32, {2, 3});
  expectValues(mn, std::vector<double>(6, kInf));
  expectValues(runOk(OpKind::ReduceMax, {make(DType::F16, {0}, {})}), {-kInf});
  expectInts(runOk(OpKind::ReduceMax, {makeInt(DType::I8, {0, 2}, {})},
                   {{"axes", Ints{0}}}),
             {-128, -128});
  expectInts(runOk(OpKind::ReduceMin, {makeInt(DType::I8, {0}, {})}), {127});
  expectInts(runOk(OpKind::ReduceMax, {makeInt(DType::U8, {0}, {})}), {0});
  expectInts(runOk(OpKind::ReduceMin, {makeInt(DType::U8, {0}, {})}), {255});
  expectInts(runOk(OpKind::ReduceMax, {makeInt(DType::I32, {0}, {})}),
             {std::numeric_limits<int32_t>::min()});
  expectInts(runOk(OpKind::ReduceMin, {makeInt(DType::I32, {2, 0}, {})},
                   {{"axes", Ints{-1}}}),
             {std::numeric_limits<int32_t>::max(),
              std::numeric_limits<int32_t>::max()});
  expectInts(runOk(OpKind::ReduceMax, {makeInt(DType::I64, {0}, {})}), {kI64Min});
  expectInts(runOk(OpKind::ReduceMin, {makeInt(DType::I64, {0}, {})}), {kI64Max});
  // Non-empty reductions are unaffected by the identity.
  expectValues(runOk(OpKind::ReduceMax, {make(DType::F32, {2}, {-kInf, -kInf})}),
               {-kInf});
  expectInts(runOk(OpKind::ReduceMax, {makeInt(DType::I8, {2}, {-128, -100})}),
             {-100});
}

TEST(Reduce, DirectEvalChecksTypes) {
  // Called without verification, a result type that inference would not
  // give is an error, not an out-of-bounds write.
  Tensor x = make(DType::F32, {2, 3}, {1, 2, 3, 4, 5, 6});
  Attributes attrs = {{"axes", Ints{1}}, {"keepdim", int64_t{0}}};
  std::vector<TensorType> wrong = {TensorType(DType::F32, {3})};
  EvalContext bad{opInfo(OpKind::ReduceSum), {&x}, attrs, wrong};
  EXPECT_FALSE(opInfo(OpKind::ReduceSum).eval(bad).ok());
  std::vector<TensorType> right = {TensorType(DType::F32, {2})};
  EvalContext good{opInfo(OpKind::ReduceSum), {&x}, attrs, right};
  absl::StatusOr<std::vector<Tensor>> r = opInfo(OpKind::ReduceSum).eval(good);
  ASSERT_TRUE(r.ok()) << r.status();
  expectValues((*r)[0], {6, 15});
}

// ----- argmax ----------------------------------------------------------------

TEST(Argmax, AxesAndKeepdim) {
  Tensor x = make(DType::F32, {2, 3, 4}, kX);
  // x.argmax(axis=1)
  Tensor a = runOk(OpKind::Argmax, {x}, {{"axis", int64_t{1}}});
  expectType(a, DType::I64, {2, 4});
  expectInts(a, {2, 2, 0, 0, 2, 0, 0, 1});
  // x.argmax(axis=-1), keepdim
  Tensor b = runOk(OpKind::Argmax, {x},
                   {{"axis", int64_t{-1}}, {"keepdim", int64_t{1}}});
  expectType(b, DType::I64, {2, 3, 1});
  expectInts(b, {3, 0, 0, 2, 3, 0});
  // A scalar has index 0.
  Tensor s = runOk(OpKind::Argmax, {make(DType::F32, {}, {3})}, {{"axis", int64_t{0}}});
  expectType(s, DType::I64, {});
  expectInts(s, {0});
}

TEST(Argmax, TiesNaNAndIntegers) {
  Tensor t = make(DType::F32, {2, 4}, {1, 3, 3, 0, 2, 2, 2, 2});
  expectInts(runOk(OpKind::Argmax, {t}, {{"axis", int64_t{1}}}), {1, 0});
  expectInts(runOk(OpKind::Argmax, {t}, {{"axis", int64_t{1}},
                                         {"select_last_index", int64_t{1}}}),
             {2, 3});
  // NaN is the maximum (np.argmax([1, nan, 3, nan]) == 1).
  Tensor n = make(DType::F32, {4}, {1, kNaN, kInf, kNaN});
  expectInts(runOk(OpKind::Argmax, {n}, {{"axis", int64_t{0}}}), {1});
  expectInts(runOk(OpKind::Argmax, {n}, {{"axis", int64_t{0}},
                                         {"select_last_index", int64_t{1}}}),
             {3});
  expectInts(runOk(OpKind::Argmax, {make(DType::F32, {3}, {-kInf, -kInf, -5})},
                   {{"axis", int64_t{0}}}),
             {2});
  // int64 values that are equal as doubles.
  int64_t big = int64_t{1} << 53;
  expectInts(runOk(OpKind::Argmax, {makeInt(DType::I64, {3}, {big, big + 1, big})},
                   {{"axis", int64_t{0}}}),
             {1});
  expectInts(runOk(OpKind::Argmax, {makeInt(DType::U8, {2, 2}, {0, 255, 9, 9})},
                   {{"axis", int64_t{-1}}, {"select_last_index", int64_t{1}}}),
             {1, 1});
}

TEST(Argmax, Errors) {
  EXPECT_EQ(inferError(OpKind::Argmax, {TensorType(DType::F32, {2, 3})},
                       {{"axis", int64_t{2}}}),
            "axis 2 of 'argmax' is out of range for rank 2 (valid: -2 to 1)");
  EXPECT_EQ(inferError(OpKind::Argmax, {TensorType(DType::F32, {2, 0})},
                       {{"axis", int64_t{1}}}),
            "'argmax' reduces over zero elements (axis 1 of f32[2,0] is empty) "
            "and has no identity");
  EXPECT_EQ(inferError(OpKind::Argmax, {TensorType(DType::Bool, {2})},
                       {{"axis", int64_t{0}}}),
            "operand 'x' of 'argmax' must have a numeric type, got bool[2]");
  EXPECT_EQ(inferError(OpKind::Argmax, {TensorType(DType::F32, {2})}),
            "attribute problem: 'argmax' needs attribute 'axis' (int)");
}

} // namespace

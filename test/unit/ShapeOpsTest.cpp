//===- ShapeOpsTest.cpp - Shape and data-movement ops ---------------------===//
//
// Type inference and reference semantics of reshape, transpose, concat,
// slice, gather, expand, pad, squeeze, unsqueeze and flatten. Expected values
// were computed with NumPy (the expression is in the comment above each) or
// by hand where stated.
//
//===----------------------------------------------------------------------===//
#include "ir/Builder.h"
#include "ir/Interpreter.h"
#include "ir/Verifier.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>

using namespace tcpu;

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

Tensor make(DType dtype, Shape shape, const std::vector<double> &values) {
  Tensor t = Tensor::allocate(TensorType(dtype, std::move(shape))).value();
  EXPECT_EQ(static_cast<size_t>(t.numElements()), values.size());
  for (size_t i = 0; i < values.size(); ++i)
    t.setElementFromDouble(static_cast<int64_t>(i), values[i]);
  return t;
}

Tensor makeI64(Shape shape, const std::vector<int64_t> &values) {
  Tensor t = Tensor::allocate(TensorType(DType::I64, std::move(shape))).value();
  for (size_t i = 0; i < values.size(); ++i)
    t.setElementFromInt(static_cast<int64_t>(i), values[i]);
  return t;
}

/// 0, 1, ..., n-1 as f32 of the given shape.
Tensor iota(Shape shape, DType dtype = DType::F32) {
  int64_t n = checkedNumElements(shape).value();
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i)
    v[i] = static_cast<double>(i);
  return make(dtype, std::move(shape), v);
}

std::vector<double> values(const Tensor &t) {
  std::vector<double> v;
  for (int64_t i = 0; i < t.numElements(); ++i)
    v.push_back(t.elementAsDouble(i));
  return v;
}

/// Builds a one-op graph whose inputs have the tensors' types, checks type
/// inference through the builder, then evaluates the op.
absl::StatusOr<Tensor> run(OpKind kind, std::vector<Tensor> inputs,
                           Attributes attrs = {}) {
  GraphBuilder b("t");
  std::vector<Value *> vals;
  std::vector<const Tensor *> ptrs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    vals.push_back(b.input("x" + std::to_string(i), inputs[i].type()));
    ptrs.push_back(&inputs[i]);
  }
  absl::StatusOr<Value *> v = b.create(kind, vals, std::move(attrs));
  if (!v.ok())
    return v.status();
  absl::StatusOr<std::vector<Tensor>> r = evaluateOp(*(*v)->definingOp(), ptrs);
  if (!r.ok())
    return r.status();
  return (*r)[0];
}

/// Type inference alone, with attribute defaults filled in as the builder
/// does; returns the result type or the exact error message (no location).
std::string inferStr(OpKind kind, std::vector<TensorType> operands,
                     Attributes attrs = {}) {
  const OpInfo &info = opInfo(kind);
  std::vector<std::string> problems = normalizeAttributes(info, attrs);
  if (!problems.empty())
    return "attr: " + problems.front();
  std::vector<const TensorType *> ptrs;
  for (const TensorType &t : operands)
    ptrs.push_back(&t);
  absl::StatusOr<std::vector<TensorType>> r =
      inferResultTypes(info, ptrs, attrs);
  if (!r.ok())
    return std::string(r.status().message());
  return (*r)[0].str();
}

TensorType f32(Shape s) { return TensorType(DType::F32, std::move(s)); }

::testing::AssertionResult isResult(const absl::StatusOr<Tensor> &r,
                                    const std::string &type,
                                    const std::vector<double> &vals) {
  if (!r.ok())
    return ::testing::AssertionFailure() << r.status();
  if (r->type().str() != type)
    return ::testing::AssertionFailure()
           << "type " << r->type().str() << ", expected " << type;
  if (values(*r) != vals) {
    auto f = ::testing::AssertionFailure() << "values";
    for (double v : values(*r))
      f << " " << v;
    return f;
  }
  return ::testing::AssertionSuccess();
}

// Variadic so that braces in the arguments need no extra parentheses.
#define EXPECT_RESULT(...) EXPECT_TRUE(isResult(__VA_ARGS__))

// ----- reshape ----------------------------------------------------------------

TEST(Reshape, Shapes) {
  EXPECT_EQ(inferStr(OpKind::Reshape, {f32({2, 3})}, {{"shape", Shape{3, 2}}}),
            "f32[3,2]");
  EXPECT_EQ(inferStr(OpKind::Reshape, {f32({2, 3})}, {{"shape", Shape{-1}}}),
            "f32[6]");
  EXPECT_EQ(inferStr(OpKind::Reshape, {f32({2, 3, 4})},
                     {{"shape", Shape{4, -1, 2}}}),
            "f32[4,3,2]");
  EXPECT_EQ(inferStr(OpKind::Reshape, {f32({})}, {{"shape", Shape{1, 1}}}),
            "f32[1,1]");
  EXPECT_EQ(inferStr(OpKind::Reshape, {f32({1, 1})}, {{"shape", Shape{}}}),
            "f32[]");
  // Empty tensors: -1 takes 0 / 3 = 0 (numpy: zeros((0,3)).reshape(-1,3)).
  EXPECT_EQ(inferStr(OpKind::Reshape, {f32({0, 3})}, {{"shape", Shape{-1, 3}}}),
            "f32[0,3]");
  EXPECT_EQ(inferStr(OpKind::Reshape, {f32({0, 3})}, {{"shape", Shape{3, -1}}}),
            "f32[3,0]");
  // A 0 is a dim of size 0 (numpy: zeros((0,3,4)).reshape(3,4,0)).
  EXPECT_EQ(inferStr(OpKind::Reshape, {f32({0, 3, 4})},
                     {{"shape", Shape{3, 4, 0}}}),
            "f32[3,4,0]");
  EXPECT_EQ(inferStr(OpKind::Reshape, {f32({2, 0})}, {{"shape", Shape{0}}}),
            "f32[0]");
}

TEST(Reshape, Errors) {
  EXPECT_EQ(inferStr(OpKind::Reshape, {f32({2, 3})}, {{"shape", Shape{4, 2}}}),
            "reshape cannot turn f32[2,3] (6 elements) into [4,2] (8 elements)");
  EXPECT_EQ(inferStr(OpKind::Reshape, {f32({2, 3})}, {{"shape", Shape{4, -1}}}),
            "reshape cannot turn f32[2,3] (6 elements) into [4,-1]: 6 is not "
            "a multiple of 4");
  EXPECT_EQ(inferStr(OpKind::Reshape, {f32({2, 3})},
                     {{"shape", Shape{-1, -1}}}),
            "reshape shape [-1,-1] has more than one -1");
  EXPECT_EQ(inferStr(OpKind::Reshape, {f32({2, 3})}, {{"shape", Shape{0, 3}}}),
            "reshape cannot turn f32[2,3] (6 elements) into [0,3] (0 elements)");
  // With a 0 among the other dims, any size fits the -1.
  EXPECT_EQ(inferStr(OpKind::Reshape, {f32({0, 3})}, {{"shape", Shape{0, -1}}}),
            "reshape shape [0,-1] is ambiguous: the -1 cannot be inferred "
            "when the other dims have a 0");
  EXPECT_EQ(inferStr(OpKind::Reshape, {f32({2, 3})}, {{"shape", Shape{-2, 3}}}),
            "reshape shape [-2,3] has the negative size -2 (only -1 is "
            "allowed, once)");
  EXPECT_EQ(inferStr(OpKind::Reshape, {f32({2, 3})},
                     {{"shape", Shape{kMax, 4}}}),
            "reshape shape [9223372036854775807,4] has more elements than "
            "int64 can count");
  // Blocked layouts are refused for now.
  EXPECT_EQ(inferStr(OpKind::Reshape,
                     {TensorType(DType::F32, {1, 8, 2, 2}, "nchw8c")},
                     {{"shape", Shape{32}}}),
            "operand 'x' of 'reshape' must have the plain layout, got "
            "f32[1,8,2,2]<nchw8c>");
}

TEST(Reshape, Eval) {
  // Row-major order is kept: only the shape changes.
  EXPECT_RESULT(run(OpKind::Reshape, {iota({2, 3})}, {{"shape", Shape{3, -1}}}),
                "f32[3,2]", {0, 1, 2, 3, 4, 5});
  // i64 values beyond 2^53 survive exactly (bytes are moved, not converted).
  absl::StatusOr<Tensor> r = run(OpKind::Reshape, {makeI64({2}, {kMin, kMax})},
                                 {{"shape", Shape{2, 1}}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->type().str(), "i64[2,1]");
  EXPECT_EQ(r->elementAsInt(0), kMin);
  EXPECT_EQ(r->elementAsInt(1), kMax);
  // Empty to empty.
  EXPECT_RESULT(run(OpKind::Reshape, {iota({0, 3, 4})}, {{"shape", Shape{3, 4, 0}}}),
                "f32[3,4,0]", {});
}

// ----- transpose --------------------------------------------------------------

TEST(Transpose, ShapesAndErrors) {
  EXPECT_EQ(inferStr(OpKind::Transpose, {f32({2, 3, 4})}), "f32[4,3,2]");
  EXPECT_EQ(inferStr(OpKind::Transpose, {f32({})}), "f32[]");
  EXPECT_EQ(inferStr(OpKind::Transpose, {f32({2, 3, 4})},
                     {{"perm", Shape{2, 0, 1}}}),
            "f32[4,2,3]");
  EXPECT_EQ(inferStr(OpKind::Transpose, {f32({2, 3})}, {{"perm", Shape{0, 0}}}),
            "transpose perm [0,0] is not a permutation of 0..1 for f32[2,3]");
  EXPECT_EQ(inferStr(OpKind::Transpose, {f32({2, 3})},
                     {{"perm", Shape{0, 1, 2}}}),
            "transpose perm [0,1,2] is not a permutation of 0..1 for f32[2,3]");
  EXPECT_EQ(inferStr(OpKind::Transpose, {f32({2, 3})},
                     {{"perm", Shape{1, -1}}}),
            "transpose perm [1,-1] is not a permutation of 0..1 for f32[2,3]");
}

TEST(Transpose, Eval) {
  // np.arange(24).reshape(2,3,4).transpose(2,0,1)
  EXPECT_RESULT(run(OpKind::Transpose, {iota({2, 3, 4})},
                    {{"perm", Shape{2, 0, 1}}}),
                "f32[4,2,3]",
                {0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21,
                  2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23});
  // Default: reversed axes. np.arange(6).reshape(2,3).T
  EXPECT_RESULT(run(OpKind::Transpose, {iota({2, 3})}), "f32[3,2]",
                {0, 3, 1, 4, 2, 5});
  EXPECT_RESULT(run(OpKind::Transpose, {iota({0, 3})}), "f32[3,0]", {});
}

TEST(Transpose, BitExactHalf) {
  // f16 NaN payloads and -0 must survive: the op moves bytes.
  Tensor t = Tensor::allocate(TensorType(DType::F16, {2, 2})).value();
  const uint16_t bits[4] = {0x7e01, 0x8000, 0x3c00, 0xfc00};
  std::memcpy(t.mutableData(), bits, sizeof bits);
  absl::StatusOr<Tensor> r = run(OpKind::Transpose, {t});
  ASSERT_TRUE(r.ok()) << r.status();
  const uint16_t *out = r->dataAs<uint16_t>();
  EXPECT_EQ(out[0], 0x7e01);
  EXPECT_EQ(out[1], 0x3c00);
  EXPECT_EQ(out[2], 0x8000);
  EXPECT_EQ(out[3], 0xfc00);
}

// ----- concat -----------------------------------------------------------------

TEST(Concat, ShapesAndErrors) {
  EXPECT_EQ(inferStr(OpKind::Concat, {f32({2, 1}), f32({2, 2}), f32({2, 3})},
                     {{"axis", int64_t{-1}}}),
            "f32[2,6]");
  EXPECT_EQ(inferStr(OpKind::Concat, {f32({4})}, {{"axis", int64_t{0}}}),
            "f32[4]");
  EXPECT_EQ(inferStr(OpKind::Concat,
                     {f32({2, 3}), TensorType(DType::I32, {2, 3})},
                     {{"axis", int64_t{0}}}),
            "concat inputs have different dtypes: input 0 is f32[2,3], input "
            "1 is i32[2,3]");
  EXPECT_EQ(inferStr(OpKind::Concat, {f32({2, 3}), f32({2, 3}), f32({3, 3})},
                     {{"axis", int64_t{1}}}),
            "concat inputs must agree on all dims except axis 1: input 0 is "
            "f32[2,3], input 2 is f32[3,3]");
  EXPECT_EQ(inferStr(OpKind::Concat, {f32({2, 3}), f32({2, 3, 1})},
                     {{"axis", int64_t{0}}}),
            "concat inputs must agree on all dims except axis 0: input 0 is "
            "f32[2,3], input 1 is f32[2,3,1]");
  EXPECT_EQ(inferStr(OpKind::Concat, {f32({2, 3})}, {{"axis", int64_t{2}}}),
            "concat axis 2 is out of range for rank 2 (valid: -2 to 1)");
  EXPECT_EQ(inferStr(OpKind::Concat, {f32({}), f32({})},
                     {{"axis", int64_t{0}}}),
            "concat needs inputs of rank 1 or more, input 0 is f32[]");
}

TEST(Concat, Eval) {
  // np.concatenate([a, b], axis=1) with a = [[0],[1]], b = [[0,1],[2,3]]
  EXPECT_RESULT(run(OpKind::Concat, {iota({2, 1}), iota({2, 2})},
                    {{"axis", int64_t{-1}}}),
                "f32[2,3]", {0, 0, 1, 1, 2, 3});
  // Axis 0 with an empty input in the middle (by hand).
  EXPECT_RESULT(run(OpKind::Concat, {iota({1, 2}), iota({0, 2}), iota({2, 2})},
                    {{"axis", int64_t{0}}}),
                "f32[3,2]", {0, 1, 0, 1, 2, 3});
  // bool, axis 0 (by hand).
  EXPECT_RESULT(run(OpKind::Concat,
                    {make(DType::Bool, {2}, {1, 0}),
                     make(DType::Bool, {1}, {1})},
                    {{"axis", int64_t{0}}}),
                "bool[3]", {1, 0, 1});
}

// ----- slice ------------------------------------------------------------------

TEST(Slice, Eval) {
  Tensor x = iota({2, 3, 4}); // np.arange(24).reshape(2,3,4)
  // x[:, 1:3, ::2]
  EXPECT_RESULT(run(OpKind::Slice, {x},
                    {{"starts", Shape{1, 0}},
                     {"ends", Shape{3, kMax}},
                     {"axes", Shape{1, 2}},
                     {"steps", Shape{1, 2}}}),
                "f32[2,2,2]", {4, 6, 8, 10, 16, 18, 20, 22});
  // x[::-1]: start -1, end INT64_MIN, step -1.
  EXPECT_RESULT(run(OpKind::Slice, {x},
                    {{"starts", Shape{-1}},
                     {"ends", Shape{kMin}},
                     {"axes", Shape{0}},
                     {"steps", Shape{-1}}}),
                "f32[2,3,4]",
                {12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
                  0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11});
  // x[:, :, 3::-2]: end -5 + 4 = -1 clamps to -1 ("before index 0").
  EXPECT_RESULT(run(OpKind::Slice, {x},
                    {{"starts", Shape{3}},
                     {"ends", Shape{-5}},
                     {"axes", Shape{2}},
                     {"steps", Shape{-2}}}),
                "f32[2,3,2]", {3, 1, 7, 5, 11, 9, 15, 13, 19, 17, 23, 21});
  // x[1:, -2:, -1:0:-1] with default axes, ends clamped from 100.
  EXPECT_RESULT(run(OpKind::Slice, {x},
                    {{"starts", Shape{1, -2, -1}},
                     {"ends", Shape{100, 100, 0}},
                     {"steps", Shape{1, 1, -1}}}),
                "f32[1,2,3]", {19, 18, 17, 23, 22, 21});
  // x[:, :, 1:-1] via axes [-1].
  EXPECT_RESULT(run(OpKind::Slice, {x},
                    {{"starts", Shape{1}}, {"ends", Shape{-1}},
                     {"axes", Shape{-1}}}),
                "f32[2,3,2]", {1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22});
  // x[:, ::2, 1::3] via negative axes and INT64_MAX ends.
  EXPECT_RESULT(run(OpKind::Slice, {x},
                    {{"starts", Shape{0, 1}},
                     {"ends", Shape{kMax, kMax}},
                     {"axes", Shape{-2, -1}},
                     {"steps", Shape{2, 3}}}),
                "f32[2,2,1]", {1, 9, 13, 21});
  // Out-of-range start and end clamp to the whole axis: x[:, -100:100].
  EXPECT_RESULT(run(OpKind::Slice, {iota({2, 2})},
                    {{"starts", Shape{-100}}, {"ends", Shape{100}},
                     {"axes", Shape{1}}}),
                "f32[2,2]", {0, 1, 2, 3});
  // Backward from a start past the end: start clamps to d-1. x[:, :, 100::-1]
  // on [1,1,4] -> reversed.
  EXPECT_RESULT(run(OpKind::Slice, {iota({1, 1, 4})},
                    {{"starts", Shape{100}},
                     {"ends", Shape{kMin}},
                     {"axes", Shape{2}},
                     {"steps", Shape{-1}}}),
                "f32[1,1,4]", {3, 2, 1, 0});
  // Steps of INT64_MIN and INT64_MAX take one element (by hand: x[:,:,2]
  // and x[:,:,0] kept as size-1 axes).
  EXPECT_RESULT(run(OpKind::Slice, {x},
                    {{"starts", Shape{2}}, {"ends", Shape{kMin}},
                     {"axes", Shape{2}}, {"steps", Shape{kMin}}}),
                "f32[2,3,1]", {2, 6, 10, 14, 18, 22});
  EXPECT_RESULT(run(OpKind::Slice, {x},
                    {{"starts", Shape{0}}, {"ends", Shape{kMax}},
                     {"axes", Shape{2}}, {"steps", Shape{kMax}}}),
                "f32[2,3,1]", {0, 4, 8, 12, 16, 20});
}

TEST(Slice, EmptyResults) {
  Tensor x = iota({2, 3, 4});
  // x[:, :, 2:1] and x[:, :, 0:3:-1] are empty.
  EXPECT_RESULT(run(OpKind::Slice, {x},
                    {{"starts", Shape{2}}, {"ends", Shape{1}},
                     {"axes", Shape{2}}}),
                "f32[2,3,0]", {});
  EXPECT_RESULT(run(OpKind::Slice, {x},
                    {{"starts", Shape{0}}, {"ends", Shape{3}},
                     {"axes", Shape{2}}, {"steps", Shape{-1}}}),
                "f32[2,3,0]", {});
  // An empty axis stays empty in both directions.
  EXPECT_RESULT(run(OpKind::Slice, {iota({0, 3})},
                    {{"starts", Shape{-1}}, {"ends", Shape{kMin}},
                     {"axes", Shape{0}}, {"steps", Shape{-1}}}),
                "f32[0,3]", {});
  EXPECT_RESULT(run(OpKind::Slice, {iota({0, 3})},
                    {{"starts", Shape{0}}, {"ends", Shape{kMax}}}),
                "f32[0,3]", {});
}

TEST(Slice, Errors) {
  EXPECT_EQ(inferStr(OpKind::Slice, {f32({2, 3})},
                     {{"starts", Shape{0}}, {"ends", Shape{1}},
                      {"steps", Shape{0}}}),
            "slice steps [0] contain 0 (at position 0)");
  EXPECT_EQ(inferStr(OpKind::Slice, {f32({2, 3})},
                     {{"starts", Shape{0, 0}}, {"ends", Shape{1, 1}},
                      {"axes", Shape{1, -1}}}),
            "slice axes [1,-1] name axis 1 twice");
  EXPECT_EQ(inferStr(OpKind::Slice, {f32({2, 3})},
                     {{"starts", Shape{0}}, {"ends", Shape{1, 2}}}),
            "slice starts [0] and ends [1,2] have different lengths");
  EXPECT_EQ(inferStr(OpKind::Slice, {f32({2, 3})},
                     {{"starts", Shape{0}}, {"ends", Shape{1}},
                      {"axes", Shape{0, 1}}}),
            "slice axes [0,1] and starts [0] have different lengths");
  EXPECT_EQ(inferStr(OpKind::Slice, {f32({2, 3})},
                     {{"starts", Shape{0}}, {"ends", Shape{1}},
                      {"steps", Shape{1, 1}}}),
            "slice steps [1,1] and starts [0] have different lengths");
  EXPECT_EQ(inferStr(OpKind::Slice, {f32({2, 3})},
                     {{"starts", Shape{0}}, {"ends", Shape{1}},
                      {"axes", Shape{2}}}),
            "slice axis 2 is out of range for f32[2,3] (valid: -2 to 1)");
  EXPECT_EQ(inferStr(OpKind::Slice, {f32({2})},
                     {{"starts", Shape{0, 0}}, {"ends", Shape{1, 1}}}),
            "slice starts [0,0] has 2 entries, more than the rank of f32[2]");
}

// ----- gather -----------------------------------------------------------------

TEST(Gather, Eval) {
  Tensor d = make(DType::F32, {3, 2}, {1, 2, 3, 4, 5, 6});
  // np.take(d, [[0,2],[-1,1]], axis=0)
  EXPECT_RESULT(run(OpKind::Gather, {d, makeI64({2, 2}, {0, 2, -1, 1})}),
                "f32[2,2,2]", {1, 2, 5, 6, 5, 6, 3, 4});
  // np.take(d, [1,-2,0], axis=1), i32 indices, axis given as -1.
  EXPECT_RESULT(run(OpKind::Gather, {d, make(DType::I32, {3}, {1, -2, 0})},
                    {{"axis", int64_t{-1}}}),
                "f32[3,3]", {2, 1, 1, 4, 3, 3, 6, 5, 5});
  // A scalar index removes the axis: np.take(d, 1, axis=0).
  EXPECT_RESULT(run(OpKind::Gather, {d, makeI64({}, {1})}), "f32[2]", {3, 4});
  // Empty indices.
  EXPECT_RESULT(run(OpKind::Gather, {d, makeI64({0}, {})}), "f32[0,2]", {});
}

TEST(Gather, OutOfRangeIndices) {
  Tensor d = make(DType::F32, {3, 2}, {1, 2, 3, 4, 5, 6});
  absl::StatusOr<Tensor> r = run(OpKind::Gather, {d, makeI64({2}, {0, 3})});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message())
                .find("gather index 3 (element 1 of indices) is out of range "
                      "for axis 0 of size 3 (valid: -3 to 2)"),
            std::string::npos)
      << r.status();
  r = run(OpKind::Gather, {d, make(DType::I32, {1}, {-4})});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message())
                .find("gather index -4 (element 0 of indices) is out of range"),
            std::string::npos)
      << r.status();
  // A bad index is reported even when the result is empty (inner dim 0).
  r = run(OpKind::Gather, {iota({3, 0}), makeI64({1}, {kMin})});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message())
                .find("gather index -9223372036854775808"),
            std::string::npos)
      << r.status();
}

TEST(Gather, Errors) {
  EXPECT_EQ(inferStr(OpKind::Gather, {f32({3, 2}), f32({2})}),
            "gather indices must be i32 or i64, got f32[2]");
  EXPECT_EQ(inferStr(OpKind::Gather,
                     {f32({}), TensorType(DType::I64, {2})}),
            "gather data must have rank 1 or more, got f32[]");
  EXPECT_EQ(inferStr(OpKind::Gather, {f32({3, 2}), TensorType(DType::I64, {2})},
                     {{"axis", int64_t{2}}}),
            "gather axis 2 is out of range for data f32[3,2] (valid: -2 to 1)");
  // The result rank may not exceed kMaxRank.
  EXPECT_EQ(inferStr(OpKind::Gather,
                     {f32({2, 2, 2}), TensorType(DType::I64, {1, 1, 1, 1, 1})}),
            "result of 'gather': rank 7 of f32[1,1,1,1,1,2,2] exceeds the "
            "maximum rank 6");
}

// ----- expand -----------------------------------------------------------------

TEST(Expand, Eval) {
  Tensor e = make(DType::F32, {3, 1}, {10, 20, 30});
  // np.broadcast_to(e, (2,3,4))
  EXPECT_RESULT(run(OpKind::Expand, {e}, {{"shape", Shape{2, 1, 4}}}),
                "f32[2,3,4]",
                {10, 10, 10, 10, 20, 20, 20, 20, 30, 30, 30, 30,
                  10, 10, 10, 10, 20, 20, 20, 20, 30, 30, 30, 30});
  // Bidirectional: the shape may be smaller than x. e * np.ones((3,2))
  EXPECT_RESULT(run(OpKind::Expand, {e}, {{"shape", Shape{2}}}), "f32[3,2]",
                {10, 10, 20, 20, 30, 30});
  EXPECT_RESULT(run(OpKind::Expand, {e}, {{"shape", Shape{}}}), "f32[3,1]",
                {10, 20, 30});
  // A size-1 axis may broadcast to 0.
  EXPECT_RESULT(run(OpKind::Expand, {e}, {{"shape", Shape{0}}}), "f32[3,0]",
                {});
  // A scalar fills the shape (by hand).
  EXPECT_RESULT(run(OpKind::Expand, {make(DType::I8, {}, {-7})},
                    {{"shape", Shape{2, 2}}}),
                "i8[2,2]", {-7, -7, -7, -7});
}

TEST(Expand, Errors) {
  EXPECT_EQ(inferStr(OpKind::Expand, {f32({2, 3})}, {{"shape", Shape{4, 3}}}),
            "expand cannot broadcast f32[2,3] with shape [4,3]");
  EXPECT_EQ(inferStr(OpKind::Expand, {f32({2, 3})}, {{"shape", Shape{-1, 3}}}),
            "expand shape [-1,3] has a negative size");
}

// ----- pad --------------------------------------------------------------------

TEST(Pad, Modes) {
  Tensor p = make(DType::F32, {2, 3}, {1, 2, 3, 4, 5, 6});
  // np.pad(p, ((0,1),(1,2)), constant_values=9)
  EXPECT_RESULT(run(OpKind::Pad, {p},
                    {{"pads", Shape{0, 1, 1, 2}}, {"value", 9.0}}),
                "f32[3,6]",
                {9, 1, 2, 3, 9, 9, 9, 4, 5, 6, 9, 9, 9, 9, 9, 9, 9, 9});
  // np.pad(p, ((1,1),(2,2)), mode='reflect')
  EXPECT_RESULT(run(OpKind::Pad, {p},
                    {{"pads", Shape{1, 2, 1, 2}},
                     {"mode", std::string("reflect")}}),
                "f32[4,7]",
                {6, 5, 4, 5, 6, 5, 4, 3, 2, 1, 2, 3, 2, 1,
                  6, 5, 4, 5, 6, 5, 4, 3, 2, 1, 2, 3, 2, 1});
  // np.pad(p, ((1,0),(2,1)), mode='edge')
  EXPECT_RESULT(run(OpKind::Pad, {p},
                    {{"pads", Shape{1, 2, 0, 1}},
                     {"mode", std::string("edge")}}),
                "f32[3,6]",
                {1, 1, 1, 2, 3, 3, 1, 1, 1, 2, 3, 3, 4, 4, 4, 5, 6, 6});
  // Default: constant 0. np.pad(np.array([5.]), 1)
  EXPECT_RESULT(run(OpKind::Pad, {make(DType::F32, {1}, {5})},
                    {{"pads", Shape{1, 1}}}),
                "f32[3]", {0, 5, 0});
  // Constant padding of an empty axis (by hand).
  EXPECT_RESULT(run(OpKind::Pad, {iota({0})},
                    {{"pads", Shape{1, 1}}, {"value", 2.0}}),
                "f32[2]", {2, 2});
}

TEST(Pad, NegativePadsCrop) {
  Tensor p = make(DType::F32, {2, 3}, {1, 2, 3, 4, 5, 6});
  // Crop the first column, pad a row: np.pad(p[:,1:], ((0,1),(0,0)))
  EXPECT_RESULT(run(OpKind::Pad, {p}, {{"pads", Shape{0, -1, 1, 0}}}),
                "f32[3,2]", {2, 3, 5, 6, 0, 0});
  // Crop then reflect the cropped data:
  // np.pad(p[:,1:], ((0,0),(0,1)), mode='reflect')
  EXPECT_RESULT(run(OpKind::Pad, {p},
                    {{"pads", Shape{0, -1, 0, 1}},
                     {"mode", std::string("reflect")}}),
                "f32[2,3]", {2, 3, 2, 5, 6, 5});
  // Only cropping: p[1:, 1:2]
  EXPECT_RESULT(run(OpKind::Pad, {p}, {{"pads", Shape{-1, -1, 0, -1}}}),
                "f32[1,1]", {5});
  // Crop everything.
  EXPECT_RESULT(run(OpKind::Pad, {p}, {{"pads", Shape{0, -2, 0, -1}}}),
                "f32[2,0]", {});
}

TEST(Pad, ValueConvertsToDType) {
  // Stores convert as Tensor::setElementFromDouble: truncate, saturate.
  EXPECT_RESULT(run(OpKind::Pad, {make(DType::I32, {1}, {7})},
                    {{"pads", Shape{1, 0}}, {"value", 2.7}}),
                "i32[2]", {2, 7});
  EXPECT_RESULT(run(OpKind::Pad, {make(DType::U8, {1}, {7})},
                    {{"pads", Shape{0, 1}}, {"value", -1.0}}),
                "u8[2]", {7, 0});
  EXPECT_RESULT(run(OpKind::Pad, {make(DType::Bool, {1}, {0})},
                    {{"pads", Shape{1, 1}}, {"value", 3.0}}),
                "bool[3]", {1, 0, 1});
  EXPECT_RESULT(run(OpKind::Pad, {make(DType::F16, {1}, {1})},
                    {{"pads", Shape{0, 1}}, {"value", -0.5}}),
                "f16[2]", {1, -0.5});
}

TEST(Pad, Errors) {
  EXPECT_EQ(inferStr(OpKind::Pad, {f32({2, 3})},
                     {{"pads", Shape{0, 3, 0, 0}},
                      {"mode", std::string("reflect")}}),
            "pad mode 'reflect' needs pads smaller than the dim: axis 1 of "
            "f32[2,3] has 3 elements, pads are 3 and 0");
  EXPECT_EQ(inferStr(OpKind::Pad, {f32({2, 3})},
                     {{"pads", Shape{0, -1, 0, 2}},
                      {"mode", std::string("reflect")}}),
            "pad mode 'reflect' needs pads smaller than the dim: axis 1 of "
            "f32[2,3] has 2 elements after cropping, pads are -1 and 2");
  EXPECT_EQ(inferStr(OpKind::Pad, {f32({2, 3})},
                     {{"pads", Shape{0, 0, 0, 0}},
                      {"mode", std::string("wrap")}}),
            "pad mode 'wrap' is not one of 'constant', 'reflect', 'edge'");
  EXPECT_EQ(inferStr(OpKind::Pad, {f32({2, 3})}, {{"pads", Shape{1, 1}}}),
            "pad pads [1,1] must have 4 values (all begins, then all ends) "
            "for f32[2,3]");
  EXPECT_EQ(inferStr(OpKind::Pad, {f32({2, 3})}, {{"pads", Shape{0, -2, 0, -2}}}),
            "pad pads [0,-2,0,-2] crop more than the 3 elements of axis 1 of "
            "f32[2,3]");
  EXPECT_EQ(inferStr(OpKind::Pad, {f32({0, 3})},
                     {{"pads", Shape{1, 0, 0, 0}},
                      {"mode", std::string("edge")}}),
            "pad mode 'edge' cannot pad axis 0 of f32[0,3]: it has no elements");
  EXPECT_EQ(inferStr(OpKind::Pad, {f32({2})}, {{"pads", Shape{kMax, kMax}}}),
            "pad result size along axis 0 overflows int64");
  EXPECT_EQ(inferStr(OpKind::Pad, {f32({2})}, {{"pads", Shape{kMin, 0}}}),
            "pad pads [-9223372036854775808,0] crop more than the 2 elements "
            "of axis 0 of f32[2]");
}

// ----- squeeze, unsqueeze, flatten ---------------------------------------------

TEST(Squeeze, ShapesAndErrors) {
  EXPECT_EQ(inferStr(OpKind::Squeeze, {f32({1, 3, 1, 2})}), "f32[3,2]");
  EXPECT_EQ(inferStr(OpKind::Squeeze, {f32({1, 3, 1, 2})},
                     {{"axes", Shape{-2}}}),
            "f32[1,3,2]");
  EXPECT_EQ(inferStr(OpKind::Squeeze, {f32({1, 1})}), "f32[]");
  // An explicit empty list squeezes nothing.
  EXPECT_EQ(inferStr(OpKind::Squeeze, {f32({1, 3})}, {{"axes", Shape{}}}),
            "f32[1,3]");
  EXPECT_EQ(inferStr(OpKind::Squeeze, {f32({1, 3})}, {{"axes", Shape{1}}}),
            "squeeze axis 1 of f32[1,3] has size 3, not 1");
  EXPECT_EQ(inferStr(OpKind::Squeeze, {f32({1, 3})}, {{"axes", Shape{0, -2}}}),
            "squeeze axes [0,-2] name axis 0 twice");
  EXPECT_EQ(inferStr(OpKind::Squeeze, {f32({1, 3})}, {{"axes", Shape{2}}}),
            "squeeze axis 2 is out of range for f32[1,3] (valid: -2 to 1)");
}

TEST(Unsqueeze, ShapesAndErrors) {
  EXPECT_EQ(inferStr(OpKind::Unsqueeze, {f32({3})}, {{"axes", Shape{0, -1}}}),
            "f32[1,3,1]");
  EXPECT_EQ(inferStr(OpKind::Unsqueeze, {f32({2, 3})}, {{"axes", Shape{1}}}),
            "f32[2,1,3]");
  EXPECT_EQ(inferStr(OpKind::Unsqueeze, {f32({})}, {{"axes", Shape{0}}}),
            "f32[1]");
  EXPECT_EQ(inferStr(OpKind::Unsqueeze, {f32({3})}, {{"axes", Shape{2, 0}}}),
            "f32[1,3,1]");
  EXPECT_EQ(inferStr(OpKind::Unsqueeze, {f32({3})}, {{"axes", Shape{0, -3}}}),
            "unsqueeze axes [0,-3] name axis 0 twice");
  EXPECT_EQ(inferStr(OpKind::Unsqueeze, {f32({3})}, {{"axes", Shape{2}}}),
            "unsqueeze axis 2 is out of range for the result rank 2 of f32[3] "
            "(valid: -2 to 1)");
}

TEST(Flatten, ShapesAndErrors) {
  EXPECT_EQ(inferStr(OpKind::Flatten, {f32({2, 3, 4})}), "f32[2,12]");
  EXPECT_EQ(inferStr(OpKind::Flatten, {f32({2, 3, 4})}, {{"axis", int64_t{0}}}),
            "f32[1,24]");
  EXPECT_EQ(inferStr(OpKind::Flatten, {f32({2, 3, 4})}, {{"axis", int64_t{3}}}),
            "f32[24,1]");
  EXPECT_EQ(inferStr(OpKind::Flatten, {f32({2, 3, 4})},
                     {{"axis", int64_t{-1}}}),
            "f32[6,4]");
  EXPECT_EQ(inferStr(OpKind::Flatten, {f32({})}, {{"axis", int64_t{0}}}),
            "f32[1,1]");
  EXPECT_EQ(inferStr(OpKind::Flatten, {f32({2, 3, 4})}, {{"axis", int64_t{4}}}),
            "flatten axis 4 is out of range for f32[2,3,4] (valid: -3 to 3)");
}

TEST(ReshapeLike, Eval) {
  // Squeeze, unsqueeze and flatten keep the row-major element order.
  EXPECT_RESULT(run(OpKind::Squeeze, {iota({1, 3, 1})}), "f32[3]", {0, 1, 2});
  EXPECT_RESULT(run(OpKind::Unsqueeze, {iota({3})}, {{"axes", Shape{-1}}}),
                "f32[3,1]", {0, 1, 2});
  EXPECT_RESULT(run(OpKind::Flatten, {iota({2, 1, 2})}), "f32[2,2]",
                {0, 1, 2, 3});
}

// ----- every dtype ---------------------------------------------------------

/// Values 0..5 (0/1 alternating for bool), in the dtype.
Tensor sixValues(DType dt) {
  if (dt == DType::Bool)
    return make(dt, {2, 3}, {0, 1, 1, 0, 0, 1});
  return make(dt, {2, 3}, {0, 1, 2, 3, 4, 5});
}

TEST(AllDTypes, MovesElementsUnchanged) {
  for (DType dt : kAllDTypes) {
    SCOPED_TRACE(std::string(dtypeName(dt)));
    Tensor x = sixValues(dt);
    std::vector<double> v = values(x);
    // Transpose: element (i,j) of the result is x(j,i): order 0,3,1,4,2,5.
    absl::StatusOr<Tensor> t = run(OpKind::Transpose, {x});
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(values(*t), (std::vector<double>{v[0], v[3], v[1], v[4], v[2],
                                               v[5]}));
    // x[:, ::-2] takes columns 2 and 0.
    absl::StatusOr<Tensor> s =
        run(OpKind::Slice, {x},
            {{"starts", Shape{-1}}, {"ends", Shape{kMin}},
             {"axes", Shape{1}}, {"steps", Shape{-2}}});
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(values(*s), (std::vector<double>{v[2], v[0], v[5], v[3]}));
    // gather rows [1, 0].
    absl::StatusOr<Tensor> g = run(OpKind::Gather, {x, makeI64({2}, {1, 0})});
    ASSERT_TRUE(g.ok()) << g.status();
    EXPECT_EQ(values(*g), (std::vector<double>{v[3], v[4], v[5], v[0], v[1],
                                               v[2]}));
    // concat along axis 0 with itself, then edge-pad one column at the end.
    absl::StatusOr<Tensor> c =
        run(OpKind::Concat, {x, x}, {{"axis", int64_t{0}}});
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->type().shape, (Shape{4, 3}));
    absl::StatusOr<Tensor> p =
        run(OpKind::Pad, {x},
            {{"pads", Shape{0, 0, 0, 1}}, {"mode", std::string("edge")}});
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(values(*p), (std::vector<double>{v[0], v[1], v[2], v[2], v[3],
                                               v[4], v[5], v[5]}));
    // expand [2,3] -> [2,2,3] repeats the whole tensor.
    absl::StatusOr<Tensor> e =
        run(OpKind::Expand, {x}, {{"shape", Shape{2, 1, 1}}});
    ASSERT_TRUE(e.ok()) << e.status();
    std::vector<double> twice = v;
    twice.insert(twice.end(), v.begin(), v.end());
    EXPECT_EQ(values(*e), twice);
  }
}

TEST(Interpret, ChainOfShapeOps) {
  // A small graph through the whole interpreter:
  // y = flatten(transpose(reshape(x, [3,2]))), by hand from x = 0..5:
  // reshape [[0,1],[2,3],[4,5]], transpose [[0,2,4],[1,3,5]].
  GraphBuilder b("chain");
  Value *x = b.input("x", f32({6}));
  Value *r = b.reshape({x}, {{"shape", Shape{3, 2}}}).value();
  Value *t = b.transpose({r}).value();
  Value *f = b.flatten({t}, {{"axis", int64_t{0}}}).value();
  b.output("y", f);
  std::unique_ptr<Graph> g = b.finish().value();
  absl::StatusOr<std::vector<Tensor>> out = interpret(*g, {iota({6})});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].type().str(), "f32[1,6]");
  EXPECT_EQ(values((*out)[0]), (std::vector<double>{0, 2, 4, 1, 3, 5}));
}

} // namespace

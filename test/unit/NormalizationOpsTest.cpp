//===- NormalizationOpsTest.cpp - Type inference and reference semantics ---===//
//
// Expected values are computed independently with NumPy/PyTorch in float64
// (formulas in the comments) and rounded to the result dtype, pasted with 9
// significant digits; special cases by hand.
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

/// As run, with absent optional operands (nullopt) allowed.
absl::StatusOr<Tensor> runOptional(OpKind kind,
                                   std::vector<std::optional<Tensor>> inputs,
                                   Attributes attrs = {}) {
  GraphBuilder b("t");
  std::vector<Value *> operands;
  std::vector<Tensor> args;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i]) {
      operands.push_back(nullptr);
      continue;
    }
    operands.push_back(b.input("x" + std::to_string(i), inputs[i]->type()));
    args.push_back(*inputs[i]);
  }
  absl::StatusOr<Value *> v = b.create(kind, operands, attrs);
  if (!v.ok())
    return v.status();
  b.output("y", *v);
  absl::StatusOr<std::unique_ptr<Graph>> g = b.finish();
  if (!g.ok())
    return g.status();
  absl::StatusOr<std::vector<Tensor>> r = interpret(**g, args);
  if (!r.ok())
    return r.status();
  return (*r)[0];
}

/// inferError with absent operands (nullopt).
std::string inferErrorOptional(OpKind kind,
                               std::vector<std::optional<TensorType>> types,
                               Attributes attrs = {}) {
  const OpInfo &info = opInfo(kind);
  std::vector<std::string> problems = normalizeAttributes(info, attrs);
  if (!problems.empty())
    return "attribute problem: " + problems.front();
  std::vector<const TensorType *> ptrs;
  for (const std::optional<TensorType> &t : types)
    ptrs.push_back(t ? &*t : nullptr);
  absl::StatusOr<std::vector<TensorType>> r = inferResultTypes(info, ptrs, attrs);
  return r.ok() ? "" : std::string(r.status().message());
}

// ----- batch_norm --------------------------------------------------------------

// scale, bias, mean, var of the 3 channels.
const std::vector<double> kScale = {1, 2, -1}, kBias = {0.5, 0, -1},
                          kMean = {0, 1, -2}, kVar = {1, 4, 0.25};

TEST(BatchNorm, Rank3AndRank2) {
  // xb = np.arange(12).reshape(2, 3, 2) - 5;
  // (xb - mean[:, None]) / np.sqrt(var[:, None] + 1e-5) * scale[:, None] + bias[:, None]
  std::vector<double> xv = {-5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6};
  Tensor x = make(DType::F32, {2, 3, 2}, xv);
  auto p = [](const std::vector<double> &v) { return make(DType::F32, {3}, v); };
  Tensor y = runOk(OpKind::BatchNorm, {x, p(kScale), p(kBias), p(kMean), p(kVar)});
  expectType(y, DType::F32, {2, 3, 2});
  expectValues(y, {-4.4999752, -3.49997997, -3.99999499, -2.99999619,
                   -2.99995995, -4.99991989, 1.49999499, 2.49998999, 1.9999975,
                   2.99999619, -14.9997196, -16.9996796},
               2e-7);
  // Rank 2 ([4, 3], channels last dim), epsilon 0.1:
  // (xb.reshape(4, 3) - mean) / np.sqrt(var + 0.1) * scale + bias
  Tensor y2 = runOk(OpKind::BatchNorm,
                    {make(DType::F32, {4, 3}, xv), p(kScale), p(kBias), p(kMean), p(kVar)},
                    {{"epsilon", 0.1}});
  expectType(y2, DType::F32, {4, 3});
  expectValues(y2, {-4.267313, -4.93864775, 0.690308511, -1.4069252, -1.97545922,
                    -4.38061714, 1.4534626, 0.987729609, -9.45154285, 4.3138504,
                    3.95091844, -14.5224676},
               2e-7);
  // f16: np.float16 of the float64 result.
  auto h = [](const std::vector<double> &v) { return make(DType::F16, {3}, v); };
  Tensor yh = runOk(OpKind::BatchNorm, {make(DType::F16, {1, 3}, {1, 2, 3}),
                                        h(kScale), h(kBias), h(kMean), h(kVar)});
  expectType(yh, DType::F16, {1, 3});
  expectValues(yh, {1.5, 1, -11});
}

TEST(BatchNorm, Errors) {
  TensorType c3(DType::F32, {3});
  auto bn = [&](TensorType x, TensorType scale) {
    return inferError(OpKind::BatchNorm, {x, scale, c3, c3, c3});
  };
  EXPECT_EQ(bn(TensorType(DType::F32, {3}), c3),
            "operand 'x' of 'batch_norm' must have rank 2 to 6, got f32[3]");
  EXPECT_EQ(bn(TensorType(DType::F32, {2, 4, 5}), c3),
            "operand 'scale' of 'batch_norm' must be 1-D of size 4 (the "
            "channels, axis 1, of x: f32[2,4,5]), got f32[3]");
  EXPECT_EQ(bn(TensorType(DType::F32, {2, 3}), TensorType(DType::F32, {1, 3})),
            "operand 'scale' of 'batch_norm' must be 1-D of size 3 (the "
            "channels, axis 1, of x: f32[2,3]), got f32[1,3]");
  EXPECT_EQ(bn(TensorType(DType::F32, {2, 3}), TensorType(DType::F16, {3})),
            "operands of 'batch_norm' have different dtypes: x is f32[2,3], "
            "scale is f16[3]");
  TensorType i3(DType::I32, {3});
  EXPECT_EQ(inferError(OpKind::BatchNorm,
                       {TensorType(DType::I32, {2, 3}), i3, i3, i3, i3}),
            "operand 'x' of 'batch_norm' must have a float type, got i32[2,3]");
  EXPECT_EQ(inferError(OpKind::BatchNorm,
                       {TensorType(DType::F32, {2, 3}), c3, c3, c3, c3},
                       {{"epsilon", -1.0}}),
            "epsilon of 'batch_norm' must be finite and >= 0, got -1.0");
  EXPECT_EQ(inferError(OpKind::BatchNorm,
                       {TensorType(DType::F32, {2, 3, 8}, "nc8c"), c3, c3, c3, c3}),
            "operand 'x' of 'batch_norm' must have the plain layout, got "
            "f32[2,3,8]<nc8c>");
}

// ----- layer_norm --------------------------------------------------------------

// ln(x, axis, s, b, eps): ax = range(axis, x.ndim); m = x.mean(ax);
// v = ((x - m)**2).mean(ax); y = (x - m) / np.sqrt(v + eps) * s + b.
const std::vector<double> kLnX = {1, 2, 3, 4, 0, -2};

TEST(LayerNorm, LastAxisWithoutAffine) {
  Tensor y = runOk(OpKind::LayerNorm, {make(DType::F32, {2, 3}, kLnX)});
  expectType(y, DType::F32, {2, 3});
  expectValues(y, {-1.22473574, 0, 1.22473574, 1.33630514, -0.267261028,
                   -1.06904411},
               2e-7);
  expectValues(runOk(OpKind::LayerNorm, {make(DType::F32, {2, 3}, kLnX)},
                     {{"epsilon", 0.5}}),
               {-0.925820112, 0, 0.925820112, 1.2856487, -0.257129729,
                -1.02851892},
               2e-7);
  // f16 in, f16 out (np.float16 of the float64 result).
  Tensor h = runOk(OpKind::LayerNorm, {make(DType::F16, {2, 3}, kLnX)});
  expectType(h, DType::F16, {2, 3});
  expectValues(h, {-1.224609375, 0.0, 1.224609375, 1.3359375, -0.267333984375,
                   -1.0693359375});
}

TEST(LayerNorm, AxisAndBroadcastAffine) {
  // x3 = np.float32(np.arange(12).reshape(2, 2, 3) ** 1.5) (the f32 input
  // this test builds, widened to float64), axis 1, scale [1, -2, 0.5]
  // (broadcast over [2, 3]), bias [[0, 1, 2], [3, 4, 5]].
  std::vector<double> x3;
  for (int i = 0; i < 12; ++i)
    x3.push_back(std::pow(i, 1.5));
  Tensor x = make(DType::F32, {2, 2, 3}, x3);
  Tensor scale = make(DType::F32, {3}, {1, -2, 0.5});
  Tensor bias = make(DType::F32, {2, 3}, {0, 1, 2, 3, 4, 5});
  absl::StatusOr<Tensor> y =
      runOptional(OpKind::LayerNorm, {x, scale, bias}, {{"axis", int64_t{1}}});
  ASSERT_TRUE(y.ok()) << y.status();
  expectType(*y, DType::F32, {2, 2, 3});
  expectValues(*y, {-1.19779027, 2.88597155, 1.76145291, 3.12621284, 2.3187077,
                    5.82550573, -1.403543, 2.78118587, 1.83021879, 3.24707842,
                    2.26542759, 5.75966692},
               2e-7);
  // Scale only, of shape [1, 3] over the normalized shape [3] of axis -1:
  absl::StatusOr<Tensor> s = runOptional(
      OpKind::LayerNorm, {x, make(DType::F32, {1, 3}, {2, 1, 0.5}), std::nullopt});
  ASSERT_FALSE(s.ok()) << "[1,3] does not broadcast to [3] without changing it";
  // ... but [3] does; here with axis 2 (rows of 3):
  // ln(x3, 2, np.array([2, 1, 0.5])).
  absl::StatusOr<Tensor> s2 = runOptional(
      OpKind::LayerNorm, {x, make(DType::F32, {3}, {2, 1, 0.5}), std::nullopt},
      {{"axis", int64_t{2}}});
  ASSERT_TRUE(s2.ok()) << s2.status();
  expectValues(*s2, {-2.17939448, -0.235797822, 0.662747562, -2.39653778,
                     -0.0513355546, 0.624802232, -2.41974926, -0.0292165317,
                     0.619545579, -2.42880154, -0.0204316415, 0.617416203},
               2e-7);
  // Bias only: ln(x, 1, None, [1, 2, 3]) on [2, 3].
  absl::StatusOr<Tensor> b = runOptional(
      OpKind::LayerNorm,
      {make(DType::F32, {2, 3}, kLnX), std::nullopt, make(DType::F32, {3}, {1, 2, 3})});
  ASSERT_TRUE(b.ok()) << b.status();
  expectValues(*b, {-0.224735692, 2, 4.22473574, 2.33630514, 1.73273897,
                    1.93095589},
               2e-7);
  // A constant row has variance 0: (x - mean) = 0, so y = bias (by hand).
  absl::StatusOr<Tensor> c = runOptional(
      OpKind::LayerNorm, {make(DType::F32, {1, 2}, {5, 5}), std::nullopt,
                          make(DType::F32, {2}, {-1, 1})});
  ASSERT_TRUE(c.ok()) << c.status();
  expectValues(*c, {-1, 1});
}

TEST(LayerNorm, Errors) {
  TensorType x(DType::F32, {2, 4, 3});
  EXPECT_EQ(inferErrorOptional(OpKind::LayerNorm,
                               {x, TensorType(DType::F32, {5}), std::nullopt},
                               {{"axis", int64_t{1}}}),
            "operand 'scale' of 'layer_norm' must broadcast to the normalized "
            "shape [4,3] (x.shape[1:] of f32[2,4,3]) without changing it, got "
            "f32[5]");
  EXPECT_EQ(inferErrorOptional(OpKind::LayerNorm,
                               {x, std::nullopt, TensorType(DType::F32, {2, 4, 3})},
                               {{"axis", int64_t{-2}}}),
            "operand 'bias' of 'layer_norm' must broadcast to the normalized "
            "shape [4,3] (x.shape[1:] of f32[2,4,3]) without changing it, got "
            "f32[2,4,3]");
  EXPECT_EQ(inferErrorOptional(OpKind::LayerNorm,
                               {x, TensorType(DType::F32, {4, 1}), std::nullopt},
                               {{"axis", int64_t{1}}}),
            "");
  EXPECT_EQ(inferErrorOptional(OpKind::LayerNorm,
                               {x, TensorType(DType::F16, {3}), std::nullopt}),
            "operands of 'layer_norm' have different dtypes: x is f32[2,4,3], "
            "scale is f16[3]");
  EXPECT_EQ(inferErrorOptional(OpKind::LayerNorm, {x}, {{"axis", int64_t{3}}}),
            "axis 3 of 'layer_norm' is out of range for rank 3 (valid: -3 to 2)");
  EXPECT_EQ(inferErrorOptional(OpKind::LayerNorm, {TensorType(DType::I8, {2})}),
            "operand 'x' of 'layer_norm' must have a float type, got i8[2]");
  EXPECT_EQ(inferErrorOptional(OpKind::LayerNorm, {TensorType(DType::F32, {})}),
            "operand 'x' of 'layer_norm' must have rank 1 to 6, got f32[]");
}

// ----- softmax, log_softmax ------------------------------------------------------

TEST(Softmax, Axes) {
  // torch.softmax / torch.log_softmax of float64 [[1, 2, 3], [4, 0, -2]].
  Tensor x = make(DType::F32, {2, 3}, kLnX);
  Tensor s = runOk(OpKind::Softmax, {x});
  expectType(s, DType::F32, {2, 3});
  expectValues(s, {0.0900305733, 0.244728476, 0.665240943, 0.979629219,
                   0.0179425348, 0.00242825807},
               2e-7);
  expectValues(runOk(OpKind::Softmax, {x}, {{"axis", int64_t{0}}}),
               {0.0474258736, 0.880797088, 0.993307173, 0.952574134,
                0.119202919, 0.00669285096},
               2e-7);
  expectValues(runOk(OpKind::LogSoftmax, {x}),
               {-2.40760589, -1.40760601, -0.407605976, -0.0205811393,
                -4.02058125, -6.02058125},
               2e-7);
  expectValues(runOk(OpKind::LogSoftmax, {x}, {{"axis", int64_t{-2}}}),
               {-3.04858732, -0.126928017, -0.00671534846, -0.048587352,
                -2.12692809, -5.0067153},
               2e-7);
  // Middle axis of a rank-3 tensor: x3 = np.float32(0.3 * ((np.arange(24)**2
  // % 11) - 4)) reshaped to [2, 3, 4], widened to float64;
  // torch.softmax(x3, 1), torch.log_softmax(x3, -3).
  std::vector<double> x3;
  for (int i = 0; i < 24; ++i)
    x3.push_back(0.3 * ((i * i % 11) - 4));
  Tensor t = make(DType::F32, {2, 3, 4}, x3);
  expectValues(runOk(OpKind::Softmax, {t}, {{"axis", int64_t{1}}}),
               {0.0491124839, 0.189332202, 0.46568206, 0.730780602, 0.2201069,
                0.344985753, 0.344985753, 0.2201069, 0.730780602, 0.46568206,
                0.189332202, 0.0491124839, 0.189332202, 0.46568206, 0.730780602,
                0.216388807, 0.344985753, 0.344985753, 0.2201069, 0.718436122,
                0.46568206, 0.189332202, 0.0491124839, 0.0651750565},
               2e-7);
  expectValues(runOk(OpKind::LogSoftmax, {t}, {{"axis", int64_t{-3}}}),
               {-0.854355276, -1.24115384, -1.70141327, -0.263282478,
                -0.43748793, -0.693147182, -1.03748798, -1.46328247,
                -0.201413274, -0.34115389, -0.554355204, -0.854355276,
                -0.554355204, -0.34115389, -0.201413274, -1.46328247,
                -1.03748798, -0.693147182, -0.43748793, -0.263282478,
                -1.70141327, -1.24115384, -0.854355276, -0.554355204},
               2e-7);
}

TEST(Softmax, StableAndSpecialValues) {
  // Subtracting the maximum keeps exp from overflowing (torch, float64).
  Tensor big = make(DType::F32, {3}, {1000, 1001, 1002});
  expectValues(runOk(OpKind::Softmax, {big}),
               {0.0900305733, 0.244728476, 0.665240943}, 2e-7);
  expectValues(runOk(OpKind::LogSoftmax, {big}),
               {-2.40760589, -1.40760601, -0.407605976}, 2e-7);
  // By hand, matching PyTorch: a NaN or a +inf poisons its row; -inf gets
  // probability 0 (log: -inf); a row of only -inf is NaN.
  Tensor x = make(DType::F32, {4, 2},
                  {kNaN, 1, kInf, 1, -kInf, 1, -kInf, -kInf});
  expectValues(runOk(OpKind::Softmax, {x}),
               {kNaN, kNaN, kNaN, kNaN, 0, 1, kNaN, kNaN});
  expectValues(runOk(OpKind::LogSoftmax, {x}),
               {kNaN, kNaN, kNaN, kNaN, -kInf, 0, kNaN, kNaN});
  // f16: np.float16 of the float64 softmax of [1, 2, 3].
  Tensor h = runOk(OpKind::Softmax, {make(DType::F16, {3}, {1, 2, 3})});
  expectType(h, DType::F16, {3});
  expectValues(h, {0.09002685546875, 0.2447509765625, 0.6650390625});
  // Size-0 dimensions give empty results.
  expectType(runOk(OpKind::Softmax, {make(DType::F32, {0, 3}, {})}),
             DType::F32, {0, 3});
  expectType(runOk(OpKind::LogSoftmax, {make(DType::BF16, {2, 0}, {})}),
             DType::BF16, {2, 0});
}

TEST(Softmax, Errors) {
  EXPECT_EQ(inferError(OpKind::Softmax, {TensorType(DType::F32, {2, 3})},
                       {{"axis", int64_t{2}}}),
            "axis 2 of 'softmax' is out of range for rank 2 (valid: -2 to 1)");
  EXPECT_EQ(inferError(OpKind::LogSoftmax, {TensorType(DType::F32, {2, 3})},
                       {{"axis", int64_t{-3}}}),
            "axis -3 of 'log_softmax' is out of range for rank 2 (valid: -2 to 1)");
  EXPECT_EQ(inferError(OpKind::Softmax, {TensorType(DType::I32, {2})}),
            "operand 'x' of 'softmax' must have a float type, got i32[2]");
  EXPECT_EQ(inferError(OpKind::Softmax, {TensorType(DType::F32, {})}),
            "operand 'x' of 'softmax' must have rank 1 to 6, got f32[]");
}

} // namespace

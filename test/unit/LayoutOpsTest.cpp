//===- LayoutOpsTest.cpp - to_blocked, from_blocked, the blocked conv, pool ===//
//
// Type inference (shapes and error messages) and reference semantics: the
// reorders by hand and as a round trip, and conv2d_blocked against
// from_blocked-free arithmetic: conv2d + bias + residual + activation of the
// reference conv2d on the same random data, the weight packed here by its
// definition (an oracle independent of passes/SelectLayout.cpp); and
// max_pool2d_blocked against to_blocked(max_pool2d(x)); and
// depthwise_conv2d_blocked against conv2d with groups = C, likewise.
//
//===----------------------------------------------------------------------===//
#include "OpTestSupport.h"
#include "ir/Interpreter.h"
#include "ir/OpTable.h"

#include <gtest/gtest.h>

#include <random>

using namespace tcpu;
using namespace tcpu::optest;

namespace {

using Ints = std::vector<int64_t>;

Tensor randomF32(Shape shape, std::mt19937 &rng) {
  std::uniform_real_distribution<double> d(-1.0, 1.0);
  Tensor t = Tensor::allocate(f32(std::move(shape))).value();
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.setElementFromDouble(i, d(rng));
  return t;
}

/// W [OC, IC, KH, KW] -> [OCb, ICb, KH, KW, Bi, Bo], zero-padded.
Tensor packWeight(const Tensor &w, int64_t bi, int64_t bo) {
  const Shape &s = w.shape();
  int64_t ocb = (s[0] + bo - 1) / bo, icb = (s[1] + bi - 1) / bi;
  Tensor p = Tensor::allocate(f32({ocb, icb, s[2], s[3], bi, bo})).value();
  for (int64_t i = 0; i < p.numElements(); ++i)
    p.setElementFromDouble(i, 0.0);
  for (int64_t o = 0; o < s[0]; ++o)
    for (int64_t c = 0; c < s[1]; ++c)
      for (int64_t kh = 0; kh < s[2]; ++kh)
        for (int64_t kw = 0; kw < s[3]; ++kw)
          p.setElementFromDouble(
              ((((o / bo * icb + c / bi) * s[2] + kh) * s[3] + kw) * bi + c % bi) *
                      bo + o % bo,
              w.elementAsDouble(((o * s[1] + c) * s[2] + kh) * s[3] + kw));
  return p;
}

Tensor padBias(const Tensor &b, int64_t n) {
  Tensor p = Tensor::allocate(f32({n})).value();
  for (int64_t i = 0; i < n; ++i)
    p.setElementFromDouble(i, i < b.numElements() ? b.elementAsDouble(i) : 0.0);
  return p;
}

/// The blocked convs' epilogue by hand on a conv's result: + residual, then
/// relu or clip to [-0.5, 0.75] (the bounds the tests use).
std::vector<double> withEpilogue(const Tensor &conv, const Tensor *residual,
                                 const std::string &act) {
  std::vector<double> v = valuesOf(conv);
  for (size_t i = 0; i < v.size(); ++i) {
    if (residual)
      v[i] += residual->elementAsDouble(static_cast<int64_t>(i));
    if (act == "relu")
      v[i] = std::max(v[i], 0.0);
    if (act == "clip")
      v[i] = std::min(std::max(v[i], -0.5), 0.75);
  }
  return v;
}

} // namespace

TEST(LayoutInfer, Shapes) {
  EXPECT_EQ(typeOf(inferTypes(OpKind::ToBlocked, {f32({2, 20, 5, 7})},
                              {{"block", int64_t(8)}})),
            "f32[2,3,5,7,8]");
  EXPECT_EQ(typeOf(inferTypes(OpKind::FromBlocked, {f32({2, 3, 5, 7, 8})},
                              {{"channels", int64_t(20)}})),
            "f32[2,20,5,7]");
  EXPECT_EQ(typeOf(inferTypes(OpKind::Conv2dBlocked,
                              {f32({1, 4, 56, 56, 16}), f32({8, 4, 3, 3, 16, 16}),
                               f32({128}), f32({1, 8, 28, 28, 16})},
                              {{"strides", Ints{2, 2}}, {"pads", Ints{1, 1, 1, 1}}})),
            "f32[1,8,28,28,16]");
  // Plain input: Bi = 1, ICb = C.
  EXPECT_EQ(typeOf(inferTypes(OpKind::Conv2dBlocked,
                              {f32({8, 3, 224, 224}), f32({4, 3, 7, 7, 1, 16})},
                              {{"strides", Ints{2, 2}}, {"pads", Ints{3, 3, 3, 3}}})),
            "f32[8,4,112,112,16]");
}

TEST(LayoutInfer, Errors) {
  auto err = [](OpKind k, std::vector<TensorType> t, Attributes a = {}) {
    return errorOf(inferTypes(k, std::move(t), std::move(a)));
  };
  EXPECT_EQ(err(OpKind::ToBlocked, {f32({2, 3, 4})}, {{"block", int64_t(8)}}),
            "operand 'x' of 'to_blocked' must have rank 4, got f32[2,3,4]");
  EXPECT_EQ(err(OpKind::ToBlocked, {f32({1, 3, 4, 4})}, {{"block", int64_t(0)}}),
            "to_blocked block must be positive, got 0");
  EXPECT_EQ(err(OpKind::FromBlocked, {f32({1, 3, 4, 4, 8})}, {{"channels", int64_t(16)}}),
            "from_blocked channels = 16 does not fit x f32[1,3,4,4,8]: expected 17 "
            "to 24");
  EXPECT_EQ(err(OpKind::Conv2dBlocked, {f32({1, 4, 8, 8, 8}), f32({2, 3, 3, 3, 8, 8})}),
            "conv2d_blocked weight f32[2,3,3,3,8,8] does not match x "
            "f32[1,4,8,8,8]: expected [OCb, 4, KH, KW, 8, Bo]");
  EXPECT_EQ(err(OpKind::Conv2dBlocked, {f32({1, 3, 8, 8}), f32({2, 3, 3, 3, 8, 8})}),
            "conv2d_blocked weight f32[2,3,3,3,8,8] does not match x "
            "f32[1,3,8,8]: expected [OCb, 3, KH, KW, 1, Bo]");
  EXPECT_EQ(err(OpKind::Conv2dBlocked,
                {f32({1, 1, 8, 8, 8}), f32({2, 1, 3, 3, 8, 8}), f32({15})}),
            "conv2d_blocked bias f32[15] does not match weight f32[2,1,3,3,8,8] "
            "(expected [16])");
  EXPECT_EQ(err(OpKind::Conv2dBlocked,
                {f32({1, 1, 8, 8, 8}), f32({2, 1, 3, 3, 8, 8}), f32({16}),
                 f32({1, 2, 8, 8, 8})}),
            "conv2d_blocked residual f32[1,2,8,8,8] does not match the result "
            "f32[1,2,6,6,8]");
  EXPECT_EQ(err(OpKind::Conv2dBlocked, {f32({1, 1, 8, 8, 8}), f32({2, 1, 3, 3, 8, 8})},
                {{"activation", std::string("tanh")}}),
            "conv2d_blocked activation must be \"none\", \"relu\" or \"clip\", "
            "got \"tanh\"");
  EXPECT_EQ(err(OpKind::Conv2dBlocked, {f32({1, 1, 2, 2, 8}), f32({2, 1, 3, 3, 8, 8})}),
            "conv2d_blocked output would be empty: x f32[1,1,2,2,8], weight "
            "f32[2,1,3,3,8,8], pads [0, 0, 0, 0], dilations [1, 1]");
  EXPECT_EQ(err(OpKind::Conv2dBlocked, {f32({1, 1, 8, 8, 8}), f32({2, 1, 3, 3, 8, 8})},
                {{"strides", Ints{1, 0}}}),
            "conv2d_blocked strides must be 2 positive integers, got [1, 0]");
  EXPECT_EQ(err(OpKind::Conv2dBlocked,
                {f32({1, 1, 8, 8, 8}), TensorType(DType::F16, {2, 1, 3, 3, 8, 8})}),
            "operand 'weight' of 'conv2d_blocked' must have dtype f32, got f16[2,1,3,3,8,8]");
}

TEST(LayoutEval, ToBlockedByHand) {
  // C = 3, B = 2: channel 2 goes to block 1 lane 0; lane 1 of block 1 is 0.
  Tensor x = makeF32({1, 3, 1, 2}, {1, 2, 3, 4, 5, 6});
  Tensor y = runOk(OpKind::ToBlocked, {x}, {{"block", int64_t(2)}});
  expectType(y, DType::F32, {1, 2, 1, 2, 2});
  expectValues(y, {1, 3, 2, 4, 5, 0, 6, 0});
}

TEST(LayoutEval, RoundTrip) {
  std::mt19937 rng(7);
  for (int64_t c : {1, 5, 8, 13, 16}) {
    Tensor x = randomF32({2, c, 3, 4}, rng);
    Tensor b = runOk(OpKind::ToBlocked, {x}, {{"block", int64_t(8)}});
    Tensor back = runOk(OpKind::FromBlocked, {b}, {{"channels", c}});
    EXPECT_TRUE(back.identical(x)) << "c = " << c;
  }
}

TEST(LayoutEval, Conv2dBlockedMatchesConv2d) {
  std::mt19937 rng(11);
  struct Case {
    int64_t n, c, h, w, oc, k, bi, bo;
    Ints strides, pads, dil;
    std::string act;
    bool bias, residual;
  };
  std::vector<Case> cases = {
      {1, 5, 7, 6, 11, 3, 4, 8, {1, 1}, {1, 1, 1, 1}, {1, 1}, "relu", true, true},
      {2, 3, 9, 9, 8, 3, 1, 8, {2, 2}, {1, 0, 2, 1}, {1, 1}, "none", false, false},
      {1, 16, 6, 8, 20, 1, 8, 4, {1, 2}, {0, 0, 0, 0}, {1, 1}, "clip", true, false},
      {1, 8, 10, 10, 8, 3, 8, 8, {1, 1}, {2, 2, 2, 2}, {2, 2}, "none", true, true},
  };
  for (const Case &k : cases) {
    SCOPED_TRACE(testing::Message() << "c=" << k.c << " oc=" << k.oc);
    Tensor x = randomF32({k.n, k.c, k.h, k.w}, rng);
    Tensor w = randomF32({k.oc, k.c, k.k, k.k}, rng);
    Tensor bias = randomF32({k.oc}, rng);
    Attributes ca{{"strides", k.strides}, {"pads", k.pads}, {"dilations", k.dil}};
    Tensor ref = k.bias ? runOk(OpKind::Conv2d, {x, w, bias}, ca)
                        : runOk(OpKind::Conv2d, {x, w}, ca);
    Tensor res = randomF32(ref.shape(), rng);
    std::vector<double> want =
        withEpilogue(ref, k.residual ? &res : nullptr, k.act);
    int64_t ocb = (k.oc + k.bo - 1) / k.bo;
    Tensor xb = k.bi == 1 ? x : runOk(OpKind::ToBlocked, {x}, {{"block", k.bi}});
    Tensor rb = runOk(OpKind::ToBlocked, {res}, {{"block", k.bo}});
    Attributes ba = ca;
    ba.set("activation", k.act);
    if (k.act == "clip") {
      ba.set("clip_min", -0.5);
      ba.set("clip_max", 0.75);
    }
    std::vector<Tensor> ops = {xb, packWeight(w, k.bi, k.bo)};
    // The test graph cannot leave a middle operand out: a residual without
    // bias gets a zero bias.
    Tensor noBias = Tensor::allocate(f32({0})).value();
    if (k.bias || k.residual)
      ops.push_back(padBias(k.bias ? bias : noBias, ocb * k.bo));
    if (k.residual)
      ops.push_back(rb);
    Tensor yb = runOk(OpKind::Conv2dBlocked, ops, ba);
    Tensor y = runOk(OpKind::FromBlocked, {yb}, {{"channels", k.oc}});
    expectClose(y, want, 1e-6);
  }
}

// ----- depthwise_conv2d_blocked --------------------------------------------

TEST(LayoutInfer, DepthwiseConv2dBlocked) {
  // MobileNetV2's stride-2 depthwise conv: 96 channels, 112 -> 56.
  EXPECT_EQ(typeOf(inferTypes(OpKind::DepthwiseConv2dBlocked,
                              {f32({1, 6, 112, 112, 16}), f32({6, 3, 3, 16}),
                               f32({96}), f32({1, 6, 56, 56, 16})},
                              {{"strides", Ints{2, 2}}, {"pads", Ints{1, 1, 1, 1}}})),
            "f32[1,6,56,56,16]");
  auto err = [](std::vector<TensorType> t, Attributes a = {}) {
    return errorOf(inferTypes(OpKind::DepthwiseConv2dBlocked, std::move(t),
                              std::move(a)));
  };
  EXPECT_EQ(err({f32({1, 2, 8, 8, 8}), f32({3, 3, 3, 8})}),
            "depthwise_conv2d_blocked weight f32[3,3,3,8] does not match x "
            "f32[1,2,8,8,8]: expected [2, KH, KW, 8]");
  EXPECT_EQ(err({f32({1, 2, 8, 8}), f32({2, 3, 3, 8})}),
            "operand 'x' of 'depthwise_conv2d_blocked' must have rank 5, got "
            "f32[1,2,8,8]");
  EXPECT_EQ(err({f32({1, 2, 8, 8, 8}), f32({2, 3, 3, 8}), f32({8})}),
            "depthwise_conv2d_blocked bias f32[8] does not match weight "
            "f32[2,3,3,8] (expected [16])");
  EXPECT_EQ(err({f32({1, 2, 8, 8, 8}), f32({2, 3, 3, 8}), f32({16}),
                 f32({1, 2, 8, 8, 8})}),
            "depthwise_conv2d_blocked residual f32[1,2,8,8,8] does not match "
            "the result f32[1,2,6,6,8]");
}

TEST(LayoutEval, DepthwiseConv2dBlockedMatchesGroupedConv2d) {
  std::mt19937 rng(13);
  struct Case {
    int64_t n, c, h, w, k, b;
    Ints strides, pads, dil;
    std::string act;
    bool bias, residual;
  };
  std::vector<Case> cases = {
      {1, 24, 7, 6, 3, 16, {1, 1}, {1, 1, 1, 1}, {1, 1}, "clip", true, true},
      {2, 5, 9, 9, 3, 4, {2, 2}, {1, 0, 2, 1}, {1, 1}, "none", false, false},
      {1, 16, 10, 10, 3, 8, {1, 2}, {2, 2, 2, 2}, {2, 1}, "relu", true, false},
      {1, 3, 6, 8, 5, 8, {1, 1}, {2, 2, 2, 2}, {1, 1}, "none", false, true},
  };
  for (const Case &k : cases) {
    SCOPED_TRACE(testing::Message() << "c=" << k.c << " b=" << k.b);
    Tensor x = randomF32({k.n, k.c, k.h, k.w}, rng);
    Tensor w = randomF32({k.c, 1, k.k, k.k}, rng);
    Tensor bias = randomF32({k.c}, rng);
    Attributes ca{{"strides", k.strides}, {"pads", k.pads},
                  {"dilations", k.dil}, {"groups", k.c}};
    Tensor ref = k.bias ? runOk(OpKind::Conv2d, {x, w, bias}, ca)
                        : runOk(OpKind::Conv2d, {x, w}, ca);
    Tensor res = randomF32(ref.shape(), rng);
    std::vector<double> want =
        withEpilogue(ref, k.residual ? &res : nullptr, k.act);
    // W [C, 1, KH, KW] -> [Cb, KH, KW, B] by the op's definition.
    int64_t cb = (k.c + k.b - 1) / k.b;
    Tensor wb = Tensor::allocate(f32({cb, k.k, k.k, k.b})).value();
    for (int64_t i = 0; i < wb.numElements(); ++i)
      wb.setElementFromDouble(i, 0.0);
    for (int64_t c = 0; c < k.c; ++c)
      for (int64_t t = 0; t < k.k * k.k; ++t)
        wb.setElementFromDouble(((c / k.b) * k.k * k.k + t) * k.b + c % k.b,
                                w.elementAsDouble(c * k.k * k.k + t));
    Attributes ba{{"strides", k.strides}, {"pads", k.pads},
                  {"dilations", k.dil}, {"activation", k.act}};
    if (k.act == "clip") {
      ba.set("clip_min", -0.5);
      ba.set("clip_max", 0.75);
    }
    std::vector<Tensor> ops = {
        runOk(OpKind::ToBlocked, {x}, {{"block", k.b}}), wb};
    Tensor noBias = Tensor::allocate(f32({0})).value();
    if (k.bias || k.residual)
      ops.push_back(padBias(k.bias ? bias : noBias, cb * k.b));
    if (k.residual)
      ops.push_back(runOk(OpKind::ToBlocked, {res}, {{"block", k.b}}));
    Tensor yb = runOk(OpKind::DepthwiseConv2dBlocked, ops, ba);
    // Padding lanes stay zero (no clip here excludes 0).
    std::vector<double> yv = valuesOf(yb);
    for (size_t i = 0; i < yv.size(); ++i) {
      if (int64_t(i) / (yb.shape()[2] * yb.shape()[3] * k.b) % cb == cb - 1 &&
          (cb - 1) * k.b + int64_t(i) % k.b >= k.c)
        EXPECT_EQ(yv[i], 0.0) << "padding lane at " << i;
    }
    Tensor y = runOk(OpKind::FromBlocked, {yb}, {{"channels", k.c}});
    expectClose(y, want, 1e-6);
  }
}

// ----- max_pool2d_blocked --------------------------------------------------

TEST(LayoutInfer, MaxPool2dBlocked) {
  auto infer = [](std::vector<TensorType> t, Attributes a) {
    return inferTypes(OpKind::MaxPool2dBlocked, std::move(t), std::move(a));
  };
  // The ResNet stem pool, and ceil_mode adding a last, overhanging window.
  EXPECT_EQ(typeOf(infer({f32({1, 4, 112, 112, 16})},
                         {{"kernel", Ints{3, 3}}, {"strides", Ints{2, 2}},
                          {"pads", Ints{1, 1, 1, 1}}})),
            "f32[1,4,56,56,16]");
  EXPECT_EQ(typeOf(infer({f32({2, 3, 7, 6, 8})},
                         {{"kernel", Ints{3, 3}}, {"strides", Ints{2, 2}},
                          {"ceil_mode", int64_t(1)}})),
            "f32[2,3,3,3,8]");
  auto err = [&](std::vector<TensorType> t, Attributes a) {
    return errorOf(infer(std::move(t), std::move(a)));
  };
  EXPECT_EQ(err({f32({1, 4, 8, 8})}, {{"kernel", Ints{2, 2}}}),
            "operand 'x' of 'max_pool2d_blocked' must have rank 5, got f32[1,4,8,8]");
  EXPECT_EQ(err({TensorType(DType::F16, {1, 1, 8, 8, 8})}, {{"kernel", Ints{2, 2}}}),
            "operand 'x' of 'max_pool2d_blocked' must have dtype f32, got "
            "f16[1,1,8,8,8]");
  EXPECT_EQ(err({f32({1, 1, 8, 8, 8})}, {{"kernel", Ints{2}}}),
            "max_pool2d_blocked kernel must be 2 positive integers, got [2]");
  EXPECT_EQ(err({f32({1, 1, 8, 8, 8})},
                {{"kernel", Ints{2, 2}}, {"pads", Ints{0, 2, 0, 0}}}),
            "max_pool2d_blocked pads [0, 2, 0, 0] must be smaller than the "
            "dilated kernel [2, 2] (dilations [1, 1])");
  EXPECT_EQ(err({f32({1, 1, 8, 2, 8})}, {{"kernel", Ints{3, 3}}}),
            "max_pool2d_blocked output would be empty: x f32[1,1,8,2,8], kernel "
            "[3, 3], pads [0, 0, 0, 0], dilations [1, 1]");
}

/// The op's definition: max_pool2d_blocked(to_blocked(x)) =
/// to_blocked(max_pool2d(x)), on random data with NaNs (which propagate) and
/// channels that leave padding lanes (which pool their zeros to 0).
TEST(LayoutEval, MaxPool2dBlockedMatchesMaxPool2d) {
  std::mt19937 rng(5);
  struct Case {
    Shape x;
    int64_t block;
    Ints kernel, strides, pads, dil;
    int64_t ceil;
  };
  std::vector<Case> cases = {
      {{1, 5, 9, 8}, 4, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 0},
      {{2, 8, 6, 7}, 8, {2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 1},
      {{1, 3, 10, 9}, 2, {3, 2}, {1, 3}, {2, 0, 1, 1}, {2, 1}, 1},
      {{1, 9, 4, 4}, 16, {1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 0},
  };
  for (const Case &k : cases) {
    SCOPED_TRACE(testing::Message() << "block " << k.block << " kernel "
                                    << k.kernel[0] << "x" << k.kernel[1]);
    Tensor x = randomF32(k.x, rng);
    for (int64_t i = 0; i < x.numElements(); i += 17)
      x.setElementFromDouble(i, std::nan(""));
    Attributes a{{"kernel", k.kernel}, {"strides", k.strides},
                 {"pads", k.pads}, {"dilations", k.dil}, {"ceil_mode", k.ceil}};
    Attributes blockAttr{{"block", k.block}};
    Tensor want = runOk(OpKind::ToBlocked,
                        {runOk(OpKind::MaxPool2d, {x}, a)}, blockAttr);
    Tensor got = runOk(OpKind::MaxPool2dBlocked,
                       {runOk(OpKind::ToBlocked, {x}, blockAttr)}, a);
    EXPECT_TRUE(got.identical(want));
  }
}

/// A window of dilation holes alone reaches no input position: -inf, as
/// max_pool2d gives, in every lane.
TEST(LayoutEval, MaxPool2dBlockedEmptyWindow) {
  Tensor x = makeF32({1, 1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor y = runOk(OpKind::MaxPool2dBlocked, {x},
                   {{"kernel", Ints{1, 2}}, {"pads", Ints{0, 2, 0, 2}},
                    {"dilations", Ints{1, 3}}});
  expectType(y, DType::F32, {1, 1, 1, 3, 2});
  expectValues(y, {3, 4, -INFINITY, -INFINITY, 1, 2});
}

//===- BlockedDepthwiseCodegenTest.cpp - depthwise_conv2d_blocked kernel -===//
//
// The compiled kernel against the reference interpreter on random data,
// fallback off, within rtol 1e-5 plus an absolute 2e-6 * (taps): the kernel
// sums in f32 in another order than the double reference (inputs and
// weights in [-1, 1]). Cases cover MobileNetV2's shapes (3x3, stride 1 and
// 2, pad 1, widths 56/28/14/7, channels 16, 24, 40 with padding lanes),
// asymmetric pads, dilation, 5x5 and 7x7 windows, widths below the tile and a
// 1-wide output, bias/residual/relu/clip, 1 to 3 threads, and 8 lanes
// (haswell, block 8) as well as the host's width (block 16).
//
//===----------------------------------------------------------------------===//
#include "CodegenTestSupport.h"

namespace tcpu {
namespace {

using Ints = std::vector<int64_t>;

struct DwCase {
  int64_t n, c, h, w, k;
  Ints strides, pads, dil;
  int64_t block;
  bool bias, residual;
  std::string act;
};

Tensor uniform(const TensorType &t, std::mt19937_64 &rng) {
  return cgtest::randomTensor(t, rng, -1, 1, /*specials=*/false);
}

int64_t outSize(int64_t in, int64_t k, int64_t s, int64_t p0, int64_t p1,
                int64_t d) {
  return (in + p0 + p1 - d * (k - 1) - 1) / s + 1;
}

/// x (and residual) as graph inputs, a random weight and bias as
/// constants; outputs: the blocked result and its from_blocked.
std::unique_ptr<Graph> buildGraph(const DwCase &k, std::mt19937_64 &rng) {
  GraphBuilder b("dw");
  Value *x = b.input("x", TensorType(DType::F32, {k.n, k.c, k.h, k.w}));
  int64_t cb = (k.c + k.block - 1) / k.block;
  int64_t oh = outSize(k.h, k.k, k.strides[0], k.pads[0], k.pads[2], k.dil[0]);
  int64_t ow = outSize(k.w, k.k, k.strides[1], k.pads[1], k.pads[3], k.dil[1]);
  Value *xb = b.toBlocked({x}, {{"block", k.block}}).value();
  Value *w = b.constant(
      uniform(TensorType(DType::F32, {cb, k.k, k.k, k.block}), rng));
  std::vector<Value *> operands = {xb, w, nullptr};
  if (k.bias)
    operands[2] =
        b.constant(uniform(TensorType(DType::F32, {cb * k.block}), rng));
  if (k.residual) {
    Value *r = b.input("r", TensorType(DType::F32, {k.n, k.c, oh, ow}));
    operands.push_back(b.toBlocked({r}, {{"block", k.block}}).value());
  }
  Attributes a = cgtest::blockedConvAttrs(k.strides, k.pads, k.dil, k.act);
  absl::StatusOr<Value *> y = b.depthwiseConv2dBlocked(operands, a);
  EXPECT_TRUE(y.ok()) << y.status();
  b.output("yb", *y);
  b.output("y", b.fromBlocked({*y}, {{"channels", k.c}}).value());
  absl::StatusOr<std::unique_ptr<Graph>> g = b.finish();
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? std::move(*g) : nullptr;
}

void check(const DwCase &k, int threads, const std::string &cpu) {
  SCOPED_TRACE(testing::Message()
               << "c=" << k.c << " " << k.h << "x" << k.w << " k=" << k.k
               << " s=" << k.strides[0] << "," << k.strides[1] << " block="
               << k.block << " act=" << k.act << " threads=" << threads
               << " cpu=" << (cpu.empty() ? "host" : cpu));
  std::mt19937_64 rng(k.c * 131 + k.h * 7 + k.k);
  std::unique_ptr<Graph> g = buildGraph(k, rng);
  ASSERT_TRUE(g);
  std::vector<Tensor> inputs;
  for (const Value *in : g->inputs())
    inputs.push_back(uniform(in->type, rng));
  CompileOptions options;
  options.allowInterpreterFallback = false;
  options.threads = threads;
  options.cpu = cpu;
  cgtest::expectCloseToInterpreter(*g, inputs, 1e-5, 2e-6 * k.k * k.k,
                                   options);
}

/// Cases with block 16; the haswell test runs them with block 8.
const std::vector<DwCase> &cases() {
  static const std::vector<DwCase> c = {
      // MobileNetV2: 3x3 pad 1 stride 1 and 2 at widths 56, 28, 14, 7.
      {1, 16, 56, 56, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 16, true, false, "clip"},
      {1, 24, 56, 56, 3, {2, 2}, {1, 1, 1, 1}, {1, 1}, 16, true, false, "clip"},
      {1, 40, 28, 28, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 16, true, true, "relu"},
      {1, 40, 14, 14, 3, {2, 2}, {1, 1, 1, 1}, {1, 1}, 16, true, false, "none"},
      {2, 24, 7, 7, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 16, true, true, "clip"},
      // Asymmetric pads, odd sizes, no bias, rectangular strides.
      {1, 24, 13, 10, 3, {2, 1}, {0, 2, 1, 0}, {1, 1}, 16, false, true, "none"},
      // Dilation 2 and a 5x5 window with pad 2.
      {1, 16, 12, 11, 3, {1, 1}, {2, 2, 2, 2}, {2, 2}, 16, true, false, "relu"},
      {1, 40, 9, 14, 5, {1, 1}, {2, 2, 2, 2}, {1, 1}, 16, true, false, "clip"},
      // 7x7 (ConvNeXt): weights loaded per tile rather than per row.
      {1, 24, 10, 13, 7, {1, 1}, {3, 3, 3, 3}, {1, 1}, 16, true, true, "none"},
      // Widths below the tile, a 1-wide output, no padding.
      {1, 24, 5, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 16, true, true, "relu"},
      {2, 16, 6, 1, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 16, false, false, "none"},
      {1, 16, 8, 20, 3, {1, 1}, {0, 0, 0, 0}, {1, 1}, 16, true, false, "none"},
  };
  return c;
}

TEST(BlockedDepthwiseCodegen, HostWidth) {
  for (const DwCase &k : cases())
    check(k, 1, "");
}

TEST(BlockedDepthwiseCodegen, Threads) {
  for (int threads : {2, 3})
    for (size_t i : {0, 1, 4, 5})
      check(cases()[i], threads, "");
}

TEST(BlockedDepthwiseCodegen, EightLanesHaswell) {
  for (DwCase k : cases()) {
    k.block = 8;
    check(k, 2, "haswell");
  }
}

} // namespace
} // namespace tcpu

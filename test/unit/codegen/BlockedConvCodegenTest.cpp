//===- BlockedConvCodegenTest.cpp - to_blocked, from_blocked, conv2d_blocked ===//
//
// The compiled kernels against the reference interpreter on random data,
// fallback off: the reorders exactly, the conv within rtol 1e-5 plus an
// absolute 2e-6 * (number of products): the kernel sums in f32 in another
// order than the double reference, so its error grows with the window
// (inputs and weights are in [-1, 1]). Cases cover stride 1 and 2, pads,
// dilation, 1x1/3x3/7x7 kernels, channels not a multiple of the block, a
// plain NCHW input, widths below the register tile, 7x7 and 1-wide
// outputs (border tiles only), rows whose border tiles take interior
// columns, several passes over the input blocks, tail groups at batch > 1,
// bias/residual/relu/clip, constant (repacked) and input weights, 1 to 3
// threads, and 8 lanes (haswell) as well as the host's width.
//
//===----------------------------------------------------------------------===//
#include "CodegenTestSupport.h"

namespace tcpu {
namespace {

using Ints = std::vector<int64_t>;

struct ConvCase {
  int64_t n, c, h, w, oc, kh, kw;
  Ints strides, pads, dil;
  int64_t bi, bo; // bi = 1: plain input
  bool bias, residual;
  std::string act;
  /// w a graph input instead of a constant: the kernel reads it as stored
  /// (a constant is repacked by output-block group at compile time).
  bool weightInput = false;
};

Tensor uniform(const TensorType &t, std::mt19937_64 &rng) {
  return cgtest::randomTensor(t, rng, -1, 1, /*specials=*/false);
}

/// x (and residual) as graph inputs, a random prepacked weight and bias as
/// constants; outputs: the blocked conv result, its from_blocked, and the
/// to_blocked of x.
std::unique_ptr<Graph> buildGraph(const ConvCase &k, std::mt19937_64 &rng) {
  GraphBuilder b("blocked");
  TensorType xt(DType::F32, {k.n, k.c, k.h, k.w});
  Value *x = b.input("x", xt);
  int64_t icb = k.bi == 1 ? k.c : (k.c + k.bi - 1) / k.bi;
  int64_t ocb = (k.oc + k.bo - 1) / k.bo;
  int64_t oh = (k.h + k.pads[0] + k.pads[2] - k.dil[0] * (k.kh - 1) - 1) /
                   k.strides[0] + 1;
  int64_t ow = (k.w + k.pads[1] + k.pads[3] - k.dil[1] * (k.kw - 1) - 1) /
                   k.strides[1] + 1;
  Value *xb = k.bi == 1 ? x : b.toBlocked({x}, {{"block", k.bi}}).value();
  TensorType wt(DType::F32, {ocb, icb, k.kh, k.kw, k.bi, k.bo});
  Value *w = k.weightInput ? b.input("w", wt) : b.constant(uniform(wt, rng));
  std::vector<Value *> operands = {xb, w, nullptr};
  if (k.bias)
    operands[2] = b.constant(uniform(TensorType(DType::F32, {ocb * k.bo}), rng));
  if (k.residual) {
    Value *r = b.input("r", TensorType(DType::F32, {k.n, k.oc, oh, ow}));
    operands.push_back(b.toBlocked({r}, {{"block", k.bo}}).value());
  }
  Attributes a = cgtest::blockedConvAttrs(k.strides, k.pads, k.dil, k.act);
  absl::StatusOr<Value *> y = b.conv2dBlocked(operands, a);
  EXPECT_TRUE(y.ok()) << y.status();
  b.output("yb", *y);
  b.output("y", b.fromBlocked({*y}, {{"channels", k.oc}}).value());
  if (k.bi > 1)
    b.output("xb", xb);
  absl::StatusOr<std::unique_ptr<Graph>> g = b.finish();
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? std::move(*g) : nullptr;
}

void check(const ConvCase &k, int threads, const std::string &cpu) {
  SCOPED_TRACE(testing::Message()
               << "c=" << k.c << " oc=" << k.oc << " " << k.h << "x" << k.w
               << " k=" << k.kh << "x" << k.kw << " bi=" << k.bi << " bo="
               << k.bo << " act=" << k.act << " threads=" << threads
               << " cpu=" << (cpu.empty() ? "host" : cpu));
  std::mt19937_64 rng(k.c * 131 + k.oc * 7 + k.h);
  std::unique_ptr<Graph> g = buildGraph(k, rng);
  ASSERT_TRUE(g);
  std::vector<Tensor> inputs;
  for (const Value *in : g->inputs())
    inputs.push_back(uniform(in->type, rng));
  absl::StatusOr<std::vector<Tensor>> want = interpret(*g, inputs);
  ASSERT_TRUE(want.ok()) << want.status();
  CompileOptions options;
  options.allowInterpreterFallback = false;
  options.threads = threads;
  options.cpu = cpu;
  absl::StatusOr<std::unique_ptr<CompiledModel>> model = compile(*g, options);
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<std::vector<Tensor>> got = (*model)->run(inputs);
  ASSERT_TRUE(got.ok()) << got.status();
  const double products = double(k.c) * k.kh * k.kw;
  for (size_t o = 0; o < want->size(); ++o) {
    const Tensor &gt = (*got)[o], &wt = (*want)[o];
    ASSERT_EQ(gt.type(), wt.type());
    // to_blocked is a copy: exact. The conv outputs: see the file comment.
    bool exact = g->outputs()[o].name == "xb";
    int failures = 0;
    for (int64_t i = 0; i < gt.numElements(); ++i) {
      double a = gt.dataAs<float>()[i], e = wt.dataAs<float>()[i];
      double tol = exact ? 0 : 1e-5 * std::fabs(e) + 2e-6 * products;
      if (!(std::fabs(a - e) <= tol) && failures++ < 5)
        ADD_FAILURE() << g->outputs()[o].name << " element " << i << ": got "
                      << a << ", want " << e;
    }
  }
}

const std::vector<ConvCase> &cases() {
  static const std::vector<ConvCase> c = {
      // 3x3 pad 1, residual + relu (the ResNet block), C a multiple of B.
      {1, 16, 9, 13, 16, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 8, 8, true, true, "relu"},
      // Stride 2, C and OC not multiples of the block, asymmetric pads.
      {2, 13, 11, 10, 21, 3, 3, {2, 2}, {1, 0, 2, 1}, {1, 1}, 8, 8, true, false, "none"},
      // 1x1 stride 2 (downsample), no bias, block 16.
      {1, 24, 8, 8, 40, 1, 1, {2, 2}, {0, 0, 0, 0}, {1, 1}, 16, 16, false, false, "none"},
      // Dilation 2 and clip.
      {1, 8, 12, 12, 12, 3, 3, {1, 1}, {2, 2, 2, 2}, {2, 2}, 8, 8, true, false, "clip"},
      // The stem: plain 3-channel input, 7x7 stride 2 pad 3.
      {2, 3, 23, 30, 20, 7, 7, {2, 2}, {3, 3, 3, 3}, {1, 1}, 1, 16, true, false, "relu"},
      // Widths below the tile: 3x2 output, 5 output blocks (a tail group).
      {1, 16, 3, 2, 40, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 8, 8, true, true, "relu"},
      // 200 KB of weights per input block (more than an L1), 7 blocks:
      // one pass per input block (partial sums in the output), then
      // residual and relu.
      {1, 100, 9, 11, 64, 7, 7, {1, 1}, {3, 3, 3, 3}, {1, 1}, 16, 16, true, true, "relu"},
      // Residual without bias; rectangular kernel; Bi != Bo.
      {1, 10, 7, 9, 9, 1, 3, {1, 2}, {0, 1, 0, 1}, {1, 1}, 4, 8, false, true, "none"},
      // ResNet's layer4 shapes, scaled down: a 7x7 output with pad 1 (every
      // tile a border tile, whose kw taps share input columns), several
      // passes of input blocks, residual + relu.
      {1, 96, 7, 7, 64, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 16, 16, true, true, "relu"},
      // Its stride-2 conv: 14x14 -> 7x7.
      {1, 48, 14, 14, 64, 3, 3, {2, 2}, {1, 1, 1, 1}, {1, 1}, 16, 16, true, false, "relu"},
      // 1-wide output (a single border column), 8-wide blocks.
      {2, 24, 5, 1, 24, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 8, 8, true, false, "none"},
      // Rows of border tiles widened with interior columns (14 = 4 + 6 + 4
      // at 16 lanes), batch 3 and 5 output blocks (a tail group): rows are
      // ordered (group, n, oh), tasks split groups.
      {3, 32, 5, 14, 80, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 16, 16, true, true, "relu"},
      // The same with w a graph input (read unpacked), and a 20-wide row
      // (interior tiles between widened borders).
      {3, 32, 4, 20, 80, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, 16, 16, true, true, "relu", true},
      // No padding: no border columns; the leftover columns still form
      // tiles of at least half the tile width.
      {2, 16, 3, 7, 40, 1, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}, 8, 8, false, false, "none", true},
  };
  return c;
}

TEST(BlockedConvCodegen, HostWidth) {
  for (const ConvCase &k : cases())
    check(k, 1, "");
}

TEST(BlockedConvCodegen, Threads) {
  for (int threads : {2, 3})
    for (size_t i : {0, 1, 4, 8, 9, 11, 12})
      check(cases()[i], threads, "");
}

TEST(BlockedConvCodegen, EightLanesHaswell) {
  for (const ConvCase &k : cases())
    check(k, 2, "haswell");
}

} // namespace
} // namespace tcpu

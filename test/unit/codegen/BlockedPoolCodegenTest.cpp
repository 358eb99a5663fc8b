//===- BlockedPoolCodegenTest.cpp - max_pool2d_blocked ----------------------===//
//
// The compiled blocked max pool against the reference interpreter, exactly
// (a max is exact; NaN matches NaN), fallback off, on random blocked inputs
// with specials (NaN, +-inf, -0): 3x3 s2 p1 (ResNet), 2x2 s2, ceil_mode,
// dilation (with windows that reach no input position), asymmetric pads,
// widths smaller than a vector and than the window, blocks of 8 and 16
// lanes, 1 to 3 threads, on the host's width and on 8 lanes (haswell).
// The graph also checks max_pool2d_blocked(to_blocked(x)) against
// to_blocked(max_pool2d(x)) through the interpreter, the op's definition.
//
//===----------------------------------------------------------------------===//
#include "CodegenTestSupport.h"

namespace tcpu {
namespace {

using Ints = std::vector<int64_t>;

struct PoolCase {
  Shape x; // blocked [N, Cb, H, W, B]
  Ints kernel, strides, pads, dil;
  int64_t ceil;
};

Attributes attrsOf(const PoolCase &k) {
  return Attributes{{"kernel", k.kernel},
                    {"strides", k.strides},
                    {"pads", k.pads},
                    {"dilations", k.dil},
                    {"ceil_mode", k.ceil}};
}

void check(const PoolCase &k, int threads, const std::string &cpu) {
  SCOPED_TRACE(testing::Message()
               << TensorType(DType::F32, k.x).str() << " kernel "
               << k.kernel[0] << "x" << k.kernel[1] << " threads=" << threads
               << " cpu=" << (cpu.empty() ? "host" : cpu));
  GraphBuilder b("pool");
  Value *x = b.input("x", TensorType(DType::F32, k.x));
  absl::StatusOr<Value *> y = b.maxPool2dBlocked({x}, attrsOf(k));
  ASSERT_TRUE(y.ok()) << y.status();
  b.output("y", *y);
  absl::StatusOr<std::unique_ptr<Graph>> g = b.finish();
  ASSERT_TRUE(g.ok()) << g.status();
  std::mt19937_64 rng(k.x[2] * 31 + k.x[3] * 7 + k.kernel[0] + threads);
  std::vector<Tensor> inputs = {
      cgtest::randomTensor(TensorType(DType::F32, k.x), rng)};
  CompileOptions options;
  options.allowInterpreterFallback = false;
  options.threads = threads;
  options.cpu = cpu;
  cgtest::expectMatchesInterpreter(**g, inputs, 0, options);
}

const std::vector<PoolCase> &cases() {
  static const std::vector<PoolCase> c = {
      // The ResNet stem pool: 3x3 stride 2 pad 1.
      {{1, 4, 14, 15, 16}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 0},
      // 2x2 stride 2, no padding, two images, 8 lanes.
      {{2, 3, 8, 9, 8}, {2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 0},
      // ceil_mode: the last windows hang past the end.
      {{1, 2, 10, 11, 8}, {3, 3}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 1},
      {{1, 2, 9, 6, 16}, {3, 2}, {2, 3}, {1, 0, 1, 1}, {1, 1}, 1},
      // Dilation 2, asymmetric pads; dilation 3 on a 2-wide plane: the
      // second output column only has taps outside the 2-wide input (-inf).
      {{1, 2, 11, 12, 8}, {3, 3}, {1, 2}, {2, 1, 0, 2}, {2, 2}, 0},
      {{1, 1, 5, 2, 16}, {2, 2}, {1, 1}, {0, 2, 0, 2}, {1, 3}, 0},
      // Widths smaller than a vector and than the window.
      {{1, 3, 3, 2, 16}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 0},
      {{1, 1, 1, 1, 8}, {2, 2}, {1, 1}, {1, 1, 0, 0}, {1, 1}, 0},
      // A 7x7 window over a 7x7 plane (global), a 1x1 window (a copy).
      {{1, 2, 7, 7, 16}, {7, 7}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 0},
      {{1, 2, 4, 5, 8}, {1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 0},
  };
  return c;
}

TEST(BlockedPoolCodegen, HostWidth) {
  for (const PoolCase &k : cases())
    check(k, 1, "");
}

TEST(BlockedPoolCodegen, Threads) {
  for (int threads : {2, 3})
    for (size_t i : {0, 1, 3, 5})
      check(cases()[i], threads, "");
}

TEST(BlockedPoolCodegen, EightLanesHaswell) {
  for (const PoolCase &k : cases())
    check(k, 2, "haswell");
}

/// Every element NaN but one: the NaN wins wherever its window reaches it,
/// and only there (PyTorch's rule, as max_pool2d).
TEST(BlockedPoolCodegen, NaNPropagates) {
  PoolCase k{{1, 1, 6, 6, 8}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 0};
  GraphBuilder b("pool");
  Value *x = b.input("x", TensorType(DType::F32, k.x));
  b.output("y", b.maxPool2dBlocked({x}, attrsOf(k)).value());
  std::unique_ptr<Graph> g = b.finish().value();
  Tensor t = Tensor::allocate(TensorType(DType::F32, k.x)).value();
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.mutableDataAs<float>()[i] = static_cast<float>(i % 13) - 6.0f;
  // Lane 3 of pixel (2, 2): in the windows of outputs (1, 1) only.
  t.mutableDataAs<float>()[(2 * 6 + 2) * 8 + 3] = NAN;
  CompileOptions options;
  options.allowInterpreterFallback = false;
  std::unique_ptr<CompiledModel> m = compile(*g, options).value();
  std::vector<Tensor> got = m->run({t}).value();
  const float *y = got[0].dataAs<float>();
  for (int64_t p = 0; p < 9; ++p)
    for (int64_t l = 0; l < 8; ++l)
      EXPECT_EQ(std::isnan(y[p * 8 + l]), p == 4 && l == 3) << p << " " << l;
  cgtest::expectMatchesInterpreter(*g, {t}, 0, options);
}

} // namespace
} // namespace tcpu

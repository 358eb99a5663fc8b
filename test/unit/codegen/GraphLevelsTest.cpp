//===- GraphLevelsTest.cpp - compile() at every graph optimization level --===//
//
// A small conv net (conv + batch_norm + relu, a residual add, reshapes, an
// elementwise tail) compiled at -O0 to -O3 must match the interpreter on the
// graph as written; the model reports its level, the time of the passes,
// their remarks and the memory plan. Tolerance: the compiled conv sums in
// another order than the interpreter (double) and the folded batch_norm
// rounds once instead of twice: 1e-4 of the output's magnitude.
//
//===----------------------------------------------------------------------===//
#include "CodegenTestSupport.h"
#include "../RandomWeights.h"

namespace tcpu {
namespace {

using cgtest::randomTensor;

std::unique_ptr<Graph> convNet(std::mt19937_64 &rng) {
  GraphBuilder b("convnet");
  auto rand = [&](Shape s, double lo, double hi) {
    return testsupport::randomConstant(b, rng, std::move(s), lo, hi);
  };
  auto bn = [&](Value *x, int64_t c) {
    return testsupport::randomBatchNorm(b, rng, x, c);
  };
  Value *x = b.input("x", TensorType(DType::F32, {2, 8, 10, 10}));
  Attributes pad;
  pad.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  Value *c1 = b.conv2d({x, rand({8, 8, 3, 3}, -0.3, 0.3), rand({8}, -1, 1)}, pad)
                  .value();
  Value *r1 = b.relu({bn(c1, 8)}).value();
  Value *c2 = b.conv2d({r1, rand({8, 8, 3, 3}, -0.3, 0.3)}, pad).value();
  Value *sum = b.add({bn(c2, 8), x}).value(); // the residual
  Value *r2 = b.relu({sum}).value();
  Attributes flat;
  flat.set("shape", std::vector<int64_t>{2, 800});
  Value *f = b.reshape({r2}, flat).value();
  Value *one = b.scalar(1.0);
  Value *s = b.sigmoid({b.mul({f, one}).value()}).value(); // x * 1: canonicalize
  Value *l = b.linear({s, rand({16, 800}, -0.05, 0.05), rand({16}, -1, 1)}).value();
  b.output("y", b.tanh({bn(l, 16)}).value());
  return b.finish().value();
}

TEST(GraphLevels, EveryLevelMatchesTheInterpreter) {
  std::mt19937_64 rng(3);
  auto g = convNet(rng);
  std::vector<Tensor> inputs = {randomTensor(g->inputs()[0]->type, rng, -1, 1, false)};
  std::vector<Tensor> want = interpret(*g, inputs).value();
  for (int level = 0; level <= 3; ++level) {
    CompileOptions options;
    options.graphOptLevel = level;
    options.allowInterpreterFallback = true;
    absl::StatusOr<std::unique_ptr<CompiledModel>> model = compile(*g, options);
    ASSERT_TRUE(model.ok()) << "-O" << level << ": " << model.status();
    EXPECT_EQ((*model)->graphOptLevel(), level);
    EXPECT_GE((*model)->graphPassSeconds(), 0);
    EXPECT_LE((*model)->graphPassSeconds(), (*model)->compileSeconds());
    EXPECT_GT((*model)->peakArenaBytes(), 0);
    EXPECT_LT((*model)->peakArenaBytes(), (*model)->naiveArenaBytes());
    std::vector<std::string> remarks = (*model)->passRemarks();
    int folded = 0;
    for (const std::string &r : remarks)
      folded += r.find("fold-batch-norm: applied") != std::string::npos;
    EXPECT_EQ(folded, level >= 2 ? 3 : 0) << "-O" << level;

    std::vector<Tensor> got = (*model)->run(inputs).value();
    ASSERT_EQ(got.size(), 1u);
    ASSERT_EQ(got[0].type(), want[0].type());
    double scale = 1e-6;
    for (int64_t k = 0; k < want[0].numElements(); ++k)
      scale = std::max(scale, std::fabs(want[0].elementAsDouble(k)));
    for (int64_t k = 0; k < want[0].numElements(); ++k)
      ASSERT_NEAR(got[0].elementAsDouble(k), want[0].elementAsDouble(k),
                  1e-4 * scale)
          << "-O" << level << " element " << k;
  }
}

TEST(GraphLevels, LevelsShrinkTheGraphAndAnUnknownLevelIsAnError) {
  std::mt19937_64 rng(4);
  auto g = convNet(rng);
  CompileOptions o0, o2;
  o2.graphOptLevel = 2;
  auto m0 = compile(*g, o0).value();
  auto m2 = compile(*g, o2).value();
  // Three batch_norms and the x * 1 are gone at -O2.
  EXPECT_LE(m2->compiledOps() + static_cast<int>(m2->fallbackOps().size()),
            m0->compiledOps() + static_cast<int>(m0->fallbackOps().size()) - 4);
  EXPECT_EQ(m0->graphPassSeconds(), 0);

  CompileOptions bad;
  bad.graphOptLevel = 5;
  absl::StatusOr<std::unique_ptr<CompiledModel>> m = compile(*g, bad);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(std::string(m.status().message()).find("level 5"), std::string::npos)
      << m.status();
}

} // namespace
} // namespace tcpu

//===- PassSemanticsTest.cpp - Every pass and level keeps every result ----===//
//
// Each graph of the pass lit tests (test/lit/passes/*.tir, split at
// '// -----') runs on the interpreter before and after every registered
// pass alone and every level's pipeline, on seeded random inputs: the
// outputs must keep their types and values. Values agree exactly except
// after fold-batch-norm, whose folded weights are rounded to f32 once
// (the original rounds the conv result and the batch_norm result
// separately), and after select-layout (see below): a relative 1e-5 of the
// output's magnitude there.
// Also: the level table itself, and fold-batch-norm on a conv net larger
// than the lit cases.
//
//===----------------------------------------------------------------------===//
#include "RandomWeights.h"

#include "ir/Builder.h"
#include "ir/DiagnosticVerifier.h"
#include "ir/Interpreter.h"
#include "ir/Parser.h"
#include "ir/Verifier.h"
#include "passes/Pipelines.h"
#include "passes/Remarks.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace tcpu {
namespace {

Tensor randomTensor(const TensorType &type, std::mt19937_64 &rng) {
  Tensor t = Tensor::allocate(type).value();
  std::uniform_real_distribution<double> real(-2, 2);
  for (int64_t i = 0, n = t.numElements(); i < n; ++i) {
    if (isFloat(type.dtype))
      t.setElementFromDouble(i, real(rng));
    else if (type.dtype == DType::Bool)
      t.setElementFromInt(i, rng() % 2);
    else
      t.setElementFromInt(i, static_cast<int64_t>(rng() % 300) - 150);
  }
  return t;
}

struct Case {
  std::string where; // file:line
  std::string text;
};

std::vector<Case> litCases() {
  std::vector<Case> cases;
  std::string dir = std::string(TCPU_SOURCE_DIR) + "/test/lit/passes";
  std::vector<std::filesystem::path> files;
  for (const auto &e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".tir")
      files.push_back(e.path());
  files.push_back(dir + "/Inputs/conv-bn.tir");
  std::sort(files.begin(), files.end());
  for (const auto &f : files) {
    std::ifstream in(f);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    for (const SourceChunk &c : splitInputFile(text))
      cases.push_back({f.filename().string() + ":" +
                           std::to_string(c.lineOffset + 1),
                       std::string(c.text)});
  }
  return cases;
}

/// Whether `a` and `b` agree: same types, and values equal (NaN matching
/// NaN) or, for floats, within rel * max|b|.
void expectSameOutputs(const std::vector<Tensor> &a, const std::vector<Tensor> &b,
                       double rel, const std::string &what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].type(), b[i].type()) << what << ": output " << i;
    double scale = 0;
    for (int64_t k = 0; k < b[i].numElements(); ++k)
      if (std::isfinite(b[i].elementAsDouble(k)))
        scale = std::max(scale, std::fabs(b[i].elementAsDouble(k)));
    for (int64_t k = 0; k < b[i].numElements(); ++k) {
      double x = a[i].elementAsDouble(k), y = b[i].elementAsDouble(k);
      if (std::isnan(x) && std::isnan(y))
        continue;
      if (rel == 0 || !std::isfinite(y))
        ASSERT_EQ(x, y) << what << ": output " << i << " element " << k;
      else
        ASSERT_NEAR(x, y, rel * scale) << what << ": output " << i
                                       << " element " << k;
    }
  }
}

void checkPipeline(const Graph &g, const std::vector<PipelineStep> &steps,
                   double rel, const std::string &what) {
  std::mt19937_64 rng(42);
  std::vector<Tensor> inputs;
  for (const Value *in : g.inputs())
    inputs.push_back(randomTensor(in->type, rng));
  absl::StatusOr<std::vector<Tensor>> want = interpret(g, inputs);
  // A graph that fails at run time (a gather index out of range, kept by
  // fold on purpose) has no results to keep; a pass may even remove the
  // failing op when it is dead.
  if (!want.ok())
    return;
  std::unique_ptr<Graph> opt = g.clone();
  absl::Status s = runPipeline(*opt, steps);
  ASSERT_TRUE(s.ok()) << what << ": " << s;
  ASSERT_EQ(opt->outputs().size(), g.outputs().size()) << what;
  for (size_t i = 0; i < g.outputs().size(); ++i)
    EXPECT_EQ(opt->outputs()[i].name, g.outputs()[i].name) << what;
  absl::StatusOr<std::vector<Tensor>> got = interpret(*opt, inputs);
  ASSERT_TRUE(got.ok()) << what << ": " << got.status();
  expectSameOutputs(*got, *want, rel, what);
}

TEST(PassSemantics, EveryPassAndLevelKeepsTheLitCasesResults) {
  std::vector<Case> cases = litCases();
  ASSERT_GT(cases.size(), 15u);
  int checked = 0;
  for (const Case &c : cases) {
    DiagnosticEngine diags;
    std::unique_ptr<Graph> g = parseGraph(c.text, {}, diags);
    if (!g)
      continue; // a chunk that is not a graph
    for (const PassInfo &p : allPasses()) {
      std::vector<PipelineStep> steps = {{&p, {}}};
      // select-layout sums the conv, its bias and residual in one double
      // accumulator and rounds once, where the original rounds each op.
      double rel =
          p.name == "fold-batch-norm" || p.name == "select-layout" ? 1e-5 : 0;
      checkPipeline(*g, steps, rel, c.where + " " + std::string(p.name));
    }
    for (int level = 0; level <= kMaxGraphOptLevel; ++level)
      checkPipeline(*g, stepsForLevel(level).value(), level >= 2 ? 1e-5 : 0,
                    c.where + " -O" + std::to_string(level));
    ++checked;
  }
  EXPECT_GT(checked, 15);
}

TEST(PassSemantics, LevelsExtendEachOther) {
  EXPECT_EQ(pipelineForLevel(0).value(), "");
  for (int level = 1; level <= kMaxGraphOptLevel; ++level) {
    std::string p = pipelineForLevel(level).value();
    EXPECT_FALSE(p.empty());
    // Every pass of the level below runs at this one too.
    std::vector<PipelineStep> below = stepsForLevel(level - 1).value();
    for (const PipelineStep &s : below)
      EXPECT_NE(p.find(std::string(s.pass->name)), std::string::npos)
          << "-O" << level << " lacks " << s.pass->name;
    EXPECT_TRUE(stepsForLevel(level).ok()) << "-O" << level;
  }
  EXPECT_NE(pipelineForLevel(2).value().find("fold-batch-norm"),
            std::string::npos);
  EXPECT_EQ(pipelineForLevel(1).value().find("fold-batch-norm"),
            std::string::npos);
  EXPECT_FALSE(pipelineForLevel(4).ok());
  EXPECT_FALSE(pipelineForLevel(-1).ok());
}

/// conv (3x3, groups) -> batch_norm -> relu -> conv -> batch_norm, and a
/// linear -> batch_norm head, with random weights and statistics.
std::unique_ptr<Graph> convNet(std::mt19937_64 &rng, int groups) {
  GraphBuilder b("convnet");
  auto rand = [&](Shape s, double lo, double hi) {
    return testsupport::randomConstant(b, rng, std::move(s), lo, hi);
  };
  auto bn = [&](Value *x, int64_t c) {
    return testsupport::randomBatchNorm(b, rng, x, c);
  };
  Value *x = b.input("x", TensorType(DType::F32, {2, 4, 9, 9}));
  Attributes conv;
  conv.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  conv.set("groups", int64_t{groups});
  Value *c1 = b.conv2d({x, rand({8, 4 / groups, 3, 3}, -1, 1), rand({8}, -1, 1)},
                       conv)
                  .value();
  Value *r = b.relu({bn(c1, 8)}).value();
  Attributes conv2;
  conv2.set("strides", std::vector<int64_t>{2, 2});
  Value *c2 = b.conv2d({r, rand({6, 8, 1, 1}, -1, 1)}, conv2).value();
  Value *y = bn(c2, 6);
  Attributes flat;
  flat.set("shape", std::vector<int64_t>{2, 6 * 5 * 5});
  Value *f = b.reshape({y}, flat).value();
  Value *l = b.linear({f, rand({10, 150}, -0.1, 0.1), rand({10}, -1, 1)}).value();
  b.output("y", bn(l, 10));
  return b.finish().value();
}

TEST(PassSemantics, FoldBatchNormOnAConvNet) {
  std::mt19937_64 rng(7);
  for (int groups : {1, 2, 4}) {
    auto g = convNet(rng, groups);
    std::vector<Remark> remarks;
    std::unique_ptr<Graph> opt = g->clone();
    PipelineOptions po;
    po.remarks = &remarks;
    ASSERT_TRUE(runPipeline(*opt, stepsForLevel(2).value(), po).ok());
    int applied = 0;
    for (const Remark &r : remarks)
      applied += r.kind == Remark::Applied && r.pass == "fold-batch-norm";
    EXPECT_EQ(applied, 3) << "groups " << groups;
    for (const auto &op : opt->ops())
      EXPECT_NE(op->kind(), OpKind::BatchNorm);
    checkPipeline(*g, stepsForLevel(2).value(), 1e-5,
                  "conv net, groups " + std::to_string(groups));
  }
}

} // namespace
} // namespace tcpu

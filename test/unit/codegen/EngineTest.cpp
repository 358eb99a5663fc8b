//===- EngineTest.cpp - tcpu::compile: memory plan, fallback, errors, threads ===//
#include "CodegenTestSupport.h"

#include "codegen/Engine.h"
#include "codegen/MemoryPlan.h"
#include "codegen/TestingHooks.h"
#include "ir/Parser.h"

#include <thread>

namespace tcpu {
namespace {

using cgtest::expectMatchesInterpreter;
using cgtest::randomTensor;

std::unique_ptr<Graph> parse(const std::string &text) {
  absl::StatusOr<std::unique_ptr<Graph>> g = parseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? std::move(*g) : nullptr;
}

/// x -> relu -> neg -> abs -> ... : a chain of n unary ops on f32[1000].
std::unique_ptr<Graph> chain(int n) {
  GraphBuilder b("chain");
  Value *v = b.input("x", TensorType(DType::F32, {1000}));
  const OpKind kinds[] = {OpKind::Relu, OpKind::Neg, OpKind::Abs, OpKind::Sqrt};
  for (int i = 0; i < n; ++i)
    v = b.create(kinds[i % 4], {v}).value();
  b.output("y", v);
  return b.finish().value();
}

/// No two buffers whose live ranges intersect share a byte.
void expectNoOverlap(const MemoryPlan &plan) {
  for (size_t i = 0; i < plan.buffers.size(); ++i)
    for (size_t j = i + 1; j < plan.buffers.size(); ++j) {
      const PlannedBuffer &a = plan.buffers[i], &b = plan.buffers[j];
      bool liveTogether = a.firstOp <= b.lastOp && b.firstOp <= a.lastOp;
      bool share = a.offset < b.offset + b.size && b.offset < a.offset + a.size;
      EXPECT_FALSE(liveTogether && share && a.size > 0 && b.size > 0)
          << "buffers " << i << " and " << j;
    }
  for (const PlannedBuffer &b : plan.buffers) {
    EXPECT_EQ(b.offset % plan.alignment, 0);
    EXPECT_LE(b.offset + b.size, plan.peakBytes);
  }
}

TEST(MemoryPlan, ChainReusesTwoBuffers) {
  auto g = chain(10);
  MemoryPlan plan = planMemory(*g);
  ASSERT_EQ(plan.buffers.size(), 9u); // the last value is the output
  EXPECT_EQ(plan.totalBytes, 9 * 4032);
  EXPECT_EQ(plan.peakBytes, 2 * 4032);
  EXPECT_LT(plan.peakBytes, plan.totalBytes);
  expectNoOverlap(plan);
}

TEST(MemoryPlan, LongLivedValuesKeepTheirSpace) {
  // %a is read at the end: it must not be overwritten by the chain between.
  auto g = parse(R"(graph @g(%x: f32[64]) -> (y: f32[64]) {
  %a = exp %x : f32[64]
  %b = neg %a : f32[64]
  %c = abs %b : f32[64]
  %d = relu %c : f32[64]
  %e = add %d, %a : f32[64]
  %f = mul %e, %b : f32[64]
  return %f
})");
  MemoryPlan plan = planMemory(*g);
  expectNoOverlap(plan);
  EXPECT_LT(plan.peakBytes, plan.totalBytes);
  std::mt19937_64 rng(1);
  expectMatchesInterpreter(*g, {randomTensor(g->inputs()[0]->type, rng)}, 4);
}

TEST(MemoryPlan, RandomGraphsNeverOverlap) {
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 20; ++trial) {
    GraphBuilder b("random");
    std::vector<Value *> values = {b.input("x", TensorType(DType::F32, {37}))};
    for (int i = 0; i < 30; ++i) {
      Value *l = values[rng() % values.size()], *r = values[rng() % values.size()];
      values.push_back(b.create(i % 3 ? OpKind::Add : OpKind::Neg,
                                i % 3 ? std::vector<Value *>{l, r}
                                      : std::vector<Value *>{l})
                           .value());
    }
    b.output("y", values.back());
    b.output("z", values[values.size() / 2]);
    auto g = b.finish().value();
    MemoryPlan plan = planMemory(*g);
    expectNoOverlap(plan);
    expectMatchesInterpreter(*g, {randomTensor(g->inputs()[0]->type, rng)}, 0);
  }
}

TEST(Engine, MlpExampleMatchesInterpreter) {
  auto g = parseGraphFile(std::string(TCPU_SOURCE_DIR) + "/test/models/mlp/mlp.tir");
  ASSERT_TRUE(g.ok()) << g.status();
  std::mt19937_64 rng(5);
  std::vector<Tensor> inputs;
  for (const Value *in : (*g)->inputs())
    inputs.push_back(randomTensor(in->type, rng, -1, 1, false));
  auto want = interpret(**g, inputs).value();
  auto model = compile(**g, {}).value();
  auto got = model->run(inputs).value();
  ASSERT_EQ(got.size(), want.size());
  // Matmul/linear may be compiled (different summation order): relative
  // 1e-4 of the output's magnitude.
  for (size_t i = 0; i < got.size(); ++i) {
    double scale = 1e-6;
    for (int64_t k = 0; k < want[i].numElements(); ++k)
      scale = std::max(scale, std::fabs(want[i].elementAsDouble(k)));
    for (int64_t k = 0; k < want[i].numElements(); ++k)
      EXPECT_NEAR(got[i].elementAsDouble(k), want[i].elementAsDouble(k), 1e-4 * scale);
  }
  EXPECT_GT(model->compiledOps(), 0);
  EXPECT_GT(model->compileSeconds(), 0);
}

TEST(Engine, FallbackListAndNoFallbackError) {
  // Every op has a lowering; the test hook sends argmax to the interpreter.
  testing::ForceInterpreterFallback force(OpKind::Argmax);
  auto g = parse(R"(graph @g(%x: f32[4,6]) -> (y: i64[4]) {
  %r = relu %x : f32[4,6]
  %a = argmax %r {axis = 1} : i64[4]
  return %a
})");
  auto model = compile(*g, {}).value();
  ASSERT_EQ(model->fallbackOps().size(), 1u);
  EXPECT_EQ(model->fallbackOps()[0], "argmax %a");
  EXPECT_EQ(model->compiledOps(), 1);
  std::mt19937_64 rng(2);
  expectMatchesInterpreter(*g, {randomTensor(g->inputs()[0]->type, rng, -1, 1, false)}, 0);

  CompileOptions strict;
  strict.allowInterpreterFallback = false;
  auto failed = compile(*g, strict);
  ASSERT_FALSE(failed.ok());
  std::string message(failed.status().message());
  EXPECT_NE(message.find("argmax %a"), std::string::npos) << message;
  EXPECT_NE(message.find("no lowering"), std::string::npos) << message;
}

TEST(Engine, InputErrorsNameTheInput) {
  auto g = parse(R"(graph @g(%x: f32[2,3], %y: f32[3]) -> (z: f32[2,3]) {
  %z = add %x, %y : f32[2,3]
  return %z
})");
  auto model = compile(*g, {}).value();
  Tensor x = Tensor::allocate(TensorType(DType::F32, {2, 3})).value();
  Tensor y = Tensor::allocate(TensorType(DType::F32, {3})).value();
  auto count = model->run({x});
  ASSERT_FALSE(count.ok());
  EXPECT_NE(std::string(count.status().message()).find("takes 2 input(s), got 1"),
            std::string::npos)
      << count.status();
  auto shape = model->run({x, Tensor::allocate(TensorType(DType::F32, {4})).value()});
  ASSERT_FALSE(shape.ok());
  std::string m(shape.status().message());
  EXPECT_NE(m.find("input 'y'"), std::string::npos) << m;
  EXPECT_NE(m.find("f32[3]"), std::string::npos) << m;
  EXPECT_NE(m.find("f32[4]"), std::string::npos) << m;
  auto dtype = model->run({Tensor::allocate(TensorType(DType::I32, {2, 3})).value(), y});
  ASSERT_FALSE(dtype.ok());
  m = std::string(dtype.status().message());
  EXPECT_NE(m.find("input 'x'"), std::string::npos) << m;
  EXPECT_NE(m.find("i32[2,3]"), std::string::npos) << m;
  EXPECT_TRUE(model->run({x, y}).ok());
}

TEST(Engine, OutputsThatAreInputsConstantsOrRepeated) {
  auto g = parse(R"(graph @g(%x: f32[3]) -> (a: f32[3], b: f32[3], c: f32[3], d: f32[3], e: f32[2]) {
  %k = constant dense<[1.0, 2.0]> : f32[2]
  %n = neg %x : f32[3]
  return %x, %n, %n, %x, %k
})");
  ASSERT_TRUE(g);
  std::mt19937_64 rng(4);
  expectMatchesInterpreter(*g, {randomTensor(g->inputs()[0]->type, rng)}, 0);
  auto model = compile(*g, {}).value();
  Tensor x = randomTensor(g->inputs()[0]->type, rng);
  auto out = model->run({x}).value();
  // Each output has its own buffer.
  EXPECT_NE(out[1].data(), out[2].data());
  EXPECT_NE(out[0].data(), x.data());
  EXPECT_EQ(model->peakArenaBytes(), 0);
}

// Output buffers are recycled once the caller drops a result: a result the
// caller still holds is never reused, and one outliving its model stays valid.
TEST(Engine, OutputBuffersAreRecycledOnlyWhenDropped) {
  auto g = parse(R"(graph @g(%x: f32[37]) -> f32[37] {
  %n = neg %x : f32[37]
  return %n
})");
  ASSERT_TRUE(g);
  auto model = compile(*g, {}).value();
  std::mt19937_64 rng(5);
  Tensor x1 = randomTensor(g->inputs()[0]->type, rng);
  Tensor x2 = randomTensor(g->inputs()[0]->type, rng);
  auto first = model->run({x1}).value();
  const void *firstBuffer = first[0].data();
  auto second = model->run({x2}).value();
  EXPECT_NE(second[0].data(), firstBuffer);
  for (int64_t i = 0; i < 37; ++i) {
    EXPECT_EQ(first[0].elementAsDouble(i), -x1.elementAsDouble(i));
    EXPECT_EQ(second[0].elementAsDouble(i), -x2.elementAsDouble(i));
  }
  first.clear(); // its buffer goes back to the model
  auto third = model->run({x2}).value();
  EXPECT_EQ(third[0].data(), firstBuffer);
  model.reset(); // the result outlives the model
  for (int64_t i = 0; i < 37; ++i)
    EXPECT_EQ(third[0].elementAsDouble(i), -x2.elementAsDouble(i));
}

TEST(Engine, ConcurrentRunsOnOneModel) {
  auto g = chain(12);
  auto model = compile(*g, {}).value();
  auto worker = [&](uint64_t seed, int *failures) {
    std::mt19937_64 rng(seed);
    for (int i = 0; i < 200; ++i) {
      Tensor x = randomTensor(g->inputs()[0]->type, rng);
      auto want = interpret(*g, {x}).value();
      auto got = model->run({x});
      std::string where;
      if (!got.ok() || cgtest::maxUlp((*got)[0], want[0], where) != 0)
        ++*failures;
    }
  };
  int f1 = 0, f2 = 0, f3 = 0;
  std::thread t1(worker, 1, &f1), t2(worker, 2, &f2), t3(worker, 3, &f3);
  t1.join();
  t2.join();
  t3.join();
  EXPECT_EQ(f1 + f2 + f3, 0);
}

TEST(Engine, ZeroSizedTensors) {
  auto g = parse(R"(graph @g(%x: f32[0,5], %y: f32[5]) -> (z: f32[0,5]) {
  %s = add %x, %y : f32[0,5]
  %z = exp %s : f32[0,5]
  return %z
})");
  std::mt19937_64 rng(6);
  expectMatchesInterpreter(*g, {randomTensor(g->inputs()[0]->type, rng),
                                randomTensor(g->inputs()[1]->type, rng)}, 0);
}

TEST(Engine, NonHostTripleIsAnError) {
  auto g = chain(1);
  CompileOptions o;
  o.triple = "riscv64-unknown-linux-gnu";
  auto model = compile(*g, o);
  ASSERT_FALSE(model.ok());
  EXPECT_NE(std::string(model.status().message()).find("riscv64"), std::string::npos)
      << model.status();
  o.triple = "no-such-triple";
  EXPECT_FALSE(compile(*g, o).ok());
}

} // namespace
} // namespace tcpu

//===- ElementwiseThreadsTest.cpp - Threaded elementwise kernels ---------===//
//
// Elementwise kernels and fused elementwise bodies large enough to run on
// the model's threads (lower/Elementwise.cpp splits nests above 32K
// elements), at 1, 2 and 3 threads, against the interpreter with fallback
// off: sizes that no task count divides (so the last range is short and
// ends in a scalar tail), every broadcast pattern, a result written in
// place, f16/bf16, integer div and pow whose error is found by one task of
// many, and a fused chain at -O3. The task observer (cgtest::ParallelLog)
// shows that a parallel loop ran and was split at 2 and 3 threads.
// Tolerances are ElementwiseCodegenTest's: exact, except the vectorized
// f32 exp family (kTranscendentalUlps).
//
//===----------------------------------------------------------------------===//
#include "CodegenTestSupport.h"

#include <string>

namespace tcpu {
namespace {

using cgtest::expectMatchesInterpreter;
using cgtest::expectThreads;
using cgtest::ParallelLog;
using cgtest::randomTensor;

constexpr int64_t kTranscendentalUlps = 4;
const int kThreadCounts[] = {1, 2, 3};

/// A prime above the threading grain: no vector width or task count
/// divides it.
constexpr int64_t kFlat = 100003;

struct Built {
  std::unique_ptr<Graph> graph;
  std::vector<Tensor> inputs;
};

/// One `kind` op per operand-shape case, on random inputs.
Built build(OpKind kind, DType dt, const std::vector<std::vector<Shape>> &cases,
            uint64_t seed, double lo = -4, double hi = 4) {
  GraphBuilder b(std::string(opInfo(kind).mnemonic));
  std::mt19937_64 rng(seed);
  Built out;
  for (size_t c = 0; c < cases.size(); ++c) {
    std::vector<Value *> operands;
    for (size_t k = 0; k < cases[c].size(); ++k) {
      TensorType t(dt, cases[c][k]);
      operands.push_back(
          b.input("x" + std::to_string(c) + "_" + std::to_string(k), t));
      out.inputs.push_back(randomTensor(t, rng, lo, hi));
    }
    b.output("r" + std::to_string(c), b.create(kind, operands).value());
  }
  out.graph = b.finish().value();
  return out;
}

/// Compiled at `threads` (graph level `level`, fallback off) against the
/// interpreter within `ulps`, and the kernels' parallel loops as expected.
void checkThreaded(const Built &m, int64_t ulps, int threads,
                   const std::string &what, int level = 0,
                   const std::string &cpu = "") {
  CompileOptions o;
  o.threads = threads;
  o.allowInterpreterFallback = false;
  o.graphOptLevel = level;
  o.cpu = cpu;
  ParallelLog log;
  expectMatchesInterpreter(*m.graph, m.inputs, ulps, o);
  expectThreads(log, threads, what + " at " + std::to_string(threads) +
                                  " thread(s)");
}

TEST(ElementwiseThreads, Unary) {
  Built exact = build(OpKind::Sqrt, DType::F32, {{{kFlat}}, {{7, 9001}}}, 1, 0, 9);
  Built sigmoid = build(OpKind::Sigmoid, DType::F32, {{{kFlat}}}, 2, -20, 20);
  for (int t : kThreadCounts) {
    checkThreaded(exact, 0, t, "sqrt");
    checkThreaded(sigmoid, kTranscendentalUlps, t, "sigmoid");
  }
  // 8 lanes: chunk edges on multiples of 8.
  checkThreaded(exact, 0, 2, "sqrt haswell", 0, "haswell");
}

TEST(ElementwiseThreads, BinaryBroadcasting) {
  // scalar; row; column; middle dim; few outer rows (the innermost dim is
  // split into blocks); a dim merged away on one side; many tiny rows.
  Built add = build(OpKind::Add, DType::F32,
                    {{{}, {kFlat}},
                     {{301, 257}, {257}},
                     {{301, 1}, {301, 257}},
                     {{40, 1, 2001}, {40, 3, 2001}},
                     {{2, 50021}, {50021}},
                     {{3, 1, 20011}, {1, 2, 20011}},
                     {{20011, 3}, {20011, 1}}},
                    3);
  Built mul = build(OpKind::Max, DType::F32, {{{kFlat}, {kFlat}}}, 4);
  for (int t : kThreadCounts) {
    checkThreaded(add, 0, t, "add");
    checkThreaded(mul, 0, t, "max");
  }
  checkThreaded(add, 0, 3, "add haswell", 0, "haswell");
}

TEST(ElementwiseThreads, HalfFloats) {
  for (DType dt : {DType::F16, DType::BF16}) {
    Built add = build(OpKind::Add, dt, {{{kFlat}, {kFlat}}, {{41, 1999}, {1999}}}, 5);
    Built tanh = build(OpKind::Tanh, dt, {{{kFlat}}}, 6);
    for (int t : kThreadCounts) {
      checkThreaded(add, 0, t, std::string(dtypeName(dt)) + " add");
      checkThreaded(tanh, 0, t, std::string(dtypeName(dt)) + " tanh");
    }
  }
}

// neg then add then sigmoid at -O0: the memory plan writes add's result
// into the dying neg result (one arena buffer instead of two), so the
// threaded add reads and writes one buffer.
TEST(ElementwiseThreads, InPlace) {
  GraphBuilder b("inplace");
  TensorType t(DType::F32, {kFlat});
  Value *x = b.input("x", t), *y = b.input("y", t);
  Value *n = b.create(OpKind::Neg, {x}).value();
  Value *s = b.create(OpKind::Add, {n, y}).value();
  b.output("r", b.create(OpKind::Sigmoid, {s}).value());
  Built m{b.finish().value(), {}};
  std::mt19937_64 rng(7);
  m.inputs = {randomTensor(t, rng), randomTensor(t, rng)};
  for (int threads : kThreadCounts) {
    CompileOptions o;
    o.threads = threads;
    o.allowInterpreterFallback = false;
    auto model = compile(*m.graph, o).value();
    EXPECT_EQ(model->peakArenaBytes(), (kFlat * 4 + 63) / 64 * 64)
        << "add did not run in place";
    checkThreaded(m, kTranscendentalUlps, threads, "in-place add");
  }
}

/// x / y (or x pow y) on n i32 elements, y = 3 but 0 at `bad`.
absl::Status runWithBadElement(OpKind kind, int64_t n, int64_t bad, int threads) {
  GraphBuilder b("ints");
  TensorType t(DType::I32, {n});
  Value *x = b.input("x", t), *y = b.input("y", t);
  Value *r = b.create(kind, {x, y}).value();
  r->name = "r";
  b.output("r", r);
  auto g = b.finish().value();
  Tensor a = Tensor::allocate(t).value(), c = Tensor::allocate(t).value();
  for (int64_t i = 0; i < n; ++i) {
    a.setElementFromInt(i, kind == OpKind::Pow && i == bad ? 0 : 7);
    c.setElementFromInt(i, i != bad ? 3 : kind == OpKind::Pow ? -1 : 0);
  }
  CompileOptions o;
  o.threads = threads;
  o.allowInterpreterFallback = false;
  auto model = compile(*g, o);
  if (!model.ok())
    return model.status();
  ParallelLog log;
  absl::Status s = (*model)->run({a, c}).status();
  EXPECT_TRUE(log.parallelLoop()) << "the kernel ran serially";
  return s;
}

TEST(ElementwiseThreads, IntegerDivAndPow) {
  // Without bad elements, against the interpreter.
  Built div = build(OpKind::Div, DType::I32, {{{kFlat}, {kFlat}}, {{5, 1}, {5, 30011}}}, 8);
  for (int64_t i = 0; i < div.inputs[1].numElements(); ++i)
    if (div.inputs[1].elementAsInt(i) == 0)
      div.inputs[1].setElementFromInt(i, 5);
  for (int64_t i = 0; i < div.inputs[3].numElements(); ++i)
    if (div.inputs[3].elementAsInt(i) == 0)
      div.inputs[3].setElementFromInt(i, -5);
  for (int t : kThreadCounts)
    checkThreaded(div, 0, t, "i32 div");
  // One zero among kFlat: in the first vector, the middle, the scalar tail.
  for (int t : kThreadCounts)
    for (int64_t bad : {int64_t{3}, kFlat / 2 + 1, kFlat - 1}) {
      absl::Status s = runWithBadElement(OpKind::Div, kFlat, bad, t);
      EXPECT_EQ(std::string(s.message()), "div %r: integer division by zero")
          << "bad element " << bad << " at " << t << " thread(s)";
      s = runWithBadElement(OpKind::Pow, kFlat, bad, t);
      EXPECT_EQ(std::string(s.message()),
                "pow %r: integer pow: zero raised to a negative power")
          << "bad element " << bad << " at " << t << " thread(s)";
    }
  EXPECT_TRUE(runWithBadElement(OpKind::Div, kFlat, -1, 2).ok());
}

// relu(x * a + b) with b a row: fuse-elementwise makes one fused op at -O3
// whose loop nest is threaded like a single op's.
TEST(ElementwiseThreads, FusedChainAtO3) {
  GraphBuilder b("chain");
  TensorType xt(DType::F32, {97, 1031}), bt(DType::F32, {1031});
  Value *x = b.input("x", xt), *a = b.input("a", xt), *c = b.input("c", bt);
  Value *m = b.create(OpKind::Mul, {x, a}).value();
  Value *s = b.create(OpKind::Add, {m, c}).value();
  b.output("r", b.create(OpKind::Relu, {s}).value());
  Built chain{b.finish().value(), {}};
  std::mt19937_64 rng(9);
  chain.inputs = {randomTensor(xt, rng), randomTensor(xt, rng),
                  randomTensor(bt, rng)};
  CompileOptions o;
  o.graphOptLevel = 3;
  o.allowInterpreterFallback = false;
  EXPECT_EQ(compile(*chain.graph, o).value()->compiledOps(), 1)
      << "the chain was not fused";
  // mul then add rounds twice in f32 as in the reference: exact.
  for (int t : kThreadCounts)
    checkThreaded(chain, 0, t, "fused chain", 3);
}

// Below the grain nothing is threaded: no runtime call at all.
TEST(ElementwiseThreads, SmallTensorsStayInline) {
  Built add = build(OpKind::Add, DType::F32, {{{30000}, {30000}}, {{100, 300}, {300}}}, 10);
  CompileOptions o;
  o.threads = 2;
  o.allowInterpreterFallback = false;
  ParallelLog log;
  expectMatchesInterpreter(*add.graph, add.inputs, 0, o);
  EXPECT_TRUE(log.tasks.empty());
}

} // namespace
} // namespace tcpu

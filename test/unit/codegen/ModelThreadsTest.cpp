//===- ModelThreadsTest.cpp - Per-model thread counts and task arenas ------===//
//
// CompileOptions::threads: each model runs its parallel loops in its own
// tbb::task_arena of that many threads, whatever the global count says; 0
// follows tcpu::set_num_threads at each run. Observed through the runtime's
// test hook (setParallelTaskObserver: the arena's thread count and the
// thread slot of every task), with results checked against the interpreter.
// No timing: a loop at 2 threads is split into tasks whatever the machine
// load, and slots are bounded by the arena, not by how many threads joined.
//
//===----------------------------------------------------------------------===//
#include "CodegenTestSupport.h"

#include "runtime/ModelArena.h"
#include "runtime/Threading.h"

#include <atomic>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>

namespace tcpu {
namespace {

using cgtest::ParallelLog;
using cgtest::randomTensor;

/// x[96, 300] @ w[300, 200], then softmax over the rows (graph -O0: two
/// kernels): a GEMM split over threads (5.8 M multiply-adds) and a row
/// kernel (96 rows of 200, in tasks of at least 164 rows: one).
std::unique_ptr<Graph> model() {
  GraphBuilder b("threads");
  Value *x = b.input("x", TensorType(DType::F32, {96, 300}));
  Value *w = b.input("w", TensorType(DType::F32, {300, 200}));
  Value *y = b.create(OpKind::Matmul, {x, w}).value();
  Attributes a;
  a.set("axis", int64_t{-1});
  b.output("y", b.create(OpKind::Softmax, {y}, a).value());
  return b.finish().value();
}

std::vector<Tensor> inputs(const Graph &g, uint64_t seed) {
  std::mt19937_64 rng(seed);
  return {randomTensor(g.inputs()[0]->type, rng, -1, 1, false),
          randomTensor(g.inputs()[1]->type, rng, -1, 1, false)};
}

/// The GEMM sums each element in one order whatever the split, so results
/// are the same at any thread count; against the interpreter (double) they
/// are within the softmax tolerance of RowKernelsCodegenTest plus the f32
/// GEMM's (K = 300 terms of magnitude <= 1: about 300 * 2^-24 relative on
/// the logits, well inside 1e-4 after the softmax).
void expectCloseToReference(const std::vector<Tensor> &got,
                            const std::vector<Tensor> &want) {
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(got[0].type(), want[0].type());
  for (int64_t i = 0; i < got[0].numElements(); ++i) {
    double g = got[0].dataAs<float>()[i], w = want[0].elementAsDouble(i);
    ASSERT_NEAR(g, w, 1e-4 * std::fabs(w) + 1e-9) << "element " << i;
  }
}

bool bitwiseEqual(const Tensor &a, const Tensor &b) {
  return a.type() == b.type() &&
         std::memcmp(a.data(), b.data(), static_cast<size_t>(a.byteSize())) == 0;
}

TEST(ModelThreads, FixedCountsIgnoreTheGlobalOne) {
  set_num_threads(4);
  auto g = model();
  std::vector<Tensor> in = inputs(*g, 1);
  std::vector<Tensor> want = interpret(*g, in).value();
  for (int threads : {1, 2}) {
    CompileOptions o;
    o.threads = threads;
    o.allowInterpreterFallback = false;
    auto m = compile(*g, o).value();
    EXPECT_EQ(m->threads(), threads);
    ParallelLog log;
    std::vector<Tensor> got = m->run(in).value();
    expectCloseToReference(got, want);
    EXPECT_EQ(log.threadCounts(), std::set<int64_t>{threads});
    EXPECT_LT(log.maxSlot(), threads);
    // One thread: every loop in one call on the caller; two: split.
    EXPECT_EQ(log.split(), threads == 2);
  }
  set_num_threads(0);
}

TEST(ModelThreads, ZeroFollowsTheGlobalCountAtEachRun) {
  auto g = model();
  std::vector<Tensor> in = inputs(*g, 2);
  CompileOptions o;
  o.allowInterpreterFallback = false;
  set_num_threads(1);
  auto m = compile(*g, o).value();
  std::vector<Tensor> first = m->run(in).value();
  for (int threads : {2, 1}) {
    set_num_threads(threads);
    EXPECT_EQ(m->threads(), threads);
    ParallelLog log;
    std::vector<Tensor> got = m->run(in).value();
    EXPECT_TRUE(bitwiseEqual(got[0], first[0])) << threads << " threads";
    EXPECT_EQ(log.threadCounts(), std::set<int64_t>{threads});
    EXPECT_LT(log.maxSlot(), threads);
  }
  set_num_threads(0);
}

TEST(ModelThreads, TwoModelsWithOwnCountsConcurrently) {
  set_num_threads(4); // neither model may use it
  auto g = model();
  CompileOptions one, two;
  one.threads = 1;
  two.threads = 2;
  auto m1 = compile(*g, one).value();
  auto m2 = compile(*g, two).value();
  const int kRuns = 15;
  std::vector<std::vector<Tensor>> in, want;
  for (int i = 0; i < kRuns; ++i) {
    in.push_back(inputs(*g, 100 + i));
    want.push_back(interpret(*g, in.back()).value());
  }
  ParallelLog log;
  std::vector<std::vector<Tensor>> got1(kRuns), got2(kRuns);
  auto worker = [&](const CompiledModel *m, std::vector<std::vector<Tensor>> *got) {
    for (int i = 0; i < kRuns; ++i) {
      absl::StatusOr<std::vector<Tensor>> r = m->run(in[i]);
      if (r.ok())
        (*got)[i] = std::move(*r);
    }
  };
  std::thread a(worker, m1.get(), &got1), b(worker, m2.get(), &got2);
  a.join();
  b.join();
  for (int i = 0; i < kRuns; ++i) {
    ASSERT_EQ(got1[i].size(), 1u) << "run " << i;
    ASSERT_EQ(got2[i].size(), 1u) << "run " << i;
    expectCloseToReference(got1[i], want[i]);
    // Same kernels, same order of sums: the thread count changes nothing.
    EXPECT_TRUE(bitwiseEqual(got1[i][0], got2[i][0])) << "run " << i;
  }
  // Tasks ran in arenas of 1 and 2 threads only, never the global 4.
  EXPECT_EQ(log.threadCounts(), (std::set<int64_t>{1, 2}));
  for (const ParallelTaskInfo &t : log.tasks)
    EXPECT_LT(t.slot, t.threads);
  set_num_threads(0);
}

// Two threads running one model at once, in one arena of 2 threads: its
// kernels keep im2col columns and padded planes in per-thread scratch,
// which a thread waiting for its own loop must not lend to a task of the
// other run (tcpu_parallel_for isolates its loops). Every run's result is
// the one of a run alone, bit for bit.
TEST(ModelThreads, ConcurrentRunsOfAConvNet) {
  GraphBuilder b("convnet");
  Value *x = b.input("x", TensorType(DType::F32, {1, 8, 40, 40}));
  Value *w = b.input("w", TensorType(DType::F32, {16, 8, 3, 3}));
  Attributes conv;
  conv.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  Value *y = b.create(OpKind::Conv2d, {x, w, nullptr}, conv).value();
  Attributes pool;
  pool.set("kernel", std::vector<int64_t>{3, 3});
  pool.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  Value *p = b.create(OpKind::MaxPool2d, {y}, pool).value();
  b.output("y", b.create(OpKind::GlobalAvgPool, {p}).value());
  b.output("p", p);
  auto g = b.finish().value();
  CompileOptions o;
  o.threads = 2;
  o.allowInterpreterFallback = false;
  auto m = compile(*g, o).value();
  std::vector<Tensor> in = inputs(*g, 7);
  std::vector<Tensor> alone = m->run(in).value();
  std::vector<Tensor> want = interpret(*g, in).value();
  for (size_t i = 0; i < want.size(); ++i)
    for (int64_t j = 0; j < want[i].numElements(); ++j)
      ASSERT_NEAR(alone[i].dataAs<float>()[j], want[i].elementAsDouble(j),
                  1e-4 * (1 + std::fabs(want[i].elementAsDouble(j))));
  std::atomic<int> mismatches{0};
  auto worker = [&] {
    for (int r = 0; r < 25; ++r) {
      absl::StatusOr<std::vector<Tensor>> got = m->run(in);
      if (!got.ok() || !bitwiseEqual((*got)[0], alone[0]) ||
          !bitwiseEqual((*got)[1], alone[1]))
        ++mismatches;
    }
  };
  std::thread t1(worker), t2(worker);
  t1.join();
  t2.join();
  EXPECT_EQ(mismatches.load(), 0);
}

} // namespace
} // namespace tcpu

// Per-model arenas (runtime/ModelArena.h): inside a scope, the C ABI's
// parallel loops use the model's arena and thread count, on the calling
// thread and on the workers running its loops; outside, the global count.
#include "runtime/CAbi.h"
#include "runtime/ModelArena.h"
#include "runtime/Threading.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace tcpu {
namespace {

/// What the bodies of one loop saw.
struct Seen {
  std::mutex mu;
  std::set<std::thread::id> threadIds;
  std::set<int64_t> slots, numThreads;
  std::atomic<int64_t> calls{0}, indices{0};
};

void busy() {
  volatile double x = 0;
  for (int k = 0; k < 100000; ++k)
    x = x + 1.0;
}

void recordBody(void *ctx, int64_t begin, int64_t end) {
  auto *s = static_cast<Seen *>(ctx);
  {
    std::lock_guard<std::mutex> lock(s->mu);
    s->threadIds.insert(std::this_thread::get_id());
    s->slots.insert(tcpu_thread_slot());
    s->numThreads.insert(tcpu_num_threads());
  }
  s->calls++;
  s->indices += end - begin;
  busy();
}

/// A body that runs a nested loop of 8 indices into the Seen at ctx.
void nestingBody(void *ctx, int64_t, int64_t) {
  tcpu_parallel_for(8, recordBody, ctx);
}

TEST(ModelArena, ScopeSetsTheThreadCount) {
  set_num_threads(3);
  ModelArena two(2), follow(0);
  EXPECT_EQ(two.threads(), 2);
  EXPECT_EQ(follow.threads(), 3);
  EXPECT_EQ(tcpu_num_threads(), 3);
  {
    ModelArena::Scope s = two.enter();
    EXPECT_EQ(tcpu_num_threads(), 2);
    {
      ModelArena one(1);
      ModelArena::Scope inner = one.enter();
      EXPECT_EQ(tcpu_num_threads(), 1);
    }
    EXPECT_EQ(tcpu_num_threads(), 2);
  }
  EXPECT_EQ(tcpu_num_threads(), 3);
  // 0 follows the global count when a run enters.
  set_num_threads(5);
  EXPECT_EQ(follow.threads(), 5);
  {
    ModelArena::Scope s = follow.enter();
    EXPECT_EQ(tcpu_num_threads(), 5);
    set_num_threads(1); // a run keeps the arena it entered with
    EXPECT_EQ(tcpu_num_threads(), 5);
  }
  {
    ModelArena::Scope s = follow.enter();
    EXPECT_EQ(tcpu_num_threads(), 1);
  }
  set_num_threads(0);
}

TEST(ModelArena, OneThreadRunsEveryLoopOnTheCaller) {
  set_num_threads(4); // the global count does not apply inside the scope
  ModelArena one(1);
  ModelArena::Scope s = one.enter();
  Seen seen;
  tcpu_parallel_for(64, recordBody, &seen);
  EXPECT_EQ(seen.indices.load(), 64);
  EXPECT_EQ(seen.calls.load(), 1); // body(ctx, 0, n) once
  EXPECT_EQ(seen.threadIds, std::set<std::thread::id>{std::this_thread::get_id()});
  EXPECT_EQ(seen.slots, std::set<int64_t>{0});
  set_num_threads(0);
}

TEST(ModelArena, TwoThreadsStayWithinTwoSlots) {
  set_num_threads(4);
  ModelArena two(2);
  ModelArena::Scope s = two.enter();
  Seen seen;
  tcpu_parallel_for(64, recordBody, &seen);
  EXPECT_EQ(seen.indices.load(), 64);
  EXPECT_EQ(seen.calls.load(), 64); // one index per call
  EXPECT_LE(seen.threadIds.size(), 2u);
  for (int64_t slot : seen.slots)
    EXPECT_LT(slot, 2);
  EXPECT_EQ(seen.numThreads, std::set<int64_t>{2});
  set_num_threads(0);
}

TEST(ModelArena, NestedLoopsOnWorkersUseTheSameArena) {
  set_num_threads(4);
  ModelArena two(2);
  ModelArena::Scope s = two.enter();
  Seen seen;
  tcpu_parallel_for(6, nestingBody, &seen);
  EXPECT_EQ(seen.indices.load(), 6 * 8);
  EXPECT_EQ(seen.numThreads, std::set<int64_t>{2});
  EXPECT_LE(seen.threadIds.size(), 2u);
  for (int64_t slot : seen.slots)
    EXPECT_LT(slot, 2);
  set_num_threads(0);
}

TEST(ModelArena, TwoModelsConcurrently) {
  set_num_threads(4);
  ModelArena one(1), two(2);
  Seen seenOne, seenTwo;
  auto worker = [](const ModelArena *arena, Seen *seen) {
    ModelArena::Scope s = arena->enter();
    for (int i = 0; i < 20; ++i)
      tcpu_parallel_for(16, recordBody, seen);
  };
  std::thread a(worker, &one, &seenOne), b(worker, &two, &seenTwo);
  a.join();
  b.join();
  EXPECT_EQ(seenOne.indices.load(), 20 * 16);
  EXPECT_EQ(seenTwo.indices.load(), 20 * 16);
  EXPECT_EQ(seenOne.threadIds.size(), 1u);
  EXPECT_EQ(seenOne.numThreads, std::set<int64_t>{1});
  EXPECT_LE(seenTwo.threadIds.size(), 2u);
  EXPECT_EQ(seenTwo.numThreads, std::set<int64_t>{2});
  set_num_threads(0);
}

struct Observed {
  std::mutex mu;
  std::vector<ParallelTaskInfo> tasks;
};

TEST(ModelArena, ObserverSeesEveryTask) {
  Observed obs;
  setParallelTaskObserver(
      [](void *user, const ParallelTaskInfo &info) {
        auto *o = static_cast<Observed *>(user);
        std::lock_guard<std::mutex> lock(o->mu);
        o->tasks.push_back(info);
      },
      &obs);
  ModelArena two(2);
  {
    ModelArena::Scope s = two.enter();
    Seen seen;
    tcpu_parallel_for(10, recordBody, &seen);
  }
  setParallelTaskObserver(nullptr, nullptr);
  ASSERT_EQ(obs.tasks.size(), 10u);
  int64_t covered = 0;
  for (const ParallelTaskInfo &t : obs.tasks) {
    EXPECT_EQ(t.n, 10);
    EXPECT_EQ(t.threads, 2);
    EXPECT_EQ(t.end, t.begin + 1);
    EXPECT_LT(t.slot, 2);
    covered += t.end - t.begin;
  }
  EXPECT_EQ(covered, 10);
  // Removed: no more calls.
  Seen seen;
  tcpu_parallel_for(4, recordBody, &seen);
  EXPECT_EQ(obs.tasks.size(), 10u);
}

} // namespace
} // namespace tcpu

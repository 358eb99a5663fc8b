// The C ABI that generated code calls (runtime/CAbi.h): parallel loops over
// oneTBB with the configured thread count, thread slots, per-thread scratch.
#include "runtime/CAbi.h"
#include "runtime/Threading.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace tcpu {
namespace {

struct Hits {
  std::vector<std::atomic<int>> count;
  std::atomic<int64_t> maxSlot{-1};
  std::mutex mu;
  std::set<std::thread::id> threadIds;
  explicit Hits(int64_t n) : count(n) {}
};

void recordBody(void *ctx, int64_t begin, int64_t end) {
  auto *h = static_cast<Hits *>(ctx);
  int64_t slot = tcpu_thread_slot();
  int64_t prev = h->maxSlot.load();
  while (slot > prev && !h->maxSlot.compare_exchange_weak(prev, slot)) {
  }
  {
    std::lock_guard<std::mutex> lock(h->mu);
    h->threadIds.insert(std::this_thread::get_id());
  }
  for (int64_t i = begin; i < end; ++i) {
    h->count[i]++;
    // Enough work per index that a second thread joins in.
    volatile double x = 0;
    for (int k = 0; k < 200000; ++k)
      x = x + 1.0;
  }
}

TEST(CAbi, ParallelForCoversEveryIndexOnce) {
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    EXPECT_EQ(tcpu_num_threads(), threads);
    for (int64_t n : {0, 1, 2, 7, 64}) {
      Hits h(n);
      tcpu_parallel_for(n, recordBody, &h);
      for (int64_t i = 0; i < n; ++i)
        EXPECT_EQ(h.count[i].load(), 1) << "threads=" << threads << " i=" << i;
      // Slots index per-thread scratch: always below the thread count.
      EXPECT_LT(h.maxSlot.load(), threads);
      EXPECT_LE(static_cast<int>(h.threadIds.size()), threads);
    }
  }
  set_num_threads(0);
}

/// recordBody, then waits (up to 10 s) until a second thread has run a
/// body: on a loaded machine a worker may take a while to wake, and the
/// loop would otherwise finish on the calling thread alone.
void waitForSecondThread(void *ctx, int64_t begin, int64_t end) {
  recordBody(ctx, begin, end);
  auto *h = static_cast<Hits *>(ctx);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard<std::mutex> lock(h->mu);
      if (h->threadIds.size() >= 2)
        return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

TEST(CAbi, UsesSeveralThreadsWhenAsked) {
  if (std::thread::hardware_concurrency() < 2)
    GTEST_SKIP() << "one hardware thread";
  set_num_threads(2);
  Hits h(64);
  tcpu_parallel_for(64, waitForSecondThread, &h);
  EXPECT_EQ(h.threadIds.size(), 2u);
  set_num_threads(0);
}

TEST(CAbi, SingleThreadRunsInlineWithSlotZero) {
  set_num_threads(1);
  Hits h(5);
  tcpu_parallel_for(5, recordBody, &h);
  EXPECT_EQ(h.threadIds.size(), 1u);
  EXPECT_EQ(*h.threadIds.begin(), std::this_thread::get_id());
  EXPECT_EQ(h.maxSlot.load(), 0);
  set_num_threads(0);
}

TEST(CAbi, ThreadScratchIsAlignedAndGrows) {
  auto *a = static_cast<char *>(tcpu_thread_scratch(100));
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 64, 0u);
  a[99] = 1;
  auto *b = static_cast<char *>(tcpu_thread_scratch(50));
  EXPECT_EQ(a, b); // reused when big enough
  auto *c = static_cast<char *>(tcpu_thread_scratch(1 << 20));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(c) % 64, 0u);
  c[(1 << 20) - 1] = 2;
  // Another thread gets its own buffer.
  void *other = nullptr;
  std::thread([&] { other = tcpu_thread_scratch(100); }).join();
  EXPECT_NE(other, static_cast<void *>(c));
}

} // namespace
} // namespace tcpu

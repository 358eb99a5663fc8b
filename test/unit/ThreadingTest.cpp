// Thread-count resolution and parallelFor of the runtime.
#include "runtime/Threading.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <vector>

namespace tcpu {
namespace {

TEST(Threading, ParsesThreadCounts) {
  EXPECT_EQ(parseThreadCount("4"), 4);
  EXPECT_EQ(parseThreadCount("1"), 1);
  EXPECT_EQ(parseThreadCount(nullptr), std::nullopt);
  EXPECT_EQ(parseThreadCount(""), std::nullopt);
  EXPECT_EQ(parseThreadCount("0"), std::nullopt);
  EXPECT_EQ(parseThreadCount("-2"), std::nullopt);
  EXPECT_EQ(parseThreadCount("3x"), std::nullopt);
  EXPECT_EQ(parseThreadCount("99999999999999"), std::nullopt);
}

TEST(Threading, PrecedenceIsExplicitThenTcpuThenOmp) {
  setenv("OMP_NUM_THREADS", "3", 1);
  unsetenv("TCPU_NUM_THREADS");
  set_num_threads(0);
  EXPECT_EQ(get_num_threads(), 3);
  setenv("TCPU_NUM_THREADS", "5", 1);
  EXPECT_EQ(get_num_threads(), 5);
  set_num_threads(2);
  EXPECT_EQ(get_num_threads(), 2);
  set_num_threads(0);
  setenv("TCPU_NUM_THREADS", "garbage", 1);
  EXPECT_EQ(get_num_threads(), 3); // falls through to OMP_NUM_THREADS
  unsetenv("TCPU_NUM_THREADS");
  unsetenv("OMP_NUM_THREADS");
  EXPECT_GE(get_num_threads(), 1);
}

TEST(Threading, ParallelForCoversEveryIndexOnce) {
  for (int threads : {1, 2, 3}) {
    for (int64_t n : {0, 1, 7, 1000, 4097}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      parallelFor(
          n, 16,
          [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i)
              hits[static_cast<size_t>(i)]++;
          },
          threads);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1)
            << "n=" << n << " threads=" << threads << " i=" << i;
    }
  }
}

} // namespace
} // namespace tcpu

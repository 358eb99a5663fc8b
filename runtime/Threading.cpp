//===- Threading.cpp - Thread-count control for the runtime ---------------===//
#include "runtime/Threading.h"

#include <tbb/blocked_range.h>
#include <tbb/info.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <atomic>
#include <charconv>
#include <cstdlib>
#include <cstring>

namespace tcpu {

namespace {
std::atomic<int> explicitThreads{0};
} // namespace

std::optional<int> parseThreadCount(const char *value) {
  if (!value || !*value)
    return std::nullopt;
  int n = 0;
  const char *end = value + std::strlen(value);
  auto res = std::from_chars(value, end, n);
  if (res.ec != std::errc() || res.ptr != end || n <= 0)
    return std::nullopt;
  return n;
}

void set_num_threads(int n) { explicitThreads.store(n > 0 ? n : 0); }

int get_num_threads() {
  if (int n = explicitThreads.load(); n > 0)
    return n;
  if (auto n = parseThreadCount(std::getenv("TCPU_NUM_THREADS")))
    return *n;
  if (auto n = parseThreadCount(std::getenv("OMP_NUM_THREADS")))
    return *n;
  int hw = tbb::info::default_concurrency();
  return hw > 0 ? hw : 1;
}

void parallelFor(int64_t n, int64_t grain,
                 const std::function<void(int64_t, int64_t)> &body,
                 int threads) {
  if (n <= 0)
    return;
  int t = threads > 0 ? threads : get_num_threads();
  if (t == 1 || n <= grain) {
    body(0, n);
    return;
  }
  tbb::task_arena arena(t);
  arena.execute([&] {
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, n, grain > 0 ? grain : 1),
                      [&](const tbb::blocked_range<int64_t> &r) {
                        body(r.begin(), r.end());
                      });
  });
}

} // namespace tcpu

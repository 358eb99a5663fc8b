// A STREAM-like memory bandwidth probe for test/bench/elementwise_bandwidth.py:
// copy (b = a) and triad (a = b + s * c) on f32 arrays of N elements split
// over T threads, best of R repetitions, printed as one JSON line of GB/s
// (bytes read plus bytes written, as STREAM counts them).
//   stream_bandwidth N T R
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace {

/// Runs body(begin, end) on `threads` contiguous ranges of [0, n) and
/// returns the wall time in seconds.
double timed(long n, int threads, const std::function<void(long, long)> &body) {
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back(body, n * t / threads, n * (t + 1) / threads);
  for (std::thread &th : pool)
    th.join();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: stream_bandwidth N THREADS REPS\n");
    return 2;
  }
  long n = std::atol(argv[1]);
  int threads = std::max(1, std::atoi(argv[2]));
  int reps = std::max(1, std::atoi(argv[3]));
  std::unique_ptr<float[]> a(new float[n]), b(new float[n]), c(new float[n]);
  // First touch by the threads that use each range, as the timed loops do.
  timed(n, threads, [&](long lo, long hi) {
    for (long i = lo; i < hi; ++i)
      a[i] = 1.0f, b[i] = 2.0f, c[i] = 0.5f;
  });
  double copy = 1e30, triad = 1e30;
  for (int r = 0; r < reps; ++r) {
    copy = std::min(copy, timed(n, threads, [&](long lo, long hi) {
      for (long i = lo; i < hi; ++i)
        b[i] = a[i];
    }));
    triad = std::min(triad, timed(n, threads, [&](long lo, long hi) {
      for (long i = lo; i < hi; ++i)
        a[i] = b[i] + 3.0f * c[i];
    }));
  }
  double bytes = 4.0 * static_cast<double>(n);
  // a[0] keeps the loops from being optimized away.
  std::printf("{\"copy_gbs\": %.3f, \"triad_gbs\": %.3f, \"check\": %g}\n",
              2 * bytes / copy / 1e9, 3 * bytes / triad / 1e9,
              static_cast<double>(a[0]));
  return 0;
}

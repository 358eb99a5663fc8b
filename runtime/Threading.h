//===- Threading.h - Thread-count control for the runtime -------*- C++ -*-===//
//
// How many threads tcpu uses: tcpu::set_num_threads(n) if called, else the
// TCPU_NUM_THREADS environment variable, else OMP_NUM_THREADS (as users of
// PyTorch's documentation expect), else every hardware thread. Work runs in a
// tbb::task_arena of that size, so tcpu never oversubscribes on its own.
// No LLVM here: generated code links against this library alone.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace tcpu {

/// Sets the process-wide thread count; n <= 0 restores the default.
void set_num_threads(int n);
/// The thread count in force (always >= 1).
int get_num_threads();

/// Reads a thread count from an environment-variable value: a positive
/// integer, else nullopt (empty, zero, negative, or not a number).
std::optional<int> parseThreadCount(const char *value);

/// Runs body(begin, end) over [0, n) in chunks of at least `grain`, on at
/// most `threads` threads (0: get_num_threads()).
void parallelFor(int64_t n, int64_t grain,
                 const std::function<void(int64_t, int64_t)> &body,
                 int threads = 0);

} // namespace tcpu

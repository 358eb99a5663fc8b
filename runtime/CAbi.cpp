//===- CAbi.cpp - The C ABI that generated code calls ---------------------===//
#include "runtime/CAbi.h"

#include "runtime/Threading.h"

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>

namespace {

/// One arena per thread count, kept between calls: building a task_arena
/// per call would cost more than a small kernel does.
std::shared_ptr<tbb::task_arena> arenaFor(int threads) {
  static std::mutex mu;
  static std::shared_ptr<tbb::task_arena> arena;
  std::lock_guard<std::mutex> lock(mu);
  if (!arena || arena->max_concurrency() != threads) {
    arena = std::make_shared<tbb::task_arena>(threads);
    arena->initialize();
  }
  return arena;
}

/// Set while the calling thread runs a body directly (no arena): its slot
/// is then 0 whatever outer arena the thread belongs to.
thread_local bool runningDirectly = false;

struct ScratchBuffer {
  void *ptr = nullptr;
  int64_t bytes = 0;
  ~ScratchBuffer() { std::free(ptr); }
};

} // namespace

extern "C" void tcpu_parallel_for(int64_t n,
                                  void (*body)(void *, int64_t, int64_t),
                                  void *ctx) {
  if (n <= 0)
    return;
  int threads = tcpu::get_num_threads();
  if (n == 1 || threads == 1) {
    bool saved = runningDirectly;
    runningDirectly = true;
    body(ctx, 0, n);
    runningDirectly = saved;
    return;
  }
  std::shared_ptr<tbb::task_arena> arena = arenaFor(threads);
  bool saved = runningDirectly;
  runningDirectly = false;
  arena->execute([&] {
    // Grain 1 with a simple partitioner: the caller already sized the
    // indices as tasks worth a thread each.
    tbb::parallel_for(
        tbb::blocked_range<int64_t>(0, n, 1),
        [&](const tbb::blocked_range<int64_t> &r) {
          for (int64_t i = r.begin(); i != r.end(); ++i)
            body(ctx, i, i + 1);
        },
        tbb::simple_partitioner());
  });
  runningDirectly = saved;
}

extern "C" int64_t tcpu_num_threads(void) { return tcpu::get_num_threads(); }

extern "C" int64_t tcpu_thread_slot(void) {
  if (runningDirectly)
    return 0;
  int slot = tbb::this_task_arena::current_thread_index();
  return slot < 0 ? 0 : slot;
}

extern "C" void *tcpu_thread_scratch(int64_t bytes) {
  thread_local ScratchBuffer buf;
  if (bytes > buf.bytes) {
    std::free(buf.ptr);
    int64_t rounded = (bytes + 63) / 64 * 64;
    buf.ptr = std::aligned_alloc(64, static_cast<size_t>(rounded));
    if (!buf.ptr) {
      std::fprintf(stderr, "tcpu: out of memory for %lld scratch bytes\n",
                   static_cast<long long>(bytes));
      std::abort();
    }
    buf.bytes = rounded;
  }
  return buf.ptr;
}

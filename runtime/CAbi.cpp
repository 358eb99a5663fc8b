//===- CAbi.cpp - The C ABI that generated code calls ---------------------===//
#include "runtime/CAbi.h"

#include "runtime/ArenaState.h"
#include "runtime/Threading.h"

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace {

using tcpu::detail::ArenaState;
using tcpu::detail::currentArena;

/// Set while the calling thread runs a body directly (no arena): its slot
/// is then 0 whatever outer arena the thread belongs to.
thread_local bool runningDirectly = false;

struct ScratchBuffer {
  void *ptr = nullptr;
  int64_t bytes = 0;
  ~ScratchBuffer() { std::free(ptr); }
};

/// Makes `state` the current arena of this thread until destroyed.
struct CurrentArena {
  explicit CurrentArena(const ArenaState *state) : saved(currentArena()) {
    currentArena() = state;
  }
  ~CurrentArena() { currentArena() = saved; }
  const ArenaState *saved;
};

void callBody(void (*body)(void *, int64_t, int64_t), void *ctx, int64_t n,
              int64_t begin, int64_t end, int threads) {
  if (tcpu::detail::hasParallelTaskObserver())
    tcpu::detail::notifyParallelTask(
        {n, begin, end, tcpu_thread_slot(), threads});
  body(ctx, begin, end);
}

} // namespace

extern "C" void tcpu_parallel_for(int64_t n,
                                  void (*body)(void *, int64_t, int64_t),
                                  void *ctx) {
  if (n <= 0)
    return;
  // The model's arena (ModelArena::Scope), else the process-wide one.
  const ArenaState *state = currentArena();
  std::shared_ptr<const ArenaState> fallback;
  if (!state) {
    fallback = tcpu::detail::defaultArena(tcpu::get_num_threads());
    state = fallback.get();
  }
  if (n == 1 || state->threads == 1) {
    bool saved = runningDirectly;
    runningDirectly = true;
    callBody(body, ctx, n, 0, n, state->threads);
    runningDirectly = saved;
    return;
  }
  bool saved = runningDirectly;
  runningDirectly = false;
  state->arena.execute([&] {
    // Isolated: while this thread waits for the loop, it runs only the
    // loop's own tasks. A task of another run of the same model (sharing
    // the arena) could otherwise run here and take this thread's
    // tcpu_thread_scratch, which the caller's kernel may be using.
    tbb::this_task_arena::isolate([&] {
      // Grain 1 with a simple partitioner: the caller already sized the
      // indices as tasks worth a thread each.
      tbb::parallel_for(
          tbb::blocked_range<int64_t>(0, n, 1),
          [&](const tbb::blocked_range<int64_t> &r) {
            // Loops nested in the body (on a worker too) stay in this arena.
            CurrentArena current(state);
            for (int64_t i = r.begin(); i != r.end(); ++i)
              callBody(body, ctx, n, i, i + 1, state->threads);
          },
          tbb::simple_partitioner());
    });
  });
  runningDirectly = saved;
}

extern "C" int64_t tcpu_num_threads(void) {
  if (const ArenaState *state = currentArena())
    return state->threads;
  return tcpu::get_num_threads();
}

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

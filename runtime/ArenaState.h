//===- ArenaState.h - Internal: the arena the C ABI uses --------*- C++ -*-===//
//
// Shared by ModelArena.cpp and CAbi.cpp only (not part of the runtime's
// interface): an arena with its thread count, the calling thread's current
// one, the process-wide default, and the test observer.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/ModelArena.h"

#include <tbb/task_arena.h>

#include <memory>

namespace tcpu::detail {

struct ArenaState {
  explicit ArenaState(int n) : threads(n > 0 ? n : 1), arena(threads) {
    // Workers are set up here, once, rather than in the first run.
    if (threads > 1)
      arena.initialize();
  }
  const int threads;
  /// Unused when threads == 1: loops then run on the calling thread.
  mutable tbb::task_arena arena;
};

/// The arena of the innermost ModelArena::Scope on this thread (or of the
/// loop this worker is running a task of); null outside any.
const ArenaState *&currentArena();

/// The process-wide arena of `threads` threads, used outside any scope
/// (replaced when the count changes; callers hold it while they use it).
std::shared_ptr<const ArenaState> defaultArena(int threads);

/// Calls the observer of setParallelTaskObserver, if any.
void notifyParallelTask(const ParallelTaskInfo &info);
/// Whether an observer is set (one relaxed load: checked before building
/// the info).
bool hasParallelTaskObserver();

} // namespace tcpu::detail

//===- ModelArena.h - The threads of one compiled model ---------*- C++ -*-===//
//
// Each compiled model runs its parallel loops in a tbb::task_arena of its
// own, sized by the model's thread count, so a model never uses more threads
// than it was given and two models in one process share the cores instead of
// each assuming it has all of them. The engine enters the model's arena for a
// whole run (ModelArena::enter): while the returned Scope lives, the C ABI
// (tcpu_parallel_for, tcpu_num_threads; runtime/CAbi.h) on that thread, and
// on the workers running that thread's parallel loops, uses the model's
// arena. Outside any scope (kernels called directly, as tests and ahead-of-
// time code do) it uses a process-wide arena of get_num_threads() threads.
// Generated code never sees any of this: the C ABI signatures stay as they
// are. No LLVM here.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>

namespace tcpu {

namespace detail {
struct ArenaState;
} // namespace detail

class ModelArena {
public:
  /// threads > 0: a fixed count. 0: follow get_num_threads() (set_num_threads,
  /// TCPU_NUM_THREADS, OMP_NUM_THREADS) as it is when each run enters.
  explicit ModelArena(int threads = 0);
  ~ModelArena();
  ModelArena(const ModelArena &) = delete;
  ModelArena &operator=(const ModelArena &) = delete;

  /// The thread count a run entering now gets (>= 1).
  int threads() const;

  /// Makes the model's arena current on the calling thread until the scope
  /// ends (scopes nest; the innermost wins). Holds the arena alive: a run
  /// keeps its arena even if the global count changes meanwhile.
  class Scope {
  public:
    Scope(Scope &&other) noexcept;
    Scope(const Scope &) = delete;
    Scope &operator=(const Scope &) = delete;
    Scope &operator=(Scope &&) = delete;
    ~Scope();

  private:
    friend class ModelArena;
    explicit Scope(std::shared_ptr<const detail::ArenaState> state);
    std::shared_ptr<const detail::ArenaState> state_;
    const detail::ArenaState *saved_ = nullptr;
    bool active_ = false;
  };
  [[nodiscard]] Scope enter() const;

private:
  const int fixed_;
  mutable std::mutex mu_;
  /// The arena of the last count entered (replaced when a run enters with
  /// another count; runs still inside the old one keep it alive).
  mutable std::shared_ptr<const detail::ArenaState> state_;
};

/// A test hook: called for every body call tcpu_parallel_for makes, with
/// the loop's size n, the range [begin, end) of the call, the calling
/// thread's tcpu_thread_slot() and the thread count of the arena in use.
/// Process-wide; null removes it. Not for production use: it costs a call
/// per task.
struct ParallelTaskInfo {
  int64_t n = 0, begin = 0, end = 0, slot = 0, threads = 0;
};
using ParallelTaskObserver = void (*)(void *user, const ParallelTaskInfo &info);
void setParallelTaskObserver(ParallelTaskObserver observer, void *user);

} // namespace tcpu

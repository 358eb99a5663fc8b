//===- ModelArena.cpp - The threads of one compiled model ------------------===//
#include "runtime/ModelArena.h"

#include "runtime/ArenaState.h"
#include "runtime/Threading.h"

#include <atomic>

namespace tcpu {

namespace detail {

const ArenaState *&currentArena() {
  thread_local const ArenaState *current = nullptr;
  return current;
}

std::shared_ptr<const ArenaState> defaultArena(int threads) {
  static std::mutex mu;
  static std::shared_ptr<const ArenaState> arena;
  std::lock_guard<std::mutex> lock(mu);
  if (!arena || arena->threads != threads)
    arena = std::make_shared<const ArenaState>(threads);
  return arena;
}

namespace {
std::atomic<bool> observed{false};
std::mutex observerMutex;
ParallelTaskObserver observerFn = nullptr;
void *observerUser = nullptr;
} // namespace

bool hasParallelTaskObserver() {
  return observed.load(std::memory_order_relaxed);
}

void notifyParallelTask(const ParallelTaskInfo &info) {
  ParallelTaskObserver fn;
  void *user;
  {
    std::lock_guard<std::mutex> lock(observerMutex);
    fn = observerFn;
    user = observerUser;
  }
  if (fn)
    fn(user, info);
}

} // namespace detail

void setParallelTaskObserver(ParallelTaskObserver observer, void *user) {
  std::lock_guard<std::mutex> lock(detail::observerMutex);
  detail::observerFn = observer;
  detail::observerUser = user;
  detail::observed.store(observer != nullptr);
}

ModelArena::ModelArena(int threads) : fixed_(threads > 0 ? threads : 0) {}

ModelArena::~ModelArena() = default;

int ModelArena::threads() const {
  return fixed_ > 0 ? fixed_ : get_num_threads();
}

ModelArena::Scope ModelArena::enter() const {
  const int n = threads();
  std::shared_ptr<const detail::ArenaState> state;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!state_ || state_->threads != n)
      state_ = std::make_shared<const detail::ArenaState>(n);
    state = state_;
  }
  return Scope(std::move(state));
}

ModelArena::Scope::Scope(std::shared_ptr<const detail::ArenaState> state)
    : state_(std::move(state)), saved_(detail::currentArena()), active_(true) {
  detail::currentArena() = state_.get();
}

ModelArena::Scope::Scope(Scope &&other) noexcept
    : state_(std::move(other.state_)), saved_(other.saved_),
      active_(other.active_) {
  other.active_ = false;
}

ModelArena::Scope::~Scope() {
  if (active_)
    detail::currentArena() = saved_;
}

} // namespace tcpu

//===- Engine.cpp - The compiled engine behind tcpu::compile ---------------===//
#include "codegen/Engine.h"

#include "codegen/Jit.h"
#include "codegen/Lowering.h"
#include "codegen/ModuleBuilder.h"
#include "ir/Interpreter.h"
#include "ir/Verifier.h"
#include "runtime/CAbi.h"
#include "runtime/Threading.h"

#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"

#include <chrono>
#include <cstring>
#include <new>
#include <unordered_map>

namespace tcpu {

struct Engine::Arena {
  explicit Arena(int64_t bytes)
      : data(static_cast<uint8_t *>(::operator new(
            static_cast<size_t>(bytes > 0 ? bytes : 1), std::align_val_t(64)))) {}
  ~Arena() { ::operator delete(data, std::align_val_t(64)); }
  Arena(const Arena &) = delete;
  Arena &operator=(const Arena &) = delete;
  uint8_t *data;
};

Engine::~Engine() = default;

int64_t Engine::prepackedWeightBytes() const {
  int64_t bytes = 0;
  for (const auto &p : packedConstants_)
    bytes += p->bytes();
  return bytes;
}

absl::StatusOr<std::unique_ptr<Engine>>
Engine::create(const Graph &source, const CompileOptions &options) {
  auto start = std::chrono::steady_clock::now();
  if (absl::Status s = verify(source); !s.ok())
    return s;
  std::unique_ptr<Engine> e(new Engine());
  e->graph_ = source.clone();
  const Graph &graph = *e->graph_;
  e->taskArena_ = std::make_unique<ModelArena>(options.threads);

  absl::StatusOr<TargetDescription> target =
      selectTarget(options.triple, options.cpu);
  if (!target.ok())
    return target.status();
  absl::StatusOr<std::unique_ptr<Jit>> jit = Jit::create(*target, options.optLevel);
  if (!jit.ok())
    return jit.status();
  e->jit_ = std::move(*jit);
  // The runtime's C ABI, which generated kernels call.
  if (absl::Status s = e->jit_->defineSymbols(runtimeCAbiSymbols()); !s.ok())
    return s;

  // Where every value lives, and the kernels.
  auto lap = std::chrono::steady_clock::now();
  // Seconds since the last lap (the phases of compilePhases()).
  auto phase = [&lap] {
    auto now = std::chrono::steady_clock::now();
    double s = std::chrono::duration<double>(now - lap).count();
    lap = now;
    return s;
  };
  absl::StatusOr<LoweredGraph> lowered =
      lowerGraph(graph, *target, e->jit_->targetMachine().createDataLayout());
  e->phases_.lower = phase();
  if (!lowered.ok())
    return lowered.status();
  e->plan_ = std::move(lowered->plan);
  e->locations_ = std::move(lowered->locations);
  e->outputValues_ = std::move(lowered->outputValues);
  e->outputCache_ = std::make_shared<OutputCache>();
  for (const Value *v : e->outputValues_)
    e->outputBytes_ += v->type.byteSize();
  e->fallbackOps_ = lowered->unlowered;
  e->compiledOps_ = lowered->kernelCount;
  e->packedConstants_ = std::move(lowered->packedConstants);
  if (!e->fallbackOps_.empty() && !options.allowInterpreterFallback)
    return unloweredOpsError(graph, *lowered, "",
                             "and interpreter fallback is off");
  std::vector<std::pair<size_t, std::string>> kernels; // step, symbol
  for (LoweredStep &step : lowered->steps) {
    if (!step.kernel.empty())
      kernels.push_back({e->steps_.size(), step.kernel});
    e->steps_.push_back({step.op, nullptr, std::move(step.buffers)});
    e->stepNames_.push_back(std::move(step.name));
  }

  if (!kernels.empty()) {
    if (absl::Status s = e->jit_->addModule(
            llvm::orc::ThreadSafeModule(std::move(lowered->module),
                                        std::move(lowered->context)));
        !s.ok())
      return s;
    e->phases_.optimize = phase();
    // The first lookup generates the machine code of the whole module.
    for (const auto &[stepIndex, name] : kernels) {
      absl::StatusOr<void *> fn = e->jit_->lookup(name);
      if (!fn.ok())
        return fn.status();
      e->steps_[stepIndex].kernel = reinterpret_cast<int32_t (*)(void **)>(*fn);
    }
    e->phases_.codegen = phase();
  }
  e->compileSeconds_ = std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - start)
                           .count();
  return e;
}

absl::Status Engine::runSteps(std::vector<Tensor> &outputs,
                              const std::vector<Tensor> &inputs, uint8_t *arena,
                              std::vector<double> *stepSeconds) const {
  auto address = [&](const Location &l) -> void * {
    switch (l.kind) {
    case Location::Input:
      return const_cast<void *>(inputs[l.index].data());
    case Location::Constant:
      return const_cast<void *>(l.constant);
    case Location::Output:
      return outputs[l.index].mutableData();
    case Location::Arena:
      return arena + l.index;
    case Location::Absent:
      return nullptr;
    }
    return nullptr;
  };
  std::vector<void *> buffers;
  using Clock = std::chrono::steady_clock;
  Clock::time_point stepStart;
  for (size_t stepIndex = 0; stepIndex < steps_.size(); ++stepIndex) {
    if (stepSeconds) {
      Clock::time_point now = Clock::now();
      if (stepIndex > 0)
        (*stepSeconds)[stepIndex - 1] +=
            std::chrono::duration<double>(now - stepStart).count();
      stepStart = now;
    }
    const Step &step = steps_[stepIndex];
    buffers.clear();
    for (const Location &l : step.buffers)
      buffers.push_back(address(l));
    if (step.kernel) {
      if (int32_t code = step.kernel(buffers.data()); code != 0)
        return absl::InvalidArgumentError(stepNames_[stepIndex] + ": " +
                                          describeKernelError(code));
      continue;
    }
    // Interpreter fallback: operands alias the buffers; results are copied.
    const Op &op = *step.op;
    std::vector<Tensor> operandTensors(op.operands.size());
    std::vector<const Tensor *> operands;
    for (size_t i = 0; i < op.operands.size(); ++i) {
      if (!op.operands[i]) {
        operands.push_back(nullptr);
        continue;
      }
      operandTensors[i] = Tensor::alias(op.operands[i]->type, nullptr, buffers[i]);
      operands.push_back(&operandTensors[i]);
    }
    absl::StatusOr<std::vector<Tensor>> results = evaluateOp(op, operands);
    if (!results.ok())
      return results.status();
    for (size_t j = 0; j < op.numResults(); ++j) {
      const Tensor &r = (*results)[j];
      if (r.byteSize() != op.result(j)->type.byteSize())
        return absl::InternalError("interpreter result size mismatch for '" +
                                   std::string(op.mnemonic()) + "'");
      if (r.byteSize() > 0)
        std::memcpy(buffers[op.operands.size() + j], r.data(), r.byteSize());
    }
  }
  if (stepSeconds && !steps_.empty())
    stepSeconds->back() +=
        std::chrono::duration<double>(Clock::now() - stepStart).count();
  return absl::OkStatus();
}

struct Engine::OutputCache {
  std::mutex mutex;
  std::unordered_map<int64_t, std::vector<void *>> free; // by byte size
  int64_t cachedBytes = 0;
  ~OutputCache() {
    for (auto &[bytes, blocks] : free)
      for (void *p : blocks)
        ::operator delete(p, std::align_val_t(64));
  }
};

absl::StatusOr<Tensor> Engine::allocateOutput(const TensorType &type) const {
  int64_t bytes = type.byteSize();
  if (bytes > physicalMemoryBytes())
    return absl::ResourceExhaustedError(
        "output " + type.str() + " needs " + std::to_string(bytes) +
        " bytes, more than this machine's memory");
  // Kernels write every element of an output, so the memory is not zeroed.
  void *block = nullptr;
  {
    std::lock_guard<std::mutex> lock(outputCache_->mutex);
    auto it = outputCache_->free.find(bytes);
    if (it != outputCache_->free.end() && !it->second.empty()) {
      block = it->second.back();
      it->second.pop_back();
      outputCache_->cachedBytes -= bytes;
    }
  }
  if (!block)
    block = ::operator new(static_cast<size_t>(bytes > 0 ? bytes : 1),
                           std::align_val_t(64), std::nothrow);
  if (!block)
    return absl::ResourceExhaustedError("cannot allocate " +
                                        std::to_string(bytes) +
                                        " bytes for output " + type.str());
  // The block returns to the cache when the last copy of the tensor goes,
  // unless the model is gone or the cache already holds enough.
  std::weak_ptr<OutputCache> cache = outputCache_;
  int64_t limit = 2 * outputBytes_;
  std::shared_ptr<const void> owner(block, [cache, bytes, limit](const void *p) {
    void *mem = const_cast<void *>(p);
    if (std::shared_ptr<OutputCache> c = cache.lock()) {
      std::lock_guard<std::mutex> lock(c->mutex);
      if (c->cachedBytes + bytes <= limit) {
        c->free[bytes].push_back(mem);
        c->cachedBytes += bytes;
        return;
      }
    }
    ::operator delete(mem, std::align_val_t(64));
  });
  return Tensor::alias(type, std::move(owner), block);
}

absl::StatusOr<std::vector<Tensor>>
Engine::run(const std::vector<Tensor> &inputs) const {
  return runTimed(inputs, nullptr);
}

absl::StatusOr<std::vector<StepProfile>>
Engine::profile(const std::vector<Tensor> &inputs, int runs) const {
  if (runs < 1)
    return absl::InvalidArgumentError("profile needs at least one run, got " +
                                      std::to_string(runs));
  std::vector<double> seconds(steps_.size(), 0.0);
  for (int r = 0; r < runs; ++r)
    if (absl::StatusOr<std::vector<Tensor>> out = runTimed(inputs, &seconds);
        !out.ok())
      return out.status();
  std::vector<StepProfile> profile;
  for (size_t i = 0; i < steps_.size(); ++i)
    profile.push_back({stepNames_[i], std::string(steps_[i].op->mnemonic()),
                       steps_[i].kernel != nullptr, seconds[i]});
  return profile;
}

absl::StatusOr<std::vector<Tensor>>
Engine::runTimed(const std::vector<Tensor> &inputs,
                 std::vector<double> *stepSeconds) const {
  const Graph &graph = *graph_;
  if (inputs.size() != graph.inputs().size())
    return absl::InvalidArgumentError(
        "'" + graph.name + "' takes " + std::to_string(graph.inputs().size()) +
        " input(s), got " + std::to_string(inputs.size()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Value *in = graph.inputs()[i];
    if (absl::Status s = checkArgumentType("input '" + in->name + "'", in->type,
                                           inputs[i].type());
        !s.ok())
      return s;
    if (!inputs[i].valid())
      return absl::InvalidArgumentError("input '" + in->name + "' has no data");
  }

  std::vector<Tensor> slots;
  for (const Value *v : outputValues_) {
    absl::StatusOr<Tensor> t = allocateOutput(v->type);
    if (!t.ok())
      return t.status();
    slots.push_back(std::move(*t));
  }

  std::unique_ptr<Arena> arena;
  {
    std::lock_guard<std::mutex> lock(poolMutex_);
    if (!pool_.empty()) {
      arena = std::move(pool_.back());
      pool_.pop_back();
    }
  }
  if (!arena)
    arena = std::make_unique<Arena>(plan_.peakBytes);
  absl::Status status;
  {
    // Parallel loops of the kernels run in this model's arena.
    ModelArena::Scope scope = taskArena_->enter();
    status = runSteps(slots, inputs, arena->data, stepSeconds);
  }
  {
    std::lock_guard<std::mutex> lock(poolMutex_);
    pool_.push_back(std::move(arena));
  }
  if (!status.ok())
    return status;

  std::vector<Tensor> outputs;
  std::vector<bool> used(slots.size(), false);
  for (const GraphOutput &o : graph.outputs()) {
    const Location &l = locations_.at(o.value);
    if (l.kind == Location::Output && !used[l.index]) {
      used[l.index] = true;
      outputs.push_back(slots[l.index]);
      continue;
    }
    // An input, a constant or a repeated output: a copy of its own.
    const Tensor &src = l.kind == Location::Output  ? slots[l.index]
                        : l.kind == Location::Input ? inputs[l.index]
                                                    : Tensor();
    absl::StatusOr<Tensor> copy =
        l.kind == Location::Constant
            ? o.value->definingOp()->constantValue()->clone()
            : src.clone();
    if (!copy.ok())
      return copy.status();
    outputs.push_back(std::move(*copy));
  }
  return outputs;
}

// compile() is in Compile.cpp: the graph passes, then Engine::create.

} // namespace tcpu

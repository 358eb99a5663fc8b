//===- Engine.h - The compiled engine behind tcpu::compile -------*- C++ -*-===//
//
// A compiled model is a list of steps, one per non-constant op in graph
// order: a JIT-compiled kernel `int32_t tcpu_kernel_<n>(void **buffers)` or, for
// an op whose lowering is Unimplemented, the reference interpreter's
// evaluateOp writing into the same buffers. Each value lives in one place:
// a run's input tensor, a constant's data, a run's output tensor, or its
// offset in the arena of the static memory plan. Each run() takes an arena
// from a mutex-protected pool (allocating one when all are busy), so
// concurrent runs never share intermediates.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/MemoryPlan.h"
#include "codegen/ModuleBuilder.h"
#include "codegen/Tcpu.h"
#include "runtime/ModelArena.h"

#include <mutex>

namespace tcpu {

class Jit;

class Engine final : public CompiledModel {
public:
  static absl::StatusOr<std::unique_ptr<Engine>>
  create(const Graph &graph, const CompileOptions &options);
  ~Engine() override;

  absl::StatusOr<std::vector<Tensor>>
  run(const std::vector<Tensor> &inputs) const override;
  absl::StatusOr<std::vector<StepProfile>>
  profile(const std::vector<Tensor> &inputs, int runs) const override;
  int64_t peakArenaBytes() const override { return plan_.peakBytes; }
  int64_t naiveArenaBytes() const override { return plan_.naiveBytes; }
  double compileSeconds() const override { return compileSeconds_; }
  CompilePhases compilePhases() const override { return phases_; }
  std::vector<std::string> fallbackOps() const override { return fallbackOps_; }
  int compiledOps() const override { return compiledOps_; }
  int prepackedWeights() const override {
    return static_cast<int>(packedConstants_.size());
  }
  int64_t prepackedWeightBytes() const override;
  int threads() const override { return taskArena_->threads(); }

  const MemoryPlan &memoryPlan() const { return plan_; }

private:
  Engine() = default;

  /// Where a value lives during a run (codegen/ModuleBuilder.h).
  using Location = ValueLocation;
  struct Step {
    const Op *op = nullptr;
    int32_t (*kernel)(void **) = nullptr; // null: interpreter fallback
    std::vector<Location> buffers;     // operands, then results
  };
  struct Arena;

  /// One run; adds each step's wall time to stepSeconds when given.
  absl::StatusOr<std::vector<Tensor>>
  runTimed(const std::vector<Tensor> &inputs,
           std::vector<double> *stepSeconds) const;
  absl::Status runSteps(std::vector<Tensor> &outputs,
                        const std::vector<Tensor> &inputs, uint8_t *arena,
                        std::vector<double> *stepSeconds) const;

  std::unique_ptr<Graph> graph_;
  std::unique_ptr<Jit> jit_;
  MemoryPlan plan_;
  std::vector<Step> steps_;
  std::vector<std::string> stepNames_; // "gather %y", for kernel errors
  std::unordered_map<const Value *, Location> locations_;
  /// Output slots: one tensor per distinct op-defined output value.
  std::vector<const Value *> outputValues_;
  int64_t outputBytes_ = 0; // one run's output slots
  std::vector<std::string> fallbackOps_;
  int compiledOps_ = 0;
  /// Constants the kernels read in packed form (steps point into them).
  std::vector<std::shared_ptr<const PackedConstant>> packedConstants_;
  /// The model's tbb::task_arena, entered for each run.
  std::unique_ptr<ModelArena> taskArena_;
  double compileSeconds_ = 0;
  CompilePhases phases_;

  /// Output buffers handed back when the caller drops a result, so that a
  /// loop of run() calls does not page in and zero fresh memory each time.
  struct OutputCache;
  std::shared_ptr<OutputCache> outputCache_;
  absl::StatusOr<Tensor> allocateOutput(const TensorType &type) const;

  mutable std::mutex poolMutex_;
  mutable std::vector<std::unique_ptr<Arena>> pool_;
};

} // namespace tcpu

//===- Compile.cpp - tcpu::compile: graph passes, then the engine ----------===//
//
// compile() runs the pipeline of options.graphOptLevel on a copy of the
// graph, then builds the Engine from the result. The model it returns wraps
// the engine to report the level, the time of the passes and their remarks.
//
//===----------------------------------------------------------------------===//
#include "codegen/Engine.h"
#include "codegen/Target.h"
#include "ir/Verifier.h"
#include "passes/Pipelines.h"
#include "passes/Remarks.h"

#include <algorithm>
#include <chrono>

namespace tcpu {

namespace {

class OptimizedModel final : public CompiledModel {
public:
  OptimizedModel(std::unique_ptr<Engine> engine, int level, double passSeconds,
                 double totalSeconds, std::vector<std::string> remarks)
      : engine_(std::move(engine)), level_(level), passSeconds_(passSeconds),
        totalSeconds_(totalSeconds), remarks_(std::move(remarks)) {}

  absl::StatusOr<std::vector<Tensor>>
  run(const std::vector<Tensor> &inputs) const override {
    return engine_->run(inputs);
  }
  absl::StatusOr<std::vector<StepProfile>>
  profile(const std::vector<Tensor> &inputs, int runs) const override {
    return engine_->profile(inputs, runs);
  }
  int64_t peakArenaBytes() const override { return engine_->peakArenaBytes(); }
  int64_t naiveArenaBytes() const override { return engine_->naiveArenaBytes(); }
  double compileSeconds() const override { return totalSeconds_; }
  std::vector<std::string> fallbackOps() const override {
    return engine_->fallbackOps();
  }
  int compiledOps() const override { return engine_->compiledOps(); }
  int prepackedWeights() const override { return engine_->prepackedWeights(); }
  int64_t prepackedWeightBytes() const override {
    return engine_->prepackedWeightBytes();
  }
  int threads() const override { return engine_->threads(); }
  int graphOptLevel() const override { return level_; }
  double graphPassSeconds() const override { return passSeconds_; }
  std::vector<std::string> passRemarks() const override { return remarks_; }
  CompilePhases compilePhases() const override {
    return engine_->compilePhases();
  }

private:
  std::unique_ptr<Engine> engine_;
  int level_;
  double passSeconds_, totalSeconds_;
  std::vector<std::string> remarks_;
};

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

} // namespace

absl::StatusOr<std::unique_ptr<CompiledModel>>
compile(const Graph &graph, const CompileOptions &options) {
  auto start = std::chrono::steady_clock::now();
  // select-layout's channel block is one vector of the target.
  absl::StatusOr<TargetDescription> target =
      selectTarget(options.triple, options.cpu);
  if (!target.ok())
    return target.status();
  absl::StatusOr<std::vector<PipelineStep>> steps = stepsForLevel(
      options.graphOptLevel, std::max(target->f32VectorWidth, 1));
  if (!steps.ok())
    return steps.status();
  std::unique_ptr<Graph> optimized;
  std::vector<std::string> remarks;
  if (!steps->empty()) {
    // The passes expect a verified graph.
    if (absl::Status s = verify(graph); !s.ok())
      return s;
    optimized = graph.clone();
    std::vector<Remark> collected;
    PipelineOptions pipelineOptions;
    pipelineOptions.remarks = &collected;
    if (absl::Status s = runPipeline(*optimized, *steps, pipelineOptions);
        !s.ok())
      return absl::Status(s.code(), "graph optimization (-O" +
                                        std::to_string(options.graphOptLevel) +
                                        "): " + std::string(s.message()));
    for (const Remark &r : collected)
      remarks.push_back(r.str());
  }
  double passSeconds = steps->empty() ? 0.0 : secondsSince(start);
  absl::StatusOr<std::unique_ptr<Engine>> e =
      Engine::create(optimized ? *optimized : graph, options);
  if (!e.ok())
    return e.status();
  return std::unique_ptr<CompiledModel>(std::make_unique<OptimizedModel>(
      std::move(*e), options.graphOptLevel, passSeconds, secondsSince(start),
      std::move(remarks)));
}

} // namespace tcpu

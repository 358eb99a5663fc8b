//===- Engine.cpp - The compiled engine behind tcpu::compile ---------------===//
#include "codegen/Engine.h"

#include "codegen/Jit.h"
#include "codegen/Lowering.h"
#include "ir/Interpreter.h"
#include "ir/Verifier.h"
#include "runtime/CAbi.h"
#include "runtime/Threading.h"

#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"

#include <chrono>
#include <cstring>
#include <new>

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

namespace {

std::string describe(const Op &op, int index) {
  const Value *v = op.numResults() ? op.result(0) : nullptr;
  std::string name = v && !v->name.empty() ? "%" + v->name
                                           : "#" + std::to_string(index);
  return std::string(op.mnemonic()) + " " + name;
}

} // namespace

absl::StatusOr<std::unique_ptr<Engine>>
Engine::create(const Graph &source, const CompileOptions &options) {
  auto start = std::chrono::steady_clock::now();
  if (absl::Status s = verify(source); !s.ok())
    return s;
  std::unique_ptr<Engine> e(new Engine());
  e->graph_ = source.clone();
  const Graph &graph = *e->graph_;
  e->threads_ = options.threads > 0 ? options.threads : get_num_threads();

  TargetDescription target;
  if (options.triple.empty() && options.cpu.empty()) {
    target = hostTarget();
  } else {
    absl::StatusOr<TargetDescription> t = makeTarget(
        options.triple.empty() ? hostTarget().triple : options.triple, options.cpu);
    if (!t.ok())
      return t.status();
    target = *t;
  }
  absl::StatusOr<std::unique_ptr<Jit>> jit = Jit::create(target, options.optLevel);
  if (!jit.ok())
    return jit.status();
  e->jit_ = std::move(*jit);
  // The runtime's C ABI, which generated kernels call.
  if (absl::Status s = e->jit_->defineSymbols({
          {"tcpu_parallel_for", reinterpret_cast<void *>(&tcpu_parallel_for)},
          {"tcpu_num_threads", reinterpret_cast<void *>(&tcpu_num_threads)},
          {"tcpu_thread_slot", reinterpret_cast<void *>(&tcpu_thread_slot)},
          {"tcpu_thread_scratch", reinterpret_cast<void *>(&tcpu_thread_scratch)},
      });
      !s.ok())
    return s;

  // Where every value lives.
  e->plan_ = planMemory(graph);
  for (size_t i = 0; i < graph.inputs().size(); ++i)
    e->locations_[graph.inputs()[i]] = {Location::Input, static_cast<int64_t>(i)};
  for (const auto &op : graph.ops())
    if (op->kind() == OpKind::Constant)
      e->locations_[op->result(0)] = {Location::Constant, 0,
                                      op->constantValue()->data()};
  for (const GraphOutput &o : graph.outputs()) {
    if (e->locations_.count(o.value))
      continue; // an input or a constant: copied at the end of a run
    e->locations_[o.value] = {Location::Output,
                              static_cast<int64_t>(e->outputValues_.size())};
    e->outputValues_.push_back(o.value);
  }
  for (const auto &[value, offset] : e->plan_.offsets)
    e->locations_[value] = {Location::Arena, offset};

  // Lower every op into one module.
  auto context = std::make_unique<llvm::LLVMContext>();
  auto module = std::make_unique<llvm::Module>("tcpu." + graph.name, *context);
  module->setDataLayout(e->jit_->targetMachine().createDataLayout());
  std::vector<std::pair<size_t, std::string>> kernels; // step, symbol
  std::string missing;
  int index = 0;
  for (const auto &opPtr : graph.ops()) {
    const Op &op = *opPtr;
    int opIndex = index++;
    if (op.kind() == OpKind::Constant)
      continue;
    Step step;
    step.op = &op;
    for (const Value *v : op.operands)
      step.buffers.push_back(v ? e->locations_.at(v) : Location{});
    for (const Value *v : op.results())
      step.buffers.push_back(e->locations_.at(v));
    std::string name = "tcpu_kernel_" + std::to_string(opIndex);
    LoweringContext ctx(*module, target, op, name);
    absl::Status s = loweringFor(op.kind())(op, ctx);
    if (s.ok()) {
      kernels.push_back({e->steps_.size(), name});
      ++e->compiledOps_;
    } else if (absl::IsUnimplemented(s)) {
      ctx.function()->eraseFromParent();
      e->fallbackOps_.push_back(describe(op, opIndex));
      missing += "\n  " + describe(op, opIndex) + ": " + std::string(s.message());
    } else {
      return absl::Status(s.code(), describe(op, opIndex) + ": " +
                                        std::string(s.message()));
    }
    e->steps_.push_back(std::move(step));
    e->stepNames_.push_back(describe(op, opIndex));
  }
  if (!e->fallbackOps_.empty() && !options.allowInterpreterFallback)
    return absl::UnimplementedError(
        "cannot compile '" + graph.name + "': " +
        std::to_string(e->fallbackOps_.size()) +
        " op(s) have no lowering (and interpreter fallback is off):" + missing);

  if (!kernels.empty()) {
    if (absl::Status s = e->jit_->addModule(
            llvm::orc::ThreadSafeModule(std::move(module), std::move(context)));
        !s.ok())
      return s;
    for (const auto &[stepIndex, name] : kernels) {
      absl::StatusOr<void *> fn = e->jit_->lookup(name);
      if (!fn.ok())
        return fn.status();
      e->steps_[stepIndex].kernel = reinterpret_cast<int32_t (*)(void **)>(*fn);
    }
  }
  e->compileSeconds_ = std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - start)
                           .count();
  return e;
}

absl::Status Engine::runSteps(std::vector<Tensor> &outputs,
                              const std::vector<Tensor> &inputs,
                              uint8_t *arena) const {
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
  for (size_t stepIndex = 0; stepIndex < steps_.size(); ++stepIndex) {
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
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Tensor>>
Engine::run(const std::vector<Tensor> &inputs) const {
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
    absl::StatusOr<Tensor> t = Tensor::allocate(v->type);
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
  absl::Status status = runSteps(slots, inputs, arena->data);
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

absl::StatusOr<std::unique_ptr<CompiledModel>>
compile(const Graph &graph, const CompileOptions &options) {
  absl::StatusOr<std::unique_ptr<Engine>> e = Engine::create(graph, options);
  if (!e.ok())
    return e.status();
  return std::unique_ptr<CompiledModel>(std::move(*e));
}

} // namespace tcpu

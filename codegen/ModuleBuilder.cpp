//===- ModuleBuilder.cpp - A graph's kernels in one LLVM module ------------===//
#include "codegen/ModuleBuilder.h"

#include "codegen/Lowering.h"

#include "llvm/IR/DataLayout.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"

namespace tcpu {

LoweredGraph::LoweredGraph() = default;
LoweredGraph::LoweredGraph(LoweredGraph &&) = default;
LoweredGraph &LoweredGraph::operator=(LoweredGraph &&) = default;
LoweredGraph::~LoweredGraph() = default;

std::string describeOp(const Op &op, int index) {
  const Value *v = op.numResults() ? op.result(0) : nullptr;
  std::string name = v && !v->name.empty() ? "%" + v->name
                                           : "#" + std::to_string(index);
  return std::string(op.mnemonic()) + " " + name;
}

absl::StatusOr<LoweredGraph> lowerGraph(const Graph &graph,
                                        const TargetDescription &target,
                                        const llvm::DataLayout &layout) {
  LoweredGraph g;
  // Where every value lives. Elementwise results may overwrite a dying
  // operand, and reshapes alias their operand (no step at all).
  g.plan = planMemory(graph, MemoryPlanOptions{.inPlace = true,
                                               .aliasReshapes = true});
  using Location = ValueLocation;
  for (size_t i = 0; i < graph.inputs().size(); ++i)
    g.locations[graph.inputs()[i]] = {Location::Input, static_cast<int64_t>(i)};
  for (const auto &op : graph.ops())
    if (op->kind() == OpKind::Constant) {
      g.locations[op->result(0)] = {Location::Constant,
                                    static_cast<int64_t>(g.constants.size()),
                                    op->constantValue()->data()};
      g.constants.push_back(op->result(0));
    }
  for (const GraphOutput &o : graph.outputs()) {
    if (g.locations.count(o.value))
      continue; // an input, a constant or a repeat: copied at the end of a run
    g.locations[o.value] = {Location::Output,
                            static_cast<int64_t>(g.outputValues.size())};
    g.outputValues.push_back(o.value);
  }
  for (const auto &[value, offset] : g.plan.offsets)
    g.locations[value] = {Location::Arena, offset};
  for (const auto &[value, output] : g.plan.outputAliases)
    g.locations[value] = g.locations.at(output);

  // Lower every op into one module.
  g.context = std::make_unique<llvm::LLVMContext>();
  g.module = std::make_unique<llvm::Module>("tcpu." + graph.name, *g.context);
  g.module->setDataLayout(layout);
  int index = 0;
  for (const auto &opPtr : graph.ops()) {
    const Op &op = *opPtr;
    int opIndex = index++;
    if (op.kind() == OpKind::Constant || g.plan.aliasOps.count(&op))
      continue;
    LoweredStep step;
    step.op = &op;
    step.name = describeOp(op, opIndex);
    for (const Value *v : op.operands)
      step.buffers.push_back(v ? g.locations.at(v) : Location{});
    for (const Value *v : op.results())
      step.buffers.push_back(g.locations.at(v));
    std::string name = "tcpu_kernel_" + std::to_string(opIndex);
    LoweringContext ctx(*g.module, target, op, name);
    absl::Status s = loweringFor(op.kind())(op, ctx);
    if (s.ok()) {
      step.kernel = name;
      ++g.kernelCount;
      for (const auto &[i, data] : ctx.replacedOperands()) {
        ValueLocation &l = step.buffers[i];
        l.kind = Location::Constant;
        l.constant = data->data();
        l.packed = static_cast<int64_t>(g.packedConstants.size());
        g.packedConstants.push_back(data);
      }
    } else if (absl::IsUnimplemented(s)) {
      ctx.function()->eraseFromParent();
      step.unimplemented = std::string(s.message());
      g.unlowered.push_back(step.name);
    } else {
      return absl::Status(s.code(), step.name + ": " + std::string(s.message()));
    }
    g.steps.push_back(std::move(step));
  }
  return g;
}

absl::Status unloweredOpsError(const Graph &graph, const LoweredGraph &lowered,
                               const std::string &how, const std::string &why) {
  std::string list;
  for (const LoweredStep &step : lowered.steps)
    if (step.kernel.empty())
      list += "\n  " + step.name + ": " + step.unimplemented;
  return absl::UnimplementedError(
      "cannot compile '" + graph.name + "'" + how + ": " +
      std::to_string(lowered.unlowered.size()) + " op(s) have no lowering (" +
      why + "):" + list);
}

} // namespace tcpu

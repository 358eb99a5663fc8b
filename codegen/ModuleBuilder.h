//===- ModuleBuilder.h - A graph's kernels in one LLVM module ---*- C++ -*-===//
//
// What the JIT engine (codegen/Engine.h) and the ahead-of-time emitter
// (codegen/Aot.h) share: where each value of a graph lives during a run (a
// graph input, a constant, an output slot, or an offset in the arena of the
// static memory plan), and one LLVM module with a kernel
// `i32 tcpu_kernel_<n>(ptr buffers)` per lowered op, n being the op's index
// in the graph. Ops whose lowering is Unimplemented are listed rather than
// failing: the JIT runs them on the interpreter, AOT refuses them.
// LLVM-free header (the module is held through forward declarations).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/MemoryPlan.h"
#include "codegen/PackedConstant.h"
#include "codegen/Target.h"
#include "ir/Graph.h"

#include "absl/status/statusor.h"

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace llvm {
class DataLayout;
class LLVMContext;
class Module;
} // namespace llvm

namespace tcpu {

/// Where a value lives during a run.
struct ValueLocation {
  enum Kind { Input, Constant, Output, Arena, Absent } kind = Absent;
  /// Input: the input's index; Constant: its index in LoweredGraph::constants;
  /// Output: the output slot; Arena: the byte offset.
  int64_t index = 0;
  const void *constant = nullptr; // Constant: its data
  /// Constant: >= 0 when the data is LoweredGraph::packedConstants[packed],
  /// derived from constant `index` by the step's lowering.
  int64_t packed = -1;
};

/// One non-constant op, in graph order.
struct LoweredStep {
  const Op *op = nullptr;
  std::string name;   // "gather %y": how errors name the op
  std::string kernel; // the kernel's symbol; empty when the op has no lowering
  std::string unimplemented;          // why not, when kernel is empty
  std::vector<ValueLocation> buffers; // operands (Absent when optional), results
};

struct LoweredGraph {
  LoweredGraph();
  LoweredGraph(LoweredGraph &&);
  LoweredGraph &operator=(LoweredGraph &&);
  ~LoweredGraph();

  MemoryPlan plan;
  std::unordered_map<const Value *, ValueLocation> locations;
  /// One output slot per distinct graph output defined by an op (outputs
  /// that are inputs or constants, or repeat another, are copied instead).
  std::vector<const Value *> outputValues;
  /// The results of constant ops, in graph order.
  std::vector<const Value *> constants;
  /// Data the lowerings derived from constants (packed GEMM operands), in
  /// step order; steps point at them through ValueLocation::packed.
  std::vector<std::shared_ptr<const PackedConstant>> packedConstants;
  std::vector<LoweredStep> steps;
  /// The names of the steps without a kernel, in order.
  std::vector<std::string> unlowered;
  int kernelCount = 0;
  /// The kernels (the module is destroyed before its context).
  std::unique_ptr<llvm::LLVMContext> context;
  std::unique_ptr<llvm::Module> module;
};

/// "argmax %a" (or "argmax #3", by op index, for an unnamed result).
std::string describeOp(const Op &op, int index);

/// Plans the memory of `graph` (verified; it must outlive the result) and
/// lowers every op for `target` into one module with data layout `layout`.
/// A lowering that fails with anything but Unimplemented is an error naming
/// the op ("conv2d %y: ...").
absl::StatusOr<LoweredGraph> lowerGraph(const Graph &graph,
                                        const TargetDescription &target,
                                        const llvm::DataLayout &layout);

/// "cannot compile 'g'<how>: N op(s) have no lowering (<why>):" followed
/// by one line per op and its reason (Unimplemented).
absl::Status unloweredOpsError(const Graph &graph, const LoweredGraph &lowered,
                               const std::string &how, const std::string &why);

} // namespace tcpu

//===- Tcpu.h - The public C++ API: compile a graph and run it ---*- C++ -*-===//
//
//   auto model = tcpu::compile(graph, {});           // LLVM ORC JIT
//   auto outputs = (*model)->run({x});               // tensors in, tensors out
//
// Errors are Status values. Ops without a lowering yet run on the reference
// interpreter inside the compiled model (allowInterpreterFallback), so every
// graph the interpreter runs also compiles. No LLVM in this header.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"
#include "ir/Tensor.h"

#include "absl/status/statusor.h"

#include <memory>
#include <string>
#include <vector>

namespace tcpu {

struct CompileOptions {
  /// Threads for this model: its parallel loops run in a tbb::task_arena of
  /// its own with this many threads, so models in one process never use
  /// more than they were given. 0: follow tcpu::get_num_threads()
  /// (set_num_threads, TCPU_NUM_THREADS, OMP_NUM_THREADS) as it is when each
  /// run() starts, as PyTorch's set_num_threads does.
  int threads = 0;
  /// Target triple and CPU ("": the host). The JIT runs host code only.
  std::string triple, cpu;
  /// Run ops without a lowering on the interpreter; when false, compile()
  /// fails and lists them.
  bool allowInterpreterFallback = true;
  /// Graph optimization level: the passes compile() runs on (a copy of) the
  /// graph before lowering, as tcpu-opt -O<n> (passes/Pipelines.h): 0 none,
  /// the graph is compiled as written; 1 fold, canonicalize, cse, dce; 2 also
  /// BatchNorm folding; 3 also fusion and layouts. 0 by default so that a
  /// graph built to exercise one kernel runs that kernel; tcpu-run defaults
  /// to 3.
  int graphOptLevel = 0;
  /// LLVM optimization level of the generated kernels, 2 or 3: how LLVM
  /// optimizes each kernel, independent of graphOptLevel.
  int optLevel = 2;
};

/// Where compile() spent its time, in seconds (parts of compileSeconds).
struct CompilePhases {
  double lower = 0;    // the graph lowered to LLVM IR (tcpu's own emission)
  double optimize = 0; // LLVM's IR pipeline (O2/O3), with verification
  double codegen = 0;  // LLVM's instruction selection etc., and JIT linking
};

/// One step of a profiled run (CompiledModel::profile).
struct StepProfile {
  std::string op;       // "conv2d %y", as errors name it
  std::string kind;     // its mnemonic, "conv2d"
  bool compiled = true; // false: it ran on the interpreter
  double seconds = 0;   // wall time over all profiled runs
};

class CompiledModel {
public:
  virtual ~CompiledModel() = default;

  /// Runs the model on `inputs` (in the order of the graph's inputs). A
  /// wrong count, dtype or shape is an error naming the input. Safe to call
  /// from several threads at once.
  virtual absl::StatusOr<std::vector<Tensor>>
  run(const std::vector<Tensor> &inputs) const = 0;

  /// Bytes of the arena that holds the intermediates (fixed at compile time).
  virtual int64_t peakArenaBytes() const = 0;
  /// Bytes the intermediates would take with a buffer each (no reuse, no
  /// in-place, no aliases): the baseline of peakArenaBytes.
  virtual int64_t naiveArenaBytes() const = 0;
  /// Wall time of compile(), in seconds (graph passes included).
  virtual double compileSeconds() const = 0;
  /// The graph optimization level compile() applied, the wall time of its
  /// passes (part of compileSeconds), and their remarks (Remark::str(): what
  /// was rewritten, what was not and why).
  virtual int graphOptLevel() const { return 0; }
  virtual double graphPassSeconds() const { return 0; }
  virtual std::vector<std::string> passRemarks() const { return {}; }
  /// The phases of compile() after the graph passes.
  virtual CompilePhases compilePhases() const { return {}; }
  /// The ops that run on the interpreter, e.g. "matmul %hidden", in order.
  virtual std::vector<std::string> fallbackOps() const = 0;
  /// Number of ops running as generated kernels (constants not counted).
  virtual int compiledOps() const = 0;
  /// Constant operands packed at compile time into the layout of their
  /// kernel (GEMM weights), and the bytes of those packed copies.
  virtual int prepackedWeights() const { return 0; }
  virtual int64_t prepackedWeightBytes() const { return 0; }
  /// Runs the model `runs` times on `inputs` and times every step (ops in
  /// graph order; constants and aliases take no time and are not listed).
  /// The clock reads between steps cost about a microsecond a step.
  virtual absl::StatusOr<std::vector<StepProfile>>
  profile(const std::vector<Tensor> &inputs, int runs) const {
    (void)inputs, (void)runs;
    return absl::UnimplementedError("this model cannot be profiled");
  }
  /// Threads a run starting now gets (options.threads, or the global count
  /// when that was 0).
  virtual int threads() const = 0;
};

/// Optimizes (options.graphOptLevel), lowers, JIT-compiles and plans the
/// memory of `graph` (which is verified first; the model keeps its own
/// copy).
absl::StatusOr<std::unique_ptr<CompiledModel>>
compile(const Graph &graph, const CompileOptions &options = {});

} // namespace tcpu

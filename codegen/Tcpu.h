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
  /// Threads for this model (0: tcpu::get_num_threads()).
  int threads = 0;
  /// Target triple and CPU ("": the host). The JIT runs host code only.
  std::string triple, cpu;
  /// Run ops without a lowering on the interpreter; when false, compile()
  /// fails and lists them.
  bool allowInterpreterFallback = true;
  /// LLVM optimization level, 2 or 3.
  int optLevel = 2;
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
  /// Wall time of compile(), in seconds.
  virtual double compileSeconds() const = 0;
  /// The ops that run on the interpreter, e.g. "matmul %hidden", in order.
  virtual std::vector<std::string> fallbackOps() const = 0;
  /// Number of ops running as generated kernels (constants not counted).
  virtual int compiledOps() const = 0;
  /// Threads the model runs with.
  virtual int threads() const = 0;
};

/// Lowers, JIT-compiles and plans the memory of `graph` (which is verified
/// first; the model keeps its own copy).
absl::StatusOr<std::unique_ptr<CompiledModel>>
compile(const Graph &graph, const CompileOptions &options = {});

} // namespace tcpu

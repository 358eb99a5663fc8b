//===- Aot.h - Ahead-of-time compilation of a whole model -------*- C++ -*-===//
//
// `tcpu-opt MODEL --emit=obj -o model.o` compiles every op of a graph into
// one object whose entry point
//
//   int32_t <prefix>_run(const void *const *inputs, void *const *outputs,
//                        void *arena, const void *weights);
//
// calls the kernels in graph order with buffer tables built from the
// inputs, the outputs, the arena offsets of the static memory plan and the
// constants, and returns 0 or the first nonzero code (runtime/AotRuntime.h).
// Constants are 64-byte aligned read-only data in the object, or, with
// external weights, offsets into a weights file that the runtime maps
// (`weights` is then its data; the entry checks its magic and fingerprint).
// The object links against tcpu_runtime alone (and oneTBB, libm): there is
// no interpreter, so a graph with an op that has no lowering is an error
// listing them. `--emit=header` writes the C header that declares the entry
// point and gives the input/output names, dtypes and shapes and the arena
// size; `--emit=llvm` and `--emit=asm` are for inspection. No LLVM here.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"

#include "absl/status/statusor.h"

#include <string>

namespace tcpu {

enum class AotEmitKind { Object, Assembly, LLVMIR, Header };

/// "obj", "asm", "llvm" or "header"; an error lists them.
absl::StatusOr<AotEmitKind> parseAotEmitKind(const std::string &name);

struct AotOptions {
  AotEmitKind kind = AotEmitKind::Object;
  /// Target triple and CPU ("": the host; "native": the host's CPU).
  std::string triple, cpu;
  /// LLVM optimization level, 0 to 3.
  int optLevel = 2;
  /// The entry point is <entryPrefix>_run and the header's macros start
  /// with its upper-case form; "" takes the graph's name (non-identifier
  /// characters become '_'). Must be a C identifier.
  std::string entryPrefix;
  /// Constants in a separate weights file (writeAotWeights) instead of the
  /// object; weightsFileName is what the header tells users to map.
  bool externalWeights = false;
  std::string weightsFileName;
  /// Where the model came from, for the header's comment.
  std::string sourceName;
};

/// Compiles `graph` (verified first) and returns the bytes of
/// options.kind: an ELF/Mach-O/COFF object, assembly text, LLVM IR text (as
/// optimized) or the C header.
absl::StatusOr<std::string> emitAot(const Graph &graph,
                                    const AotOptions &options);

/// Writes the weights file of `graph` compiled with `options` (the format
/// is in runtime/AotRuntime.h) to `path`: the constants, then the copies
/// the kernels for the options' target read packed (which is why it lowers
/// the graph). An error names the path and the reason.
absl::Status writeAotWeights(const Graph &graph, const std::string &path,
                             const AotOptions &options = {});

} // namespace tcpu

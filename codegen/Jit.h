//===- Jit.h - A thin wrapper over LLVM's ORC LLJIT -------------*- C++ -*-===//
//
// One Jit per compiled model: it owns an LLJIT whose target machine is set up
// from a TargetDescription (CPU and features, so AVX2/FMA/AVX-512 are used),
// optimizes each module with LLVM's O2/O3 pipeline before adding it, and
// resolves symbols of generated code against (1) symbols registered with
// defineSymbols (the runtime's C ABI) and (2) the process (libm: exp, erf...).
// llvm::Error becomes absl::Status here. Internal to codegen/: the header
// names LLVM types, so only codegen/ includes it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Target.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ExecutionEngine/Orc/ThreadSafeModule.h"
#include "llvm/Support/Error.h"
#include "llvm/Target/TargetMachine.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tcpu {

/// Converts an llvm::Error into a Status (Internal, with LLVM's message
/// prefixed by `context`); success gives OkStatus.
absl::Status toStatus(llvm::Error err, const std::string &context = "");

/// Initializes the native target, its asm printer and parser (idempotent).
void initializeNativeLLVM();

/// The runtime's C ABI (runtime/CAbi.h), name -> address, for
/// Jit::defineSymbols: what generated kernels call.
std::vector<std::pair<std::string, void *>> runtimeCAbiSymbols();

class Jit {
public:
  /// A JIT for `target`, which must run on this machine (checkRunsOnHost:
  /// generated code runs in this process). optLevel is 2 or 3.
  static absl::StatusOr<std::unique_ptr<Jit>>
  create(const TargetDescription &target, int optLevel = 2);

  /// A target machine configured like the JIT's (for the optimizer's cost
  /// model and for setting up modules).
  llvm::TargetMachine &targetMachine() { return *tm_; }
  const TargetDescription &target() const { return target_; }

  /// Makes `symbols` (name -> address) visible to generated code. Call
  /// before adding modules that use them.
  absl::Status defineSymbols(
      const std::vector<std::pair<std::string, void *>> &symbols);

  /// Sets the module's triple and data layout, adds "target-cpu" and
  /// "target-features" to every function definition, verifies the module,
  /// runs the optimization pipeline and adds it to the JIT.
  absl::Status addModule(llvm::orc::ThreadSafeModule module);

  /// Adds a relocatable object file for this target (e.g. one from the
  /// ahead-of-time emitter, codegen/Aot.h); `name` names it in errors.
  absl::Status addObject(const std::string &bytes, const std::string &name);

  /// The address of a symbol of an added module.
  absl::StatusOr<void *> lookup(const std::string &name);

  /// Prepares `m` for this target (triple, data layout, function attributes)
  /// without adding it; addModule does this too.
  void configureModule(llvm::Module &m);
  /// Runs the O2/O3 pipeline on `m`.
  void optimize(llvm::Module &m);

private:
  Jit() = default;
  TargetDescription target_;
  std::string featureString_;
  int optLevel_ = 2;
  std::unique_ptr<llvm::TargetMachine> tm_;
  std::unique_ptr<llvm::orc::LLJIT> jit_;
};

} // namespace tcpu

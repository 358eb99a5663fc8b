//===- TargetMachine.h - LLVM target machines and module setup --*- C++ -*-===//
//
// What the JIT (codegen/Jit.h) and the ahead-of-time emitter (codegen/Aot.h)
// both do to a module of kernels before machine code: name the target CPU
// and features on every function, verify, and run LLVM's optimization
// pipeline. Internal to codegen/: this header names LLVM types.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Target.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include "llvm/IR/Module.h"
#include "llvm/Target/TargetMachine.h"

#include <memory>
#include <string>

namespace tcpu {

/// The "target-features" string of `target`, "+a,+b,-c": for the host's own
/// CPU every feature LLVM detects, enabled or not (so features the OS has
/// disabled stay off); otherwise the target's enabled features.
std::string targetFeatureString(const TargetDescription &target);

/// A target machine for `target` (any registered architecture) generating
/// position-independent code at LLVM codegen level optLevel (0..3).
absl::StatusOr<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(const TargetDescription &target, int optLevel);

/// Sets the module's triple and data layout and puts "target-cpu" and
/// "target-features" on every function definition.
void configureModule(llvm::Module &m, const TargetDescription &target,
                     const llvm::DataLayout &layout);

/// Internal when the generated module is invalid (a codegen bug), with
/// LLVM's explanation.
absl::Status verifyGeneratedModule(const llvm::Module &m);

/// Runs LLVM's default per-module pipeline at O<optLevel> (0..3).
void optimizeModule(llvm::Module &m, llvm::TargetMachine &tm, int optLevel);

} // namespace tcpu

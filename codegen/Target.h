//===- Target.h - Code generation targets -----------------------*- C++ -*-===//
//
// The target that kernels are generated for: the host by default, or a
// triple and CPU given by the user. The vector width of the kernels follows
// the target (8 floats for AVX2, 16 for AVX-512, 4 for NEON). LLVM headers
// stay inside codegen/: this header exposes none.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "absl/status/statusor.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tcpu {

struct TargetDescription {
  std::string triple;
  std::string cpu;
  std::vector<std::string> features; // enabled features, e.g. "avx2", "fma"
  int f32VectorWidth = 1;            // floats per vector register
  int vectorRegisters = 0;           // architectural vector registers
  // Data cache sizes per core (the host's from the OS; typical values for
  // other targets). Kernels choose their cache blocking from them.
  int64_t l1dCacheBytes = 32 * 1024;
  int64_t l2CacheBytes = 1024 * 1024;
  int64_t l3CacheBytes = 8 * 1024 * 1024;

  bool hasFeature(const std::string &f) const;
};

/// The host machine, as LLVM sees it.
TargetDescription hostTarget();

/// A target from a triple and CPU ("" = generic, "native" = the host's):
/// its features are every feature LLVM's CPU model implies (haswell: avx2,
/// fma, so 8 f32 lanes). An error names a triple or CPU LLVM does not know.
absl::StatusOr<TargetDescription> makeTarget(const std::string &triple,
                                             const std::string &cpu);

/// The target of compile options: the host when both are empty, else
/// makeTarget(triple, cpu) with the host's triple when `triple` is empty.
absl::StatusOr<TargetDescription> selectTarget(const std::string &triple,
                                               const std::string &cpu);

/// Ok when code for `target` can run in this process: the host's
/// architecture and OS, and no instruction-set feature the host lacks (a
/// newer CPU's code would die on an illegal instruction). The error says
/// which, and that other targets need ahead-of-time emission.
absl::Status checkRunsOnHost(const TargetDescription &target);

} // namespace tcpu

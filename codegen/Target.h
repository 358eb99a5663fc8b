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

/// A target from a triple and CPU ("" = generic); an error names a triple
/// LLVM does not know.
absl::StatusOr<TargetDescription> makeTarget(const std::string &triple,
                                             const std::string &cpu);

} // namespace tcpu

//===- GemmJitForTests.h - JIT one GEMM kernel for tests --------*- C++ -*-===//
//
// One GEMM kernel compiled on its own through the model JIT (codegen/Jit.h),
// for the GEMM unit tests and the benchmark. The runtime's C ABI is passed in
// as symbols. LLVM-free header.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Gemm.h"

#include "absl/status/statusor.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tcpu {

/// The C ABI of an emitted GEMM (see emitGemmFunction).
using GemmFunction = void (*)(const float *A, const float *B, float *C,
                              const float *bias, const float *residual,
                              void *scratch);

/// The runtime's C ABI (runtime/CAbi.h) as `symbols` for JittedGemm::compile.
std::vector<std::pair<std::string, void *>> gemmRuntimeSymbols();

class JittedGemm {
public:
  ~JittedGemm();
  /// Emits, optimizes (LLVM O2) and JIT-compiles one kernel for `target`
  /// (the host's architecture). `symbols` maps the runtime functions the
  /// kernel calls (tcpu_parallel_for, ...) to their addresses.
  static absl::StatusOr<std::unique_ptr<JittedGemm>>
  compile(const TargetDescription &target, const GemmShape &shape,
          const GemmEpilogue &epilogue, const GemmOptions &options,
          const std::vector<std::pair<std::string, void *>> &symbols);

  GemmFunction function() const { return fn_; }
  const GemmBlocking &blocking() const { return kernel_.blocking; }
  int64_t scratchBytesPerThread() const {
    return kernel_.scratchBytesPerThread;
  }

private:
  JittedGemm() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  GemmFunction fn_ = nullptr;
  GemmKernel kernel_;
};

} // namespace tcpu

//===- Gemm.h - fp32 GEMM generated as LLVM IR ------------------*- C++ -*-===//
//
// Emits one function computing, for a shape known at compile time,
//
//   C = epilogue(alpha * op(A) * op(B) + beta * C)
//
// with op(X) = X or X^T, all matrices fp32 and row-major. The kernel follows
// the BLIS scheme: A and B are copied into packed panels, a register-blocked
// micro-kernel (MR x NR accumulators, NR a multiple of the target's vector
// width) updates C, and the loops around it block K, N and M for the L1, L2
// and L3 caches of the target (blocks chosen per shape). The function is a
// small wrapper passing the shape's sizes and blocks to a core that takes
// them at run time: call sites of one module whose code would be the same
// (micro-tile, transposes, alpha, beta, epilogue) share one core, which is
// where the compile time goes. Work is split over threads through
// tcpu_parallel_for of the runtime's C ABI (runtime/CAbi.h).
//
// The header only forward-declares LLVM types, so tests can include it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Target.h"

#include "absl/status/statusor.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace llvm {
class Function;
class IRBuilderBase;
class Module;
class Value;
} // namespace llvm

namespace tcpu {

/// A GEMM call site: C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C.
/// A is stored M x K (K x M when transA), B is K x N (N x K when transB), C is
/// M x N; all row-major with leading dimensions in elements (0 = dense:
/// the stored row length).
struct GemmShape {
  int64_t M = 0, N = 0, K = 0;
  bool transA = false, transB = false;
  float alpha = 1.0f;
  /// beta == 0 never reads C (C may hold garbage, even NaN).
  float beta = 0.0f;
  int64_t lda = 0, ldb = 0, ldc = 0;
};

/// Elementwise work fused into the store of C, applied once per element
/// after the full K sum, in this order:
///   v = alpha * AB + beta * C
///   v += bias                       (bias[j] per column, or bias[i] per row)
///   v += residual[i, j]             (when residual && !residualAfterActivation)
///   v = activation(v)
///   v = custom(v, i, j)             (when custom is set)
///   v += residual[i, j]             (when residual && residualAfterActivation)
struct GemmEpilogue {
  enum class Bias { None, PerColumn, PerRow };
  enum class Activation { None, Relu, LeakyRelu, Clip };
  Bias bias = Bias::None;
  Activation activation = Activation::None;
  float leakyReluSlope = 0.01f;
  float clipMin = 0.0f, clipMax = 6.0f; // Clip: min(max(v, lo), hi); Relu6
  bool residual = false;
  bool residualAfterActivation = false;
  int64_t ldr = 0; // residual leading dimension (0 = N)
  /// A hook for fused epilogues (codegen/lower/Fused.cpp): elementwise IR
  /// on one vector `v` of C (<W x float>), the row index `row` and the
  /// first column `col` (both i64); returns the new vector. `mask` is null
  /// when every lane is stored, else the <W x i1> lanes that are (at the N
  /// edge; a run-time value): the others hold values never stored, and a
  /// hook must not read memory for them. `residualArg` is the call's
  /// `residual` argument: when `residual` is off the kernel does not read
  /// it, so a hook may take its own data through it (a table of operand
  /// pointers).
  std::function<llvm::Value *(llvm::IRBuilderBase &, llvm::Value *v,
                              llvm::Value *row, llvm::Value *col,
                              llvm::Value *mask, llvm::Value *residualArg)>
      custom;
  /// Names the code `custom` emits: GEMMs whose custom epilogues have the
  /// same non-empty key share their core (the hook then runs once, for the
  /// first). Empty: this call site's core is its own.
  std::string customKey;

  bool any() const {
    return bias != Bias::None || activation != Activation::None || residual ||
           custom;
  }
};

/// Register and cache blocking of one kernel. MR x NR is the micro-tile (NR
/// a multiple of the vector width); KC x NC of packed B stays in L2 while MR
/// x KC of packed A stays in L1; MC x KC of packed A is the L3 block.
struct GemmBlocking {
  int64_t MR = 0, NR = 0, KC = 0, MC = 0, NC = 0;
  /// Pack B into panels; false reads B in place (only without transB; chosen
  /// for small M, where packing B would cost as much as the product).
  bool packB = true;
};

/// The blocking emitGemmFunction uses for this target and shape. With
/// `prepackedB`, B always comes as panels (packB is true), and a small M
/// keeps the blocking of B read in place (KC = K, a wide micro-tile): its
/// panels are then contiguous streams even with transB.
GemmBlocking chooseGemmBlocking(const TargetDescription &target,
                                const GemmShape &shape,
                                bool prepackedB = false);

struct GemmOptions {
  /// Overrides chooseGemmBlocking (tests use it to force small blocks).
  /// MR, NR > 0 with NR a multiple of the vector width; MC a multiple of MR,
  /// NC of NR.
  std::optional<GemmBlocking> blocking;
  /// Split the work over threads (tcpu_parallel_for); false runs on the
  /// calling thread and calls no runtime function for that.
  bool parallel = true;
  /// The A (B) argument points to panels packed ahead of time by prepackA
  /// (prepackB) with the kernel's blocking, instead of the matrix: the
  /// kernel skips packing it, and its transpose and leading dimension no
  /// longer matter. For operands that are constants (weights).
  bool prepackedA = false, prepackedB = false;
};

struct GemmKernel {
  llvm::Function *function = nullptr;
  GemmBlocking blocking;
  /// Packing memory one thread needs. The `scratch` argument of the
  /// function may be null (the kernel then uses the stack when this is
  /// small, else tcpu_thread_scratch), or point to scratchBytesPerThread *
  /// tcpu_num_threads() bytes, 64-byte aligned, not shared with a
  /// concurrent call.
  int64_t scratchBytesPerThread = 0;
};

/// Emits into `module` an externally visible function `name` with the C ABI
///
///   void name(const float *A, const float *B, float *C,
///             const float *bias, const float *residual, void *scratch);
///
/// (bias and residual may be null when the epilogue does not use them). It
/// calls tcpu_parallel_for, tcpu_thread_slot, tcpu_num_threads and
/// tcpu_thread_scratch of runtime/CAbi.h, which the JIT must resolve. Errors
/// name invalid shapes (non-positive sizes, leading dimensions too small).
absl::StatusOr<GemmKernel> emitGemmFunction(llvm::Module &module,
                                            const TargetDescription &target,
                                            const GemmShape &shape,
                                            const GemmEpilogue &epilogue,
                                            const std::string &name,
                                            const GemmOptions &options = {});

/// Prepacked operands (GemmOptions::prepackedA/B). For each K block pc (0,
/// KC, 2KC, ...; kc = min(KC, K - pc) rows), the MR-row panels of the whole
/// op(A), M padded with zeros to a multiple of MR (dst[pc * Mpad + i / MR *
/// MR * kc + k * MR + i % MR]), and likewise the NR-column panels of op(B)
/// (dst[pc * Npad + j / NR * NR * kc + k * NR + j % NR]): the layouts the
/// kernel's own packing produces block by block. Sizes in floats.
int64_t prepackedAFloats(const GemmShape &shape, const GemmBlocking &blocking);
int64_t prepackedBFloats(const GemmShape &shape, const GemmBlocking &blocking);
/// Packs op(A) (op(B)) of `shape` (with its leading dimensions) into `dst`
/// of prepackedAFloats (prepackedBFloats) floats; plain C++, run at compile
/// time with the blocking of the emitted kernel (GemmKernel::blocking).
void prepackA(const float *A, const GemmShape &shape,
              const GemmBlocking &blocking, float *dst);
void prepackB(const float *B, const GemmShape &shape,
              const GemmBlocking &blocking, float *dst);

} // namespace tcpu

//===- Lowering.h - Lowering ops to LLVM IR ---------------------*- C++ -*-===//
//
// Each op becomes one LLVM function, `i32 tcpu_kernel_<n>(ptr buffers)`,
// where buffers[i] is the data of operand i (null for an absent optional
// operand) and buffers[numOperands + j] the data of result j. It returns 0,
// or a KernelError when the data makes the op undefined (an index out of
// range): kernels cannot build messages, so the engine turns the code into
// one that names the op. A lowering
// function per op kind, declared here from ir/Ops.def, emits the body through
// a LoweringContext; kinds without a real lowering are defined in
// lower/NotYetLowered.cpp and return Unimplemented, and the engine then runs
// the op on the reference interpreter.
//
// Kernels are vectorized on purpose: the helpers below work on explicit
// LLVM vector types of target.f32VectorWidth lanes, with a scalar remainder.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/PackedConstant.h"
#include "codegen/Target.h"
#include "ir/Graph.h"

#include "absl/status/status.h"

#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace tcpu {

/// What a kernel returns when its input data makes the op undefined.
enum class KernelError : int32_t {
  None = 0,
  IndexOutOfRange = 1,
  DivisionByZero = 2,
  ZeroToNegativePower = 3, // integer pow
};
/// A sentence for `code` ("an index is out of range").
const char *describeKernelError(int32_t code);

class LoweringContext {
public:
  /// Starts a kernel function named `name` in `module` for `op`; the builder
  /// is positioned in its entry block.
  LoweringContext(llvm::Module &module, const TargetDescription &target,
                  const Op &op, const std::string &name);

  llvm::LLVMContext &llvm() { return module_.getContext(); }
  llvm::Module &module() { return module_; }
  llvm::IRBuilder<> &b() { return builder_; }
  const TargetDescription &target() const { return target_; }
  const Op &op() const { return op_; }
  llvm::Function *function() { return function_; }

  /// Lanes of every kernel vector: target.f32VectorWidth (at least 1).
  int vectorWidth() const;

  /// The data pointer of operand i / result j (loaded from the buffers
  /// argument at the entry block).
  llvm::Value *operandPtr(size_t i);
  llvm::Value *resultPtr(size_t j);

  /// The data of operand i when a `constant` op defines it, else null.
  const Tensor *constantOperand(size_t i) const;
  /// Makes operandPtr(i) point at `data` (derived from constantOperand(i)
  /// at compile time, e.g. packed GEMM panels) in every run, instead of
  /// the operand's own data. Takes effect only if the lowering succeeds.
  void replaceOperand(size_t i, std::shared_ptr<const PackedConstant> data);
  const std::map<size_t, std::shared_ptr<const PackedConstant>> &
  replacedOperands() const {
    return replaced_;
  }

  /// The LLVM type holding one element of `t` in memory and in registers
  /// (bool is i8 holding 0 or 1), or nullopt for f16 and bf16, which kernels
  /// widen to f32 (lower/LowPrecision.h).
  std::optional<llvm::Type *> scalarType(DType t);
  /// <lanes x scalarType(t)>.
  llvm::Type *vectorOf(llvm::Type *scalar, int lanes);

  /// Emits `for (iv = begin; iv < end; iv += step) body(iv)` with i64
  /// constant bounds; nothing when the range is empty; the body alone when
  /// the loop runs once (iv is then the constant `begin`).
  void emitLoop(int64_t begin, int64_t end, int64_t step,
                const std::function<void(llvm::Value *iv)> &body,
                const std::string &name = "i");
  /// The same with i64 bounds computed at run time (the range may be empty),
  /// marked for LLVM neither to vectorize nor to unroll: for bodies of
  /// explicit vector code or calls.
  void emitLoop(llvm::Value *begin, llvm::Value *end, int64_t step,
                const std::function<void(llvm::Value *iv)> &body,
                const std::string &name = "i");

  /// Splits [0, n) into contiguous ranges of at least `grain` indices run
  /// on the model's threads (tcpu_parallel_for of runtime/CAbi.h; at most
  /// 4 ranges per thread, for balance) and emits body(begin, end) for one
  /// range. When n <= grain, body(0, n) is emitted inline instead. Otherwise
  /// it is emitted into an outlined function `<kernel>.par(ptr context,
  /// i64 first, i64 last)`: while `body` runs, b(), function(), emitLoop,
  /// operandPtr and resultPtr work there, and the values of `captured` (of
  /// the kernel) are replaced by their copies passed through the context;
  /// they are restored afterwards. Any other value of the kernel must not be
  /// used in `body` (the verifier rejects it). failIf works in `body`: the
  /// failing task records its code and stops, the other tasks run on, and
  /// after the loop the kernel returns a recorded code (with several
  /// failing tasks, any one of them). Loops nest.
  void emitParallelFor(
      int64_t n, int64_t grain, std::vector<llvm::Value *> &captured,
      const std::function<void(llvm::Value *begin, llvm::Value *end)> &body);

  /// Load/store of `type` (scalar or vector) at element `index` of `base`,
  /// whose elements have type `elem`; alignment of one element.
  llvm::Value *load(llvm::Type *type, llvm::Type *elem, llvm::Value *base,
                    llvm::Value *index);
  void store(llvm::Value *value, llvm::Type *elem, llvm::Value *base,
             llvm::Value *index);

  /// A call to `double name(double)` (libm) on a scalar or vector of
  /// doubles, one lane at a time.
  llvm::Value *callLibm(const std::string &name, llvm::Value *x);
  llvm::Value *callLibm2(const std::string &name, llvm::Value *x,
                         llvm::Value *y);

  llvm::Value *i64(int64_t v) { return builder_.getInt64(v); }

  /// Ends the kernel (returns 0).
  void finish();
  /// Emits `if (condition) return code;` (the failing branch marked
  /// unlikely); the builder continues on the passing path. In a parallel
  /// body, see emitParallelFor.
  void failIf(llvm::Value *condition, KernelError code);

private:
  llvm::Value *bufferPtr(size_t slot);
  /// failIf with an i32 code computed at run time.
  void failWith(llvm::Value *condition, llvm::Value *code);
  /// In a parallel body: the i32 of the loop's context where a failing task
  /// records its code (null in the kernel itself), and whether a failIf
  /// wrote to it, so that the kernel checks it after the loop.
  llvm::Value *errorSlot_ = nullptr;
  bool errorSlotUsed_ = false;
  llvm::Module &module_;
  /// The buffers array: the kernel's argument, or in a parallel body its
  /// copy loaded from the context.
  llvm::Value *buffers_ = nullptr;
  const TargetDescription &target_;
  const Op &op_;
  llvm::Function *function_ = nullptr;
  llvm::IRBuilder<> builder_;
  llvm::BasicBlock *entry_ = nullptr;
  std::map<size_t, std::shared_ptr<const PackedConstant>> replaced_;
};

// One lowering function per op kind, all declared from the op table.
#define OP(Kind, ...) absl::Status lower##Kind(const Op &op, LoweringContext &ctx);
#include "ir/Ops.def"

using LowerFn = absl::Status (*)(const Op &, LoweringContext &);
/// The lowering function of `kind`.
LowerFn loweringFor(OpKind kind);

} // namespace tcpu

//===- GemmJitForTests.cpp - JIT one GEMM kernel for tests -----------------===//
#include "codegen/GemmJitForTests.h"

#include "codegen/Jit.h"

#include "llvm/ExecutionEngine/Orc/ThreadSafeModule.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"

namespace tcpu {

struct JittedGemm::Impl {
  std::unique_ptr<Jit> jit;
};

JittedGemm::~JittedGemm() = default;

std::vector<std::pair<std::string, void *>> gemmRuntimeSymbols() {
  return runtimeCAbiSymbols();
}

absl::StatusOr<std::unique_ptr<JittedGemm>> JittedGemm::compile(
    const TargetDescription &target, const GemmShape &shape,
    const GemmEpilogue &epilogue, const GemmOptions &options,
    const std::vector<std::pair<std::string, void *>> &symbols) {
  absl::StatusOr<std::unique_ptr<Jit>> jit = Jit::create(target, 2);
  if (!jit.ok())
    return jit.status();
  if (absl::Status s = (*jit)->defineSymbols(symbols); !s.ok())
    return s;

  auto context = std::make_unique<llvm::LLVMContext>();
  auto module = std::make_unique<llvm::Module>("gemm", *context);
  absl::StatusOr<GemmKernel> kernel =
      emitGemmFunction(*module, target, shape, epilogue, "gemm", options);
  if (!kernel.ok())
    return kernel.status();
  if (absl::Status s = (*jit)->addModule(
          llvm::orc::ThreadSafeModule(std::move(module), std::move(context)));
      !s.ok())
    return s;
  absl::StatusOr<void *> fn = (*jit)->lookup("gemm");
  if (!fn.ok())
    return fn.status();

  std::unique_ptr<JittedGemm> out(new JittedGemm());
  out->fn_ = reinterpret_cast<GemmFunction>(*fn);
  out->kernel_ = *kernel;
  out->kernel_.function = nullptr; // owned by the JIT now
  out->impl_ = std::make_unique<Impl>();
  out->impl_->jit = std::move(*jit);
  return out;
}

} // namespace tcpu

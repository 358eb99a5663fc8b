//===- GemmJitForTests.cpp - JIT one GEMM kernel for tests -----------------===//
#include "codegen/GemmJitForTests.h"

#include "llvm/ExecutionEngine/Orc/Core.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ExecutionEngine/Orc/ThreadSafeModule.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

namespace tcpu {

struct JittedGemm::Impl {
  std::unique_ptr<llvm::orc::LLJIT> jit;
};

JittedGemm::~JittedGemm() = default;

namespace {
absl::Status fromError(llvm::Error err, const char *what) {
  std::string msg = llvm::toString(std::move(err));
  return absl::InternalError(std::string(what) + ": " + msg);
}
} // namespace

absl::StatusOr<std::unique_ptr<JittedGemm>> JittedGemm::compile(
    const TargetDescription &target, const GemmShape &shape,
    const GemmEpilogue &epilogue, const GemmOptions &options,
    const std::vector<std::pair<std::string, void *>> &symbols) {
  static const bool initialized = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)initialized;

  auto context = std::make_unique<llvm::LLVMContext>();
  auto module = std::make_unique<llvm::Module>("gemm", *context);
  absl::StatusOr<GemmKernel> kernel =
      emitGemmFunction(*module, target, shape, epilogue, "gemm", options);
  if (!kernel.ok())
    return kernel.status();
  std::string verifyMsg;
  llvm::raw_string_ostream verifyOs(verifyMsg);
  if (llvm::verifyModule(*module, &verifyOs))
    return absl::InternalError("gemm: invalid IR: " + verifyOs.str());

  llvm::orc::JITTargetMachineBuilder jtmb{llvm::Triple(target.triple)};
  jtmb.setCPU(target.cpu);
  std::vector<std::string> features;
  for (const std::string &f : target.features)
    features.push_back("+" + f);
  jtmb.addFeatures(features);
  jtmb.setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  auto tm = jtmb.createTargetMachine();
  if (!tm)
    return fromError(tm.takeError(), "gemm: target machine");
  module->setTargetTriple(target.triple);
  module->setDataLayout((*tm)->createDataLayout());

  {
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PassBuilder pb(tm->get());
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O2)
        .run(*module, mam);
  }
  std::unique_ptr<JittedGemm> out(new JittedGemm());
  llvm::raw_string_ostream irOs(out->ir_);
  module->print(irOs, nullptr);

  auto jit = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(jtmb).create();
  if (!jit)
    return fromError(jit.takeError(), "gemm: LLJIT");
  llvm::orc::SymbolMap map;
  for (const auto &[name, addr] : symbols)
    map[(*jit)->mangleAndIntern(name)] = llvm::orc::ExecutorSymbolDef(
        llvm::orc::ExecutorAddr::fromPtr(addr),
        llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable);
  if (llvm::Error err = (*jit)->getMainJITDylib().define(
          llvm::orc::absoluteSymbols(std::move(map))))
    return fromError(std::move(err), "gemm: runtime symbols");
  if (llvm::Error err = (*jit)->addIRModule(llvm::orc::ThreadSafeModule(
          std::move(module), std::move(context))))
    return fromError(std::move(err), "gemm: add module");
  auto sym = (*jit)->lookup("gemm");
  if (!sym)
    return fromError(sym.takeError(), "gemm: lookup");
  out->fn_ = sym->toPtr<GemmFunction>();
  out->kernel_ = *kernel;
  out->kernel_.function = nullptr; // owned by the JIT now
  out->impl_ = std::make_unique<Impl>();
  out->impl_->jit = std::move(*jit);
  return out;
}

} // namespace tcpu

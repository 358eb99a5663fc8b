//===- Jit.cpp - A thin wrapper over LLVM's ORC LLJIT ----------------------===//
#include "codegen/Jit.h"

#include "codegen/TargetMachine.h"
#include "runtime/CAbi.h"

#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/TargetSelect.h"

namespace tcpu {

absl::Status toStatus(llvm::Error err, const std::string &context) {
  if (!err)
    return absl::OkStatus();
  std::string message = llvm::toString(std::move(err));
  return absl::InternalError(context.empty() ? message
                                             : context + ": " + message);
}

void initializeNativeLLVM() {
  static const bool done = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
    return true;
  }();
  (void)done;
}

std::vector<std::pair<std::string, void *>> runtimeCAbiSymbols() {
  return {
      {"tcpu_parallel_for", reinterpret_cast<void *>(&tcpu_parallel_for)},
      {"tcpu_num_threads", reinterpret_cast<void *>(&tcpu_num_threads)},
      {"tcpu_thread_slot", reinterpret_cast<void *>(&tcpu_thread_slot)},
      {"tcpu_thread_scratch", reinterpret_cast<void *>(&tcpu_thread_scratch)},
  };
}

absl::StatusOr<std::unique_ptr<Jit>> Jit::create(const TargetDescription &target,
                                                 int optLevel) {
  initializeNativeLLVM();
  if (absl::Status s = checkRunsOnHost(target); !s.ok())
    return s;
  llvm::Triple triple(target.triple);

  std::unique_ptr<Jit> jit(new Jit());
  jit->target_ = target;
  jit->featureString_ = targetFeatureString(target);
  jit->optLevel_ = optLevel >= 3 ? 3 : 2;

  llvm::orc::JITTargetMachineBuilder jtmb(triple);
  jtmb.setCPU(target.cpu);
  jtmb.getFeatures() = llvm::SubtargetFeatures(jit->featureString_);
  jtmb.setCodeGenOptLevel(jit->optLevel_ >= 3 ? llvm::CodeGenOptLevel::Aggressive
                                              : llvm::CodeGenOptLevel::Default);
  // Allow FMA contraction only where the IR asks for it (llvm.fmuladd):
  // kernels that must match the interpreter exactly never do.
  llvm::Expected<std::unique_ptr<llvm::TargetMachine>> tm =
      jtmb.createTargetMachine();
  if (!tm)
    return toStatus(tm.takeError(), "cannot create the target machine");
  jit->tm_ = std::move(*tm);

  llvm::Expected<std::unique_ptr<llvm::orc::LLJIT>> lljit =
      llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(jtmb).create();
  if (!lljit)
    return toStatus(lljit.takeError(), "cannot create the JIT");
  jit->jit_ = std::move(*lljit);

  auto generator = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      jit->jit_->getDataLayout().getGlobalPrefix());
  if (!generator)
    return toStatus(generator.takeError(), "cannot search the process symbols");
  jit->jit_->getMainJITDylib().addGenerator(std::move(*generator));
  return jit;
}

absl::Status Jit::defineSymbols(
    const std::vector<std::pair<std::string, void *>> &symbols) {
  llvm::orc::SymbolMap map;
  for (const auto &[name, address] : symbols)
    map[jit_->mangleAndIntern(name)] = llvm::orc::ExecutorSymbolDef(
        llvm::orc::ExecutorAddr::fromPtr(address),
        llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable);
  return toStatus(
      jit_->getMainJITDylib().define(llvm::orc::absoluteSymbols(std::move(map))),
      "cannot define runtime symbols");
}

void Jit::configureModule(llvm::Module &m) {
  tcpu::configureModule(m, target_, jit_->getDataLayout());
}

void Jit::optimize(llvm::Module &m) { optimizeModule(m, *tm_, optLevel_); }

absl::Status Jit::addModule(llvm::orc::ThreadSafeModule module) {
  absl::Status status;
  module.withModuleDo([&](llvm::Module &m) {
    configureModule(m);
    status = verifyGeneratedModule(m);
    if (status.ok())
      optimize(m);
  });
  if (!status.ok())
    return status;
  return toStatus(jit_->addIRModule(std::move(module)),
                  "cannot add the module to the JIT");
}

absl::Status Jit::addObject(const std::string &bytes, const std::string &name) {
  return toStatus(jit_->addObjectFile(llvm::MemoryBuffer::getMemBufferCopy(bytes, name)),
                  "cannot add the object '" + name + "' to the JIT");
}

absl::StatusOr<void *> Jit::lookup(const std::string &name) {
  llvm::Expected<llvm::orc::ExecutorAddr> addr = jit_->lookup(name);
  if (!addr)
    return toStatus(addr.takeError(), "cannot find '" + name + "'");
  return addr->toPtr<void *>();
}

} // namespace tcpu

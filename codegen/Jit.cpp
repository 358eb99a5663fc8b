//===- Jit.cpp - A thin wrapper over LLVM's ORC LLJIT ----------------------===//
#include "codegen/Jit.h"

#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"

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

namespace {

/// "+a,+b,-c": for the host, every feature LLVM detects, enabled or not (a
/// CPU name alone could imply features the OS has disabled, e.g. AVX-512
/// state); otherwise the target's enabled features.
std::string featureString(const TargetDescription &target) {
  std::string s;
  auto add = [&](const std::string &f, bool on) {
    s += (s.empty() ? "" : ",") + std::string(on ? "+" : "-") + f;
  };
  if (target.triple == llvm::sys::getProcessTriple() &&
      target.cpu == llvm::sys::getHostCPUName()) {
    for (const auto &f : llvm::sys::getHostCPUFeatures())
      add(f.first().str(), f.second);
    return s;
  }
  for (const std::string &f : target.features)
    add(f, true);
  return s;
}

} // namespace

absl::StatusOr<std::unique_ptr<Jit>> Jit::create(const TargetDescription &target,
                                                 int optLevel) {
  initializeNativeLLVM();
  llvm::Triple host(llvm::sys::getProcessTriple());
  llvm::Triple triple(target.triple);
  if (triple.getArch() != host.getArch() || triple.getOS() != host.getOS())
    return absl::UnimplementedError(
        "the JIT runs code for this machine (" + host.str() +
        ") only; target '" + target.triple +
        "' needs ahead-of-time object emission, which is not implemented yet");

  std::unique_ptr<Jit> jit(new Jit());
  jit->target_ = target;
  jit->featureString_ = featureString(target);
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
  m.setTargetTriple(target_.triple);
  m.setDataLayout(jit_->getDataLayout());
  for (llvm::Function &f : m) {
    if (f.isDeclaration())
      continue;
    f.addFnAttr("target-cpu", target_.cpu);
    if (!featureString_.empty())
      f.addFnAttr("target-features", featureString_);
  }
}

void Jit::optimize(llvm::Module &m) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(tm_.get());
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(
      optLevel_ >= 3 ? llvm::OptimizationLevel::O3 : llvm::OptimizationLevel::O2);
  mpm.run(m, mam);
}

absl::Status Jit::addModule(llvm::orc::ThreadSafeModule module) {
  absl::Status status;
  module.withModuleDo([&](llvm::Module &m) {
    configureModule(m);
    std::string problems;
    llvm::raw_string_ostream os(problems);
    if (llvm::verifyModule(m, &os)) {
      status = absl::InternalError("generated LLVM IR is invalid: " +
                                   os.str());
      return;
    }
    optimize(m);
  });
  if (!status.ok())
    return status;
  return toStatus(jit_->addIRModule(std::move(module)),
                  "cannot add the module to the JIT");
}

absl::StatusOr<void *> Jit::lookup(const std::string &name) {
  llvm::Expected<llvm::orc::ExecutorAddr> addr = jit_->lookup(name);
  if (!addr)
    return toStatus(addr.takeError(), "cannot find '" + name + "'");
  return addr->toPtr<void *>();
}

} // namespace tcpu

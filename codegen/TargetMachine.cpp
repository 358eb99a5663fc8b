//===- TargetMachine.cpp - LLVM target machines and module setup ----------===//
#include "codegen/TargetMachine.h"

#include "llvm/IR/Verifier.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"

namespace tcpu {

std::string targetFeatureString(const TargetDescription &target) {
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

absl::StatusOr<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(const TargetDescription &target, int optLevel) {
  // Every target LLVM was built with (X86, AArch64, ...), with its asm
  // printer: object and assembly emission need it.
  static const bool initialized = [] {
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargets();
    llvm::InitializeAllTargetMCs();
    llvm::InitializeAllAsmPrinters();
    return true;
  }();
  (void)initialized;
  std::string error;
  const llvm::Target *t = llvm::TargetRegistry::lookupTarget(target.triple, error);
  if (!t)
    return absl::InvalidArgumentError("unknown target triple '" +
                                      target.triple + "': " + error);
  llvm::CodeGenOptLevel level = optLevel <= 0   ? llvm::CodeGenOptLevel::None
                                : optLevel == 1 ? llvm::CodeGenOptLevel::Less
                                : optLevel == 2 ? llvm::CodeGenOptLevel::Default
                                                : llvm::CodeGenOptLevel::Aggressive;
  // Position-independent code links into PIE executables and shared
  // libraries alike.
  std::unique_ptr<llvm::TargetMachine> tm(t->createTargetMachine(
      target.triple, target.cpu, targetFeatureString(target),
      llvm::TargetOptions(), llvm::Reloc::PIC_, std::nullopt, level));
  if (!tm)
    return absl::InternalError("cannot create a target machine for '" +
                               target.triple + "' (cpu '" + target.cpu + "')");
  return tm;
}

void configureModule(llvm::Module &m, const TargetDescription &target,
                     const llvm::DataLayout &layout) {
  m.setTargetTriple(target.triple);
  m.setDataLayout(layout);
  std::string features = targetFeatureString(target);
  for (llvm::Function &f : m) {
    if (f.isDeclaration())
      continue;
    f.addFnAttr("target-cpu", target.cpu);
    if (!features.empty())
      f.addFnAttr("target-features", features);
  }
}

absl::Status verifyGeneratedModule(const llvm::Module &m) {
  std::string problems;
  llvm::raw_string_ostream os(problems);
  if (llvm::verifyModule(m, &os))
    return absl::InternalError("generated LLVM IR is invalid: " + os.str());
  return absl::OkStatus();
}

void optimizeModule(llvm::Module &m, llvm::TargetMachine &tm, int optLevel) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(&tm);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::OptimizationLevel level = optLevel <= 0   ? llvm::OptimizationLevel::O0
                                  : optLevel == 1 ? llvm::OptimizationLevel::O1
                                  : optLevel == 2 ? llvm::OptimizationLevel::O2
                                                  : llvm::OptimizationLevel::O3;
  llvm::ModulePassManager mpm = level == llvm::OptimizationLevel::O0
                                    ? pb.buildO0DefaultPipeline(level)
                                    : pb.buildPerModuleDefaultPipeline(level);
  mpm.run(m, mam);
}

} // namespace tcpu

//===- Target.cpp - Code generation targets --------------------------------===//
#include "codegen/Target.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

#include <algorithm>
#include <memory>
#include <unistd.h>

namespace tcpu {

namespace {

void initializeLLVMTargets() {
  static const bool done = [] {
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargets();
    llvm::InitializeAllTargetMCs();
    return true;
  }();
  (void)done;
}

/// Vector shape of a target from its architecture and features.
void fillVectorShape(TargetDescription &t) {
  llvm::Triple triple(t.triple);
  if (triple.isX86()) {
    bool avx512 = t.hasFeature("avx512f");
    bool avx = t.hasFeature("avx");
    t.f32VectorWidth = avx512 ? 16 : avx ? 8 : 4;
    t.vectorRegisters = avx512 ? 32 : triple.isArch64Bit() ? 16 : 8;
  } else if (triple.isAArch64()) {
    t.f32VectorWidth = 4;
    t.vectorRegisters = 32;
  } else {
    t.f32VectorWidth = 1;
    t.vectorRegisters = 0;
  }
}

/// The host's cache sizes where the OS tells them (glibc's sysconf); the
/// defaults of TargetDescription otherwise.
void fillHostCaches(TargetDescription &t) {
#if defined(_SC_LEVEL1_DCACHE_SIZE)
  auto get = [](int name, int64_t &out) {
    long v = sysconf(name);
    if (v > 0)
      out = v;
  };
  get(_SC_LEVEL1_DCACHE_SIZE, t.l1dCacheBytes);
  get(_SC_LEVEL2_CACHE_SIZE, t.l2CacheBytes);
  get(_SC_LEVEL3_CACHE_SIZE, t.l3CacheBytes);
#endif
}

} // namespace

bool TargetDescription::hasFeature(const std::string &f) const {
  return std::find(features.begin(), features.end(), f) != features.end();
}

TargetDescription hostTarget() {
  TargetDescription t;
  t.triple = llvm::sys::getProcessTriple();
  t.cpu = llvm::sys::getHostCPUName().str();
  for (const auto &f : llvm::sys::getHostCPUFeatures())
    if (f.second)
      t.features.push_back(f.first().str());
  std::sort(t.features.begin(), t.features.end());
  fillVectorShape(t);
  fillHostCaches(t);
  return t;
}

absl::StatusOr<TargetDescription> makeTarget(const std::string &triple,
                                             const std::string &cpu) {
  initializeLLVMTargets();
  std::string error;
  std::string normalized = llvm::Triple::normalize(triple);
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(normalized, error);
  if (!target)
    return absl::InvalidArgumentError("unknown target triple '" + triple +
                                      "': " + error);
  llvm::Triple tr(normalized);
  // "native" and the host's own CPU on the host's triple: what the OS
  // reports (a CPU name alone could imply features the OS has disabled).
  TargetDescription host = hostTarget();
  llvm::Triple hostTriple(host.triple);
  bool onHostArch = tr.getArch() == hostTriple.getArch();
  if (onHostArch && (cpu == "native" || cpu == host.cpu)) {
    host.triple = normalized;
    return host;
  }
  if (cpu == "native")
    return absl::InvalidArgumentError("--mcpu=native needs the host's "
                                      "architecture, not '" + triple + "'");

  TargetDescription t;
  t.triple = normalized;
  t.cpu = cpu.empty() ? "generic" : cpu;
  // Validated on a generic subtarget first: LLVM prints a warning when
  // asked to build one for a CPU it does not know.
  std::unique_ptr<llvm::MCSubtargetInfo> sti(
      target->createMCSubtargetInfo(normalized, "generic", ""));
  if (!sti)
    return absl::InvalidArgumentError("target '" + triple +
                                      "' has no subtarget information");
  if (t.cpu != "generic") {
    if (!sti->isCPUStringValid(t.cpu))
      return absl::InvalidArgumentError(
          "unknown CPU '" + cpu + "' for target '" + normalized +
          "' (llc-19 -mtriple=" + normalized + " -mcpu=help lists them)");
    sti.reset(target->createMCSubtargetInfo(normalized, t.cpu, ""));
  }
  // Every feature the CPU implies (avx2 for haswell, neon for AArch64...).
  for (const llvm::SubtargetFeatureKV &kv : sti->getAllProcessorFeatures())
    if (sti->getFeatureBits().test(kv.Value))
      t.features.push_back(kv.Key);
  if (tr.isAArch64() && !t.hasFeature("neon"))
    t.features.push_back("neon"); // the AArch64 baseline
  std::sort(t.features.begin(), t.features.end());
  fillVectorShape(t);
  // Cache sizes: the host's when the CPU runs here, else the defaults.
  if (onHostArch)
    fillHostCaches(t);
  return t;
}

absl::StatusOr<TargetDescription> selectTarget(const std::string &triple,
                                               const std::string &cpu) {
  if (triple.empty() && cpu.empty())
    return hostTarget();
  return makeTarget(triple.empty() ? hostTarget().triple : triple, cpu);
}

absl::Status checkRunsOnHost(const TargetDescription &target) {
  llvm::Triple host(llvm::sys::getProcessTriple());
  llvm::Triple triple(target.triple);
  if (triple.getArch() != host.getArch() || triple.getOS() != host.getOS())
    return absl::InvalidArgumentError(
        "code for target '" + target.triple + "' cannot run on this machine (" +
        host.str() + "); emit it ahead of time instead (tcpu-opt --emit=obj)");
  // Only features LLVM can detect on the host are compared: tuning flags
  // ("fast-gather", ...) are not instructions.
  llvm::StringMap<bool> hostFeatures = llvm::sys::getHostCPUFeatures();
  std::string missing;
  for (const std::string &f : target.features)
    if (auto it = hostFeatures.find(f); it != hostFeatures.end() && !it->second)
      missing += (missing.empty() ? "" : ", ") + f;
  if (!missing.empty())
    return absl::InvalidArgumentError(
        "CPU '" + target.cpu + "' uses features this machine lacks (" +
        missing + "); emit it ahead of time instead (tcpu-opt --emit=obj)");
  return absl::OkStatus();
}

} // namespace tcpu

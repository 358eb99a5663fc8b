//===- Target.cpp - Code generation targets --------------------------------===//
#include "codegen/Target.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

#include <algorithm>
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
  TargetDescription t;
  t.triple = normalized;
  t.cpu = cpu.empty() ? "generic" : cpu;
  // Without a concrete CPU we only assume the architecture's baseline.
  llvm::Triple tr(normalized);
  if (tr.isAArch64())
    t.features = {"neon"};
  fillVectorShape(t);
  return t;
}

} // namespace tcpu

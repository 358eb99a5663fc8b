//===- AotJitForTests.h - Run an AOT object in this process -----*- C++ -*-===//
//
// For tests: the object file emitAot (codegen/Aot.h) writes for the host,
// linked into this process by the JIT's object linker with the runtime's C
// ABI, so a test can call its entry point and compare with the interpreter
// without a system linker. It is the same bytes a program would link.
// LLVM-free header.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "absl/status/statusor.h"

#include <cstdint>
#include <memory>
#include <string>

namespace tcpu {

class Jit;

/// int32_t <prefix>_run(inputs, outputs, arena, weights).
using AotEntryPoint = int32_t (*)(const void *const *inputs,
                                  void *const *outputs, void *arena,
                                  const void *weights);

class LoadedAotObject {
public:
  ~LoadedAotObject();
  /// Links `object` (a host object from emitAot) and finds `entry`.
  static absl::StatusOr<std::unique_ptr<LoadedAotObject>>
  load(const std::string &object, const std::string &entry);

  AotEntryPoint entry() const { return entry_; }

private:
  LoadedAotObject() = default;
  std::unique_ptr<Jit> jit_;
  AotEntryPoint entry_ = nullptr;
};

} // namespace tcpu

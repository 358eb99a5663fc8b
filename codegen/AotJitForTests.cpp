//===- AotJitForTests.cpp - Run an AOT object in this process --------------===//
#include "codegen/AotJitForTests.h"

#include "codegen/Jit.h"

namespace tcpu {

LoadedAotObject::~LoadedAotObject() = default;

absl::StatusOr<std::unique_ptr<LoadedAotObject>>
LoadedAotObject::load(const std::string &object, const std::string &entry) {
  absl::StatusOr<std::unique_ptr<Jit>> jit = Jit::create(hostTarget());
  if (!jit.ok())
    return jit.status();
  if (absl::Status s = (*jit)->defineSymbols(runtimeCAbiSymbols()); !s.ok())
    return s;
  if (absl::Status s = (*jit)->addObject(object, "aot.o"); !s.ok())
    return s;
  absl::StatusOr<void *> fn = (*jit)->lookup(entry);
  if (!fn.ok())
    return fn.status();
  std::unique_ptr<LoadedAotObject> out(new LoadedAotObject());
  out->jit_ = std::move(*jit);
  out->entry_ = reinterpret_cast<AotEntryPoint>(*fn);
  return out;
}

} // namespace tcpu

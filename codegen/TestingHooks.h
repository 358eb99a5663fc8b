//===- TestingHooks.h - Test-only switches of the compiler -------*- C++
//-*-===//
//
// Every op kind has a lowering, so nothing exercises the interpreter
// fallback of compiled models on its own any more; tests of that mechanism
// force it with the switch below. No LLVM in this header.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/OpTable.h"

namespace tcpu::testing {

/// While alive, lowering treats every op of `kind` as having no lowering
/// (Unimplemented), so compile() runs it on the interpreter, or fails when
/// fallback is off. One at a time; not for use while another thread
/// compiles.
class ForceInterpreterFallback {
public:
  explicit ForceInterpreterFallback(OpKind kind);
  ~ForceInterpreterFallback();
  ForceInterpreterFallback(const ForceInterpreterFallback &) = delete;
  ForceInterpreterFallback &
  operator=(const ForceInterpreterFallback &) = delete;
};

} // namespace tcpu::testing

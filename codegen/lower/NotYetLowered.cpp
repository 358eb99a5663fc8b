//===- NotYetLowered.cpp - Ops without a lowering yet ----------------------===//
//
// The list of what is left: every op kind below runs on the reference
// interpreter inside compiled models (when fallback is allowed). Giving an op
// a real lowering means moving its line into a lower/<Family>.cpp file.
//
//===----------------------------------------------------------------------===//
#include "codegen/Lowering.h"

namespace tcpu {

// Nothing is left: every op kind of ir/Ops.def has a lowering in a
// lower/<Family>.cpp file. (Lowerings may still return Unimplemented for
// some dtypes or attribute values; those ops fall back one by one.)

} // namespace tcpu

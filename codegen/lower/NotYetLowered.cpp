//===- NotYetLowered.cpp - Ops without a lowering yet ----------------------===//
//
// The list of what is left: every op kind below runs on the reference
// interpreter inside compiled models (when fallback is allowed). Giving an op
// a real lowering means moving its line into a lower/<Family>.cpp file.
//
//===----------------------------------------------------------------------===//
#include "codegen/Lowering.h"

namespace tcpu {

namespace {
absl::Status notYet(const Op &op) {
  return absl::UnimplementedError("'" + std::string(op.mnemonic()) +
                                  "' has no lowering yet");
}
} // namespace

absl::Status lowerArgmax(const Op &op, LoweringContext &) { return notYet(op); }
absl::Status lowerGather(const Op &op, LoweringContext &) { return notYet(op); }
absl::Status lowerLstm(const Op &op, LoweringContext &) { return notYet(op); }
absl::Status lowerGru(const Op &op, LoweringContext &) { return notYet(op); }
absl::Status lowerRnn(const Op &op, LoweringContext &) { return notYet(op); }

} // namespace tcpu

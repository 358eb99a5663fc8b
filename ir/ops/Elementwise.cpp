//===- Elementwise.cpp - Elementwise ops: type inference and reference semantics ---===//
#include "ir/ops/OpSupport.h"

namespace tcpu {

absl::Status inferConstant(InferContext &ctx) {
  return absl::UnimplementedError("inferConstant");
}

absl::Status inferUnaryFloat(InferContext &ctx) {
  return absl::UnimplementedError("inferUnaryFloat");
}

absl::Status inferGelu(InferContext &ctx) {
  return absl::UnimplementedError("inferGelu");
}

absl::Status inferUnarySigned(InferContext &ctx) {
  return absl::UnimplementedError("inferUnarySigned");
}

absl::Status inferUnaryNumeric(InferContext &ctx) {
  return absl::UnimplementedError("inferUnaryNumeric");
}

absl::Status inferBinaryNumeric(InferContext &ctx) {
  return absl::UnimplementedError("inferBinaryNumeric");
}

absl::Status inferCompare(InferContext &ctx) {
  return absl::UnimplementedError("inferCompare");
}

absl::Status inferUnaryBool(InferContext &ctx) {
  return absl::UnimplementedError("inferUnaryBool");
}

absl::Status inferLogical(InferContext &ctx) {
  return absl::UnimplementedError("inferLogical");
}

absl::Status inferWhere(InferContext &ctx) {
  return absl::UnimplementedError("inferWhere");
}

absl::Status inferCast(InferContext &ctx) {
  return absl::UnimplementedError("inferCast");
}

absl::StatusOr<std::vector<Tensor>> evalConstant(const EvalContext &ctx) {
  return absl::UnimplementedError("evalConstant");
}

absl::StatusOr<std::vector<Tensor>> evalExp(const EvalContext &ctx) {
  return absl::UnimplementedError("evalExp");
}

absl::StatusOr<std::vector<Tensor>> evalLog(const EvalContext &ctx) {
  return absl::UnimplementedError("evalLog");
}

absl::StatusOr<std::vector<Tensor>> evalSqrt(const EvalContext &ctx) {
  return absl::UnimplementedError("evalSqrt");
}

absl::StatusOr<std::vector<Tensor>> evalRsqrt(const EvalContext &ctx) {
  return absl::UnimplementedError("evalRsqrt");
}

absl::StatusOr<std::vector<Tensor>> evalReciprocal(const EvalContext &ctx) {
  return absl::UnimplementedError("evalReciprocal");
}

absl::StatusOr<std::vector<Tensor>> evalTanh(const EvalContext &ctx) {
  return absl::UnimplementedError("evalTanh");
}

absl::StatusOr<std::vector<Tensor>> evalSigmoid(const EvalContext &ctx) {
  return absl::UnimplementedError("evalSigmoid");
}

absl::StatusOr<std::vector<Tensor>> evalErf(const EvalContext &ctx) {
  return absl::UnimplementedError("evalErf");
}

absl::StatusOr<std::vector<Tensor>> evalGelu(const EvalContext &ctx) {
  return absl::UnimplementedError("evalGelu");
}

absl::StatusOr<std::vector<Tensor>> evalLeakyRelu(const EvalContext &ctx) {
  return absl::UnimplementedError("evalLeakyRelu");
}

absl::StatusOr<std::vector<Tensor>> evalNeg(const EvalContext &ctx) {
  return absl::UnimplementedError("evalNeg");
}

absl::StatusOr<std::vector<Tensor>> evalAbs(const EvalContext &ctx) {
  return absl::UnimplementedError("evalAbs");
}

absl::StatusOr<std::vector<Tensor>> evalRelu(const EvalContext &ctx) {
  return absl::UnimplementedError("evalRelu");
}

absl::StatusOr<std::vector<Tensor>> evalClip(const EvalContext &ctx) {
  return absl::UnimplementedError("evalClip");
}

absl::StatusOr<std::vector<Tensor>> evalAdd(const EvalContext &ctx) {
  return absl::UnimplementedError("evalAdd");
}

absl::StatusOr<std::vector<Tensor>> evalSub(const EvalContext &ctx) {
  return absl::UnimplementedError("evalSub");
}

absl::StatusOr<std::vector<Tensor>> evalMul(const EvalContext &ctx) {
  return absl::UnimplementedError("evalMul");
}

absl::StatusOr<std::vector<Tensor>> evalDiv(const EvalContext &ctx) {
  return absl::UnimplementedError("evalDiv");
}

absl::StatusOr<std::vector<Tensor>> evalPow(const EvalContext &ctx) {
  return absl::UnimplementedError("evalPow");
}

absl::StatusOr<std::vector<Tensor>> evalMax(const EvalContext &ctx) {
  return absl::UnimplementedError("evalMax");
}

absl::StatusOr<std::vector<Tensor>> evalMin(const EvalContext &ctx) {
  return absl::UnimplementedError("evalMin");
}

absl::StatusOr<std::vector<Tensor>> evalEq(const EvalContext &ctx) {
  return absl::UnimplementedError("evalEq");
}

absl::StatusOr<std::vector<Tensor>> evalLt(const EvalContext &ctx) {
  return absl::UnimplementedError("evalLt");
}

absl::StatusOr<std::vector<Tensor>> evalLe(const EvalContext &ctx) {
  return absl::UnimplementedError("evalLe");
}

absl::StatusOr<std::vector<Tensor>> evalGt(const EvalContext &ctx) {
  return absl::UnimplementedError("evalGt");
}

absl::StatusOr<std::vector<Tensor>> evalGe(const EvalContext &ctx) {
  return absl::UnimplementedError("evalGe");
}

absl::StatusOr<std::vector<Tensor>> evalNot(const EvalContext &ctx) {
  return absl::UnimplementedError("evalNot");
}

absl::StatusOr<std::vector<Tensor>> evalAnd(const EvalContext &ctx) {
  return absl::UnimplementedError("evalAnd");
}

absl::StatusOr<std::vector<Tensor>> evalOr(const EvalContext &ctx) {
  return absl::UnimplementedError("evalOr");
}

absl::StatusOr<std::vector<Tensor>> evalWhere(const EvalContext &ctx) {
  return absl::UnimplementedError("evalWhere");
}

absl::StatusOr<std::vector<Tensor>> evalCast(const EvalContext &ctx) {
  return absl::UnimplementedError("evalCast");
}

} // namespace tcpu

//===- Builder.cpp - C++ graph construction with type inference ------------===//
#include "ir/Builder.h"

#include "ir/Verifier.h"

namespace tcpu {

namespace {
Location locationOf(const std::source_location &where) {
  return Location(std::make_shared<const std::string>(where.file_name()),
                  static_cast<int>(where.line()),
                  static_cast<int>(where.column()));
}
} // namespace

GraphBuilder::GraphBuilder(std::string name)
    : graph_(std::make_unique<Graph>(std::move(name))) {}

Value *GraphBuilder::input(std::string name, TensorType type) {
  return graph_->addInput(std::move(name), std::move(type));
}

Value *GraphBuilder::constant(Tensor value, std::string handle) {
  return graph_->appendConstant(std::move(value), std::move(handle))->result();
}

Value *GraphBuilder::scalar(double value, DType dtype) {
  Tensor t = Tensor::allocate(TensorType(dtype, {})).value();
  t.setElementFromDouble(0, value);
  return constant(std::move(t));
}

absl::StatusOr<std::vector<Value *>>
GraphBuilder::createMulti(OpKind kind, std::vector<Value *> operands,
                          Attributes attrs, std::source_location where) {
  const OpInfo &info = opInfo(kind);
  Location loc = locationOf(where);
  std::string mn(info.mnemonic);
  if (std::string problem =
          checkOperandCount(info, static_cast<int>(operands.size()));
      !problem.empty())
    return locatedError(loc, problem);
  std::vector<const TensorType *> types;
  for (size_t i = 0; i < operands.size(); ++i) {
    const OperandSpec &spec =
        info.operands[std::min(i, info.operands.size() - 1)];
    if (!operands[i] && !spec.optional)
      return locatedError(loc, "operand '" + spec.name + "' of '" + mn +
                                   "' is required");
    types.push_back(operands[i] ? &operands[i]->type : nullptr);
  }
  std::vector<std::string> problems = normalizeAttributes(info, attrs);
  if (!problems.empty())
    return locatedError(loc, problems.front());
  absl::StatusOr<std::vector<TensorType>> results =
      inferResultTypes(info, types, attrs);
  if (!results.ok())
    return locatedError(loc, std::string(results.status().message()));
  Op *op = graph_->appendOp(kind, std::move(operands), std::move(attrs),
                            std::move(*results), loc);
  return op->results();
}

absl::StatusOr<Value *> GraphBuilder::create(OpKind kind,
                                             std::vector<Value *> operands,
                                             Attributes attrs,
                                             std::source_location where) {
  absl::StatusOr<std::vector<Value *>> r =
      createMulti(kind, std::move(operands), std::move(attrs), where);
  if (!r.ok())
    return r.status();
  return r->front();
}

void GraphBuilder::output(std::string name, Value *value) {
  graph_->addOutput(std::move(name), value);
}

absl::StatusOr<std::unique_ptr<Graph>> GraphBuilder::finish() {
  if (absl::Status s = verify(*graph_); !s.ok())
    return s;
  return std::move(graph_);
}

} // namespace tcpu

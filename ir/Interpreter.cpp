//===- Interpreter.cpp - Reference interpreter -----------------------------===//
#include "ir/Interpreter.h"

#include "ir/Verifier.h"

#include <unordered_map>

namespace tcpu {

absl::Status checkArgumentType(const std::string &what,
                               const TensorType &expected,
                               const TensorType &given) {
  if (expected.dtype == given.dtype && expected.shape == given.shape)
    return absl::OkStatus();
  return absl::InvalidArgumentError(what + " expects " + expected.str() +
                                    ", got " + given.str());
}

absl::StatusOr<std::vector<Tensor>>
evaluateOp(const Op &op, const std::vector<const Tensor *> &operands) {
  std::vector<TensorType> resultTypes;
  for (const Value *r : op.results())
    resultTypes.push_back(r->type);
  EvalContext ctx{op.info(), operands, op.attrs, resultTypes,
                  op.constantValue()};
  absl::StatusOr<std::vector<Tensor>> results = op.info().eval(ctx);
  if (!results.ok())
    return absl::Status(results.status().code(),
                        op.loc.str() + ": error: '" +
                            std::string(op.mnemonic()) +
                            "' failed: " + std::string(results.status().message()));
  if (results->size() != resultTypes.size())
    return absl::InternalError(op.loc.str() + ": '" +
                               std::string(op.mnemonic()) +
                               "' produced the wrong number of results");
  for (size_t i = 0; i < resultTypes.size(); ++i) {
    const TensorType &got = (*results)[i].type();
    if (got.dtype != resultTypes[i].dtype || got.shape != resultTypes[i].shape)
      return absl::InternalError(op.loc.str() + ": '" +
                                 std::string(op.mnemonic()) + "' produced " +
                                 got.str() + " where " + resultTypes[i].str() +
                                 " was inferred");
  }
  return results;
}

absl::StatusOr<std::vector<Tensor>> interpret(const Graph &graph,
                                              const std::vector<Tensor> &inputs) {
  if (absl::Status s = verify(graph); !s.ok())
    return s;
  if (inputs.size() != graph.inputs().size())
    return absl::InvalidArgumentError(
        "graph '" + graph.name + "' takes " +
        std::to_string(graph.inputs().size()) + " inputs, got " +
        std::to_string(inputs.size()));
  std::unordered_map<const Value *, Tensor> env;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Value *in = graph.inputs()[i];
    if (absl::Status s = checkArgumentType("input '" + in->name + "'",
                                           in->type, inputs[i].type());
        !s.ok())
      return s;
    env[in] = inputs[i];
  }
  // Free each intermediate after its last use so that big models fit.
  std::unordered_map<const Value *, int> remainingUses;
  for (const auto &op : graph.ops())
    for (const Value *v : op->operands)
      if (v)
        ++remainingUses[v];
  for (const GraphOutput &out : graph.outputs())
    ++remainingUses[out.value];

  for (const auto &op : graph.ops()) {
    std::vector<const Tensor *> operands;
    for (const Value *v : op->operands)
      operands.push_back(v ? &env.at(v) : nullptr);
    absl::StatusOr<std::vector<Tensor>> results = evaluateOp(*op, operands);
    if (!results.ok())
      return results.status();
    for (const Value *v : op->operands)
      if (v && --remainingUses[v] == 0)
        env.erase(v);
    for (size_t i = 0; i < results->size(); ++i)
      if (remainingUses[op->result(i)] > 0)
        env[op->result(i)] = std::move((*results)[i]);
  }
  std::vector<Tensor> outputs;
  for (const GraphOutput &out : graph.outputs())
    outputs.push_back(env.at(out.value));
  return outputs;
}

} // namespace tcpu

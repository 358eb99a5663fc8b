//===- Graph.h - Values, ops and graphs -------------------------*- C++ -*-===//
//
// A Graph is a straight-line SSA program: named inputs, a list of ops in
// execution order, and named outputs. Each op defines one or more Values;
// operands refer to Values defined earlier (or to graph inputs). Constants are
// ops of kind `constant` whose tensor is held out of line, by reference.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Attributes.h"
#include "ir/Diagnostics.h"
#include "ir/OpTable.h"
#include "ir/Tensor.h"
#include "ir/Types.h"

#include <list>
#include <memory>
#include <string>
#include <vector>

namespace tcpu {

class Op;

class Value {
public:
  TensorType type;
  /// Name hint used by the printer ("" for none). Graph inputs keep theirs as
  /// their public name.
  std::string name;

  /// The op defining this value, or nullptr for a graph input.
  Op *definingOp() const { return def_; }
  int resultIndex() const { return resultIndex_; }
  bool isGraphInput() const { return def_ == nullptr; }

private:
  friend class Graph;
  friend class Op;
  Op *def_ = nullptr;
  int resultIndex_ = 0;
};

class Op {
public:
  OpKind kind() const { return kind_; }
  const OpInfo &info() const { return opInfo(kind_); }
  std::string_view mnemonic() const { return info().mnemonic; }

  /// Operands; an absent optional operand is nullptr.
  std::vector<Value *> operands;
  Attributes attrs;
  Location loc;

  size_t numResults() const { return results_.size(); }
  Value *result(size_t i = 0) const { return results_[i].get(); }
  std::vector<Value *> results() const;
  Value *operand(size_t i) const {
    return i < operands.size() ? operands[i] : nullptr;
  }

  /// For `constant`: the value and the handle it prints under.
  const Tensor *constantValue() const { return constant_.get(); }
  void setConstantValue(Tensor t) {
    constant_ = std::make_shared<const Tensor>(std::move(t));
  }
  std::string constantHandle;

private:
  friend class Graph;
  OpKind kind_;
  std::vector<std::unique_ptr<Value>> results_;
  std::shared_ptr<const Tensor> constant_;
};

struct GraphOutput {
  std::string name;
  Value *value = nullptr;
};

class Graph {
public:
  using OpList = std::list<std::unique_ptr<Op>>;

  explicit Graph(std::string name = "main") : name(std::move(name)) {}
  Graph(const Graph &) = delete;
  Graph &operator=(const Graph &) = delete;

  std::string name;
  Location loc;

  Value *addInput(std::string name, TensorType type);
  const std::vector<Value *> &inputs() const { return inputPtrs_; }

  void addOutput(std::string name, Value *v) {
    outputs_.push_back({std::move(name), v});
  }
  std::vector<GraphOutput> &outputs() { return outputs_; }
  const std::vector<GraphOutput> &outputs() const { return outputs_; }

  /// Creates an op whose results have the given types; it is inserted
  /// before `before` (at the end when before == ops().end()). Attributes are
  /// stored as given: call normalizeAttributes first for defaults.
  Op *createOp(OpKind kind, std::vector<Value *> operands, Attributes attrs,
               std::vector<TensorType> resultTypes, Location loc,
               OpList::iterator before);
  Op *appendOp(OpKind kind, std::vector<Value *> operands, Attributes attrs,
               std::vector<TensorType> resultTypes, Location loc = {}) {
    return createOp(kind, std::move(operands), std::move(attrs),
                    std::move(resultTypes), std::move(loc), ops_.end());
  }
  /// A constant op at the end of the graph.
  Op *appendConstant(Tensor value, std::string handle = "", Location loc = {});

  OpList &ops() { return ops_; }
  const OpList &ops() const { return ops_; }
  OpList::iterator find(const Op *op);
  /// Removes an op; its results must have no remaining uses.
  void erase(const Op *op);

  /// Replaces every use of `from` (operands and graph outputs) by `to`.
  void replaceAllUsesWith(Value *from, Value *to);
  /// Number of uses of v among operands and outputs.
  int countUses(const Value *v) const;

  /// A deep copy; constants share their buffers and fused ops their bodies
  /// (both immutable once built).
  std::unique_ptr<Graph> clone() const;

private:
  std::vector<std::unique_ptr<Value>> inputs_;
  std::vector<Value *> inputPtrs_;
  std::vector<GraphOutput> outputs_;
  OpList ops_;
};

} // namespace tcpu

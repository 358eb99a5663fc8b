//===- Graph.cpp - Values, ops and graphs ----------------------------------===//
#include "ir/Graph.h"

#include <cassert>
#include <unordered_map>

namespace tcpu {

std::vector<Value *> Op::results() const {
  std::vector<Value *> r;
  for (const auto &v : results_)
    r.push_back(v.get());
  return r;
}

Value *Graph::addInput(std::string name, TensorType type) {
  auto v = std::make_unique<Value>();
  v->name = std::move(name);
  v->type = std::move(type);
  inputPtrs_.push_back(v.get());
  inputs_.push_back(std::move(v));
  return inputPtrs_.back();
}

Op *Graph::createOp(OpKind kind, std::vector<Value *> operands,
                    Attributes attrs, std::vector<TensorType> resultTypes,
                    Location loc, OpList::iterator before) {
  auto op = std::make_unique<Op>();
  op->kind_ = kind;
  op->operands = std::move(operands);
  op->attrs = std::move(attrs);
  op->loc = std::move(loc);
  for (size_t i = 0; i < resultTypes.size(); ++i) {
    auto v = std::make_unique<Value>();
    v->type = std::move(resultTypes[i]);
    v->def_ = op.get();
    v->resultIndex_ = static_cast<int>(i);
    op->results_.push_back(std::move(v));
  }
  return ops_.insert(before, std::move(op))->get();
}

Op *Graph::appendConstant(Tensor value, std::string handle, Location loc) {
  Op *op = appendOp(OpKind::Constant, {}, {}, {value.type()}, std::move(loc));
  op->setConstantValue(std::move(value));
  op->constantHandle = std::move(handle);
  return op;
}

Graph::OpList::iterator Graph::find(const Op *op) {
  for (auto it = ops_.begin(); it != ops_.end(); ++it)
    if (it->get() == op)
      return it;
  return ops_.end();
}

void Graph::erase(const Op *op) {
  auto it = find(op);
  assert(it != ops_.end() && "erasing an op that is not in the graph");
  ops_.erase(it);
}

void Graph::replaceAllUsesWith(Value *from, Value *to) {
  for (auto &op : ops_)
    for (Value *&v : op->operands)
      if (v == from)
        v = to;
  for (GraphOutput &out : outputs_)
    if (out.value == from)
      out.value = to;
}

int Graph::countUses(const Value *v) const {
  int n = 0;
  for (const auto &op : ops_)
    for (const Value *u : op->operands)
      n += u == v;
  for (const GraphOutput &out : outputs_)
    n += out.value == v;
  return n;
}

std::unique_ptr<Graph> Graph::clone() const {
  auto g = std::make_unique<Graph>(name);
  g->loc = loc;
  std::unordered_map<const Value *, Value *> map;
  for (const Value *in : inputPtrs_)
    map[in] = g->addInput(in->name, in->type);
  for (const auto &op : ops_) {
    std::vector<Value *> operands;
    for (const Value *v : op->operands)
      operands.push_back(v ? map.at(v) : nullptr);
    std::vector<TensorType> types;
    for (const auto &r : op->results_)
      types.push_back(r->type);
    Op *copy = g->appendOp(op->kind_, std::move(operands), op->attrs,
                           std::move(types), op->loc);
    copy->constant_ = op->constant_;
    copy->constantHandle = op->constantHandle;
    for (size_t i = 0; i < op->results_.size(); ++i) {
      copy->results_[i]->name = op->results_[i]->name;
      map[op->results_[i].get()] = copy->results_[i].get();
    }
  }
  for (const GraphOutput &out : outputs_)
    g->addOutput(out.name, out.value ? map.at(out.value) : nullptr);
  return g;
}

} // namespace tcpu

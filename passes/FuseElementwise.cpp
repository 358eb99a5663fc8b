//===- FuseElementwise.cpp - Elementwise trees become one loop nest ---------===//
//
// A maximal tree of elementwise ops of one result shape, whose inner values
// are each used by one op of the tree only and are not graph outputs,
// becomes one `fused` op of kind "elementwise": one loop nest over the
// result that loads each operand once per element (with its own
// broadcasting) and stores once, with no intermediate buffers. Operands from
// outside may broadcast; a producer with a smaller result is left outside,
// so that it is still computed once. Run after fuse-epilogue. Safe on any verified graph: the fused op evaluates the same
// ops on the same values.
//
//===----------------------------------------------------------------------===//
#include "passes/FusionUtils.h"
#include "passes/Pass.h"
#include "passes/Remarks.h"

#include <algorithm>
#include <unordered_set>

namespace tcpu {

namespace {

constexpr const char *kPass = "fuse-elementwise";

/// Elementwise, on plain (row-major) types: the fused loop indexes every
/// operand by its logical shape.
bool candidate(const Op &op) {
  if (!op.info().hasTrait(kElementwise) || !op.result(0)->type.isPlain())
    return false;
  for (const Value *v : op.operands)
    if (v && !v->type.isPlain())
      return false;
  return true;
}

} // namespace

absl::StatusOr<bool> runFuseElementwise(Graph &graph,
                                        const PassOptions &options) {
  if (absl::Status s = options.checkKnown(kPass, {}); !s.ok())
    return s;
  std::vector<Op *> order;
  std::unordered_map<const Op *, size_t> position;
  for (auto &op : graph.ops()) {
    position[op.get()] = order.size();
    order.push_back(op.get());
  }
  auto users = usersOf(graph);
  std::unordered_set<const Op *> taken;
  bool changed = false;
  // From the last op backwards: an op not taken yet is the root of its tree
  // (its user, if elementwise, would have taken it).
  for (size_t i = order.size(); i-- > 0;) {
    Op *root = order[i];
    if (taken.count(root) || !candidate(*root))
      continue;
    const Shape &shape = root->result(0)->type.shape;
    // Grow to a fixpoint: a producer joins when all of its users are in the
    // group (so a value used by two ops of the tree joins too).
    std::unordered_set<const Op *> in{root};
    std::vector<Op *> group{root};
    auto joins = [&](const Value *v) {
      if (isGraphOutput(graph, v) || v->type.shape != shape)
        return false;
      for (const Op *u : users[v])
        if (!in.count(u))
          return false;
      return true;
    };
    for (bool grew = true; grew;) {
      grew = false;
      for (size_t g = 0; g < group.size(); ++g)
        for (const Value *v : group[g]->operands) {
          Op *producer = v ? v->definingOp() : nullptr;
          if (!producer || in.count(producer) || taken.count(producer) ||
              !candidate(*producer) || !joins(v))
            continue;
          in.insert(producer);
          group.push_back(producer);
          grew = true;
        }
    }
    for (const Op *op : group)
      taken.insert(op);
    // What stayed out, and why.
    if (remarksEnabled()) {
      std::unordered_set<const Op *> reported;
      for (const Op *op : group)
        for (const Value *v : op->operands) {
          Op *producer = v ? v->definingOp() : nullptr;
          if (!producer || in.count(producer) || taken.count(producer) ||
              !candidate(*producer) || !reported.insert(producer).second)
            continue;
          std::string why;
          if (isGraphOutput(graph, v))
            why = "its result is a graph output";
          else if (v->type.shape != shape)
            why = "its result " + v->type.str() + " is broadcast to " +
                  root->result(0)->type.str() +
                  " (fused, it would be computed once per element)";
          else
            why = "its result has " + std::to_string(users[v].size()) +
                  " users, not all in the loop";
          remark(Remark::Missed, kPass,
                 remarkName(*producer) + " not fused into the loop of " +
                     remarkName(*root) + ": " + why);
        }
    }
    if (group.size() < 2)
      continue;
    std::sort(group.begin(), group.end(), [&](const Op *a, const Op *b) {
      return position.at(a) < position.at(b);
    });
    std::string names;
    for (const Op *op : group)
      names += (names.empty() ? "" : ", ") + remarkName(*op);
    Op *fused = fuseGroup(graph, group, "elementwise");
    if (remarksEnabled())
      remark(Remark::Applied, kPass,
             names + " fused into " + remarkName(*fused) + " (one loop of " +
                 std::to_string(group.size()) + " ops)");
    changed = true;
    users = usersOf(graph);
  }
  return changed;
}

} // namespace tcpu

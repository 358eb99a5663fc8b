//===- FusionUtils.cpp - Shared by the fusion passes and their lowering ----===//
#include "passes/FusionUtils.h"

#include <algorithm>
#include <map>
#include <memory>
#include <unordered_set>

namespace tcpu {

Op *fuseGroup(Graph &graph, const std::vector<Op *> &group,
              const std::string &kind) {
  auto body = std::make_shared<Graph>("body");
  std::unordered_map<const Value *, Value *> map;
  std::vector<Value *> operands;
  for (Op *op : group) {
    std::vector<Value *> bodyOperands;
    for (Value *v : op->operands) {
      if (!v) {
        bodyOperands.push_back(nullptr);
        continue;
      }
      auto it = map.find(v);
      if (it == map.end()) {
        Value *in =
            body->addInput("in" + std::to_string(operands.size()), v->type);
        operands.push_back(v);
        it = map.emplace(v, in).first;
      }
      bodyOperands.push_back(it->second);
    }
    std::vector<TensorType> types;
    for (const Value *r : op->results())
      types.push_back(r->type);
    Op *copy = body->appendOp(op->kind(), std::move(bodyOperands), op->attrs,
                              std::move(types), op->loc);
    for (size_t i = 0; i < op->numResults(); ++i)
      map[op->result(i)] = copy->result(i);
  }
  Op *root = group.back();
  body->addOutput("output0", map.at(root->result(0)));
  body->loc = root->loc;

  Attributes attrs{{"kind", kind}, {"body", GraphAttr{std::move(body)}}};
  Op *fused = graph.createOp(OpKind::Fused, std::move(operands),
                             std::move(attrs), {root->result(0)->type},
                             root->loc, graph.find(root));
  fused->result(0)->name = root->result(0)->name;
  graph.replaceAllUsesWith(root->result(0), fused->result(0));
  for (auto it = group.rbegin(); it != group.rend(); ++it)
    graph.erase(*it);
  return fused;
}

namespace {

/// The stride s with offset(i) = i * s over the row-major index i of dims
/// [lo, hi) of `shape` walked with `strides`, or nullopt when there is none.
std::optional<int64_t> flatStride(const Shape &shape,
                                  const std::vector<int64_t> &strides,
                                  size_t lo, size_t hi) {
  // Walking inward, each dim of size > 1 must step by the inner size times
  // the flat stride; size-1 dims never step.
  std::optional<int64_t> s;
  int64_t inner = 1;
  for (size_t d = hi; d-- > lo;) {
    if (shape[d] != 1) {
      if (!s) {
        if (strides[d] % inner != 0)
          return std::nullopt;
        s = strides[d] / inner;
      }
      if (strides[d] != *s * inner)
        return std::nullopt;
    }
    inner *= shape[d];
  }
  return s.value_or(0);
}

} // namespace

std::optional<EpilogueAccess> epilogueAccess(const Op &anchor,
                                             const Shape &operand) {
  const Shape &out = anchor.result(0)->type.shape;
  if (operand.size() > out.size() || out.empty())
    return std::nullopt;
  std::vector<int64_t> strides = broadcastStrides(operand, out);
  EpilogueAccess a;
  std::optional<int64_t> rows, cols;
  if (anchor.kind() == OpKind::Conv2d) {
    if (out.size() != 4)
      return std::nullopt;
    a.imageStride = strides[0];
    rows = flatStride(out, strides, 1, 2);
    cols = flatStride(out, strides, 2, 4);
  } else {
    rows = flatStride(out, strides, 0, out.size() - 1);
    cols = flatStride(out, strides, out.size() - 1, out.size());
  }
  if (!rows || !cols || (*cols != 0 && *cols != 1))
    return std::nullopt;
  a.rowStride = *rows;
  a.colStride = *cols;
  return a;
}

std::unordered_map<const Value *, std::vector<Op *>> usersOf(Graph &graph) {
  std::unordered_map<const Value *, std::vector<Op *>> users;
  for (auto &op : graph.ops())
    for (const Value *v : op->operands) {
      if (!v)
        continue;
      std::vector<Op *> &list = users[v];
      if (std::find(list.begin(), list.end(), op.get()) == list.end())
        list.push_back(op.get());
    }
  return users;
}

bool isGraphOutput(const Graph &graph, const Value *v) {
  for (const GraphOutput &o : graph.outputs())
    if (o.value == v)
      return true;
  return false;
}

std::string fusionReport(const std::vector<std::string> &remarks) {
  struct Counts {
    int groups = 0, ops = 0, missed = 0;
  };
  std::map<std::string, Counts> counts;
  std::string fusedLines, missedLines;
  for (const std::string &r : remarks) {
    if (r.rfind("fuse-", 0) != 0)
      continue;
    size_t colon = r.find(": ");
    if (colon == std::string::npos)
      continue;
    std::string pass = r.substr(0, colon), rest = r.substr(colon + 2);
    Counts &c = counts[pass];
    if (rest.rfind("applied: ", 0) == 0) {
      std::string msg = rest.substr(9);
      // "a %x, b %y fused into ...": one op per comma-separated name.
      std::string names = msg.substr(0, msg.find(" fused into "));
      int ops = 1;
      for (size_t i = names.find(", "); i != std::string::npos;
           i = names.find(", ", i + 2))
        ++ops;
      ++c.groups;
      c.ops += ops;
      fusedLines += "  fused (" + pass + "): " + msg + "\n";
    } else if (rest.rfind("missed: ", 0) == 0) {
      ++c.missed;
      missedLines += "  not fused (" + pass + "): " + rest.substr(8) + "\n";
    }
  }
  std::string out = "fusion report:\n" + fusedLines + missedLines;
  for (const auto &[pass, c] : counts)
    out += "  summary (" + pass + "): " + std::to_string(c.groups) +
           " groups of " + std::to_string(c.ops) + " ops fused, " +
           std::to_string(c.missed) + " candidates not fused\n";
  if (counts.empty())
    out += "  nothing fused, no candidate left\n";
  return out;
}

} // namespace tcpu

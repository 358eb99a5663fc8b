//===- MemoryPlan.cpp - Static memory plan of a graph ----------------------===//
#include "codegen/MemoryPlan.h"

#include <algorithm>
#include <unordered_set>

namespace tcpu {

MemoryPlan planMemory(const Graph &graph, int64_t alignment) {
  MemoryPlan plan;
  plan.alignment = alignment;
  std::unordered_set<const Value *> outputs;
  for (const GraphOutput &o : graph.outputs())
    outputs.insert(o.value);

  // Live ranges, in definition order.
  std::unordered_map<const Value *, size_t> index;
  int opIndex = 0;
  for (const auto &op : graph.ops()) {
    for (const Value *v : op->operands)
      if (auto it = index.find(v); it != index.end())
        plan.buffers[it->second].lastOp = opIndex;
    if (op->kind() != OpKind::Constant) {
      for (const Value *v : op->results()) {
        if (outputs.count(v))
          continue;
        int64_t bytes = v->type.byteSize();
        int64_t size = (bytes + alignment - 1) / alignment * alignment;
        index[v] = plan.buffers.size();
        plan.buffers.push_back({v, 0, size, opIndex, opIndex});
      }
    }
    ++opIndex;
  }

  // First fit: the lowest offset that overlaps no placed buffer whose live
  // range intersects this one.
  std::vector<const PlannedBuffer *> placed;
  for (PlannedBuffer &b : plan.buffers) {
    std::vector<const PlannedBuffer *> live;
    for (const PlannedBuffer *p : placed)
      if (p->firstOp <= b.lastOp && b.firstOp <= p->lastOp && p->size > 0)
        live.push_back(p);
    std::sort(live.begin(), live.end(),
              [](const PlannedBuffer *x, const PlannedBuffer *y) {
                return x->offset < y->offset;
              });
    int64_t offset = 0;
    for (const PlannedBuffer *p : live) {
      if (offset + b.size <= p->offset)
        break;
      offset = std::max(offset, p->offset + p->size);
    }
    b.offset = offset;
    placed.push_back(&b);
    plan.offsets[b.value] = offset;
    plan.peakBytes = std::max(plan.peakBytes, offset + b.size);
    plan.totalBytes += b.size;
  }
  return plan;
}

} // namespace tcpu

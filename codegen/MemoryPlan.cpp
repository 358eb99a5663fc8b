//===- MemoryPlan.cpp - Static memory plan of a graph ----------------------===//
#include "codegen/MemoryPlan.h"

#include <algorithm>

namespace tcpu {

namespace {

bool isReshapeLike(OpKind k) {
  return k == OpKind::Reshape || k == OpKind::Flatten ||
         k == OpKind::Squeeze || k == OpKind::Unsqueeze;
}

/// Ops whose kernels read each operand element before storing the result
/// element of the same index (codegen/lower/Elementwise.cpp), so that a
/// same-shape operand's buffer can take the result.
bool writesElementwise(const Op &op) {
  if (op.info().hasTrait(kElementwise))
    return true;
  return op.kind() == OpKind::Fused &&
         op.attrs.getString("kind", "elementwise") == "elementwise";
}

} // namespace

MemoryPlan planMemory(const Graph &graph, const MemoryPlanOptions &options) {
  MemoryPlan plan;
  int64_t alignment = options.alignment;
  plan.alignment = alignment;
  std::unordered_set<const Value *> outputs;
  for (const GraphOutput &o : graph.outputs())
    outputs.insert(o.value);

  // The last op reading each value.
  std::unordered_map<const Value *, int> lastUse;
  int opIndex = 0;
  for (const auto &op : graph.ops()) {
    for (const Value *v : op->operands)
      if (v)
        lastUse[v] = opIndex;
    ++opIndex;
  }
  auto lastUseOf = [&](const Value *v, int def) {
    auto it = lastUse.find(v);
    return it == lastUse.end() ? def : std::max(def, it->second);
  };

  // A reshape-like op making a graph output of a value nothing else reads:
  // the value's op writes the output's buffer, and the reshape is free.
  std::unordered_set<const Value *> inputs(graph.inputs().begin(),
                                           graph.inputs().end());
  if (options.aliasReshapes)
    for (const auto &op : graph.ops()) {
      if (!isReshapeLike(op->kind()) || !op->operand(0))
        continue;
      const Value *x = op->operand(0), *r = op->result(0);
      const Op *def = x->definingOp();
      if (!outputs.count(r) || outputs.count(x) || inputs.count(x) || !def ||
          def->kind() == OpKind::Constant || isReshapeLike(def->kind()) ||
          graph.countUses(x) != 1 || graph.countUses(r) != 1 ||
          !x->type.isPlain() || !r->type.isPlain() ||
          x->type.byteSize() != r->type.byteSize())
        continue;
      plan.outputAliases[x] = r;
      plan.aliasOps.insert(op.get());
    }

  // Buffers in definition order. A buffer's lastOp is the last use of its
  // values so far; a value joining it later is defined from one of them, so
  // "lastOp == this op" already means that nothing after this op reads it.
  std::unordered_map<const Value *, size_t> bufferOf;
  auto join = [&](size_t b, const Value *v, int def) {
    bufferOf[v] = b;
    plan.buffers[b].sharers.push_back(v);
    plan.buffers[b].lastOp = std::max(plan.buffers[b].lastOp, lastUseOf(v, def));
  };
  opIndex = 0;
  for (const auto &opPtr : graph.ops()) {
    const Op &op = *opPtr;
    int i = opIndex++;
    if (op.kind() == OpKind::Constant)
      continue;
    for (const Value *r : op.results()) {
      if (outputs.count(r) || plan.outputAliases.count(r))
        continue;
      int64_t bytes = r->type.byteSize();
      int64_t size = (bytes + alignment - 1) / alignment * alignment;
      plan.naiveBytes += size;
      const Value *x = op.operand(0);
      auto inArena = [&](const Value *v) { return v && bufferOf.count(v); };

      if (options.aliasReshapes && isReshapeLike(op.kind()) && inArena(x) &&
          x->type.isPlain() && r->type.isPlain() && size > 0) {
        join(bufferOf[x], r, i);
        plan.aliasOps.insert(&op);
        continue;
      }

      bool placed = false;
      if (options.inPlace && writesElementwise(op) &&
          op.numResults() == 1 && size > 0 && r->type.isPlain()) {
        for (const Value *v : op.operands) {
          if (!inArena(v) || v->type.shape != r->type.shape ||
              dtypeSize(v->type.dtype) != dtypeSize(r->type.dtype) ||
              !v->type.isPlain())
            continue;
          size_t b = bufferOf[v];
          if (plan.buffers[b].lastOp != i || plan.buffers[b].size != size)
            continue;
          // Another operand in the same buffer (an alias of v, perhaps with
          // another shape) would be read after its bytes were overwritten.
          bool sharedWithOther = false;
          for (const Value *w : op.operands)
            sharedWithOther |= w && w != v && inArena(w) && bufferOf[w] == b;
          if (sharedWithOther)
            continue;
          join(b, r, i);
          plan.inPlaceOps.insert(&op);
          placed = true;
          break;
        }
      }
      if (placed)
        continue;
      bufferOf[r] = plan.buffers.size();
      plan.buffers.push_back({r, {}, 0, size, i, lastUseOf(r, i)});
    }
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
    for (const Value *v : b.sharers)
      plan.offsets[v] = offset;
    plan.peakBytes = std::max(plan.peakBytes, offset + b.size);
    plan.totalBytes += b.size;
  }
  return plan;
}

} // namespace tcpu

//===- MemoryPlanTest.cpp - Liveness, in-place results and reshape aliases ===//
//
// The planner's decisions on small graphs (which values share a buffer,
// which ops run in place or not at all), then differential runs: random
// graphs of elementwise ops, broadcasts and reshapes, compiled with the
// in-place plan, against the interpreter.
//
//===----------------------------------------------------------------------===//
#include "CodegenTestSupport.h"

#include "codegen/MemoryPlan.h"
#include "ir/Parser.h"

namespace tcpu {
namespace {

using cgtest::expectMatchesInterpreter;
using cgtest::randomTensor;

const MemoryPlanOptions kShare{.inPlace = true, .aliasReshapes = true};

std::unique_ptr<Graph> parse(const std::string &text) {
  absl::StatusOr<std::unique_ptr<Graph>> g = parseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? std::move(*g) : nullptr;
}

/// The op defining the value named `name`.
const Op *opNamed(const Graph &g, const std::string &name) {
  for (const auto &op : g.ops())
    for (const Value *r : op->results())
      if (r->name == name)
        return op.get();
  ADD_FAILURE() << "no value %" << name;
  return nullptr;
}

int64_t offsetOf(const MemoryPlan &plan, const Graph &g, const std::string &name) {
  const Op *op = opNamed(g, name);
  auto it = op ? plan.offsets.find(op->result()) : plan.offsets.end();
  EXPECT_NE(it, plan.offsets.end()) << "%" << name << " is not in the arena";
  return it == plan.offsets.end() ? -1 : it->second;
}

/// Every value's live range [definition, last use] and byte range; two
/// values whose byte ranges meet may be live together only at one op, the
/// one that defines the later value in place of (or as an alias of) the
/// earlier.
void expectSharingIsSafe(const Graph &g, const MemoryPlan &plan) {
  std::unordered_map<const Value *, int> def, last;
  std::unordered_map<const Value *, const Op *> defOp;
  int i = 0;
  for (const auto &op : g.ops()) {
    for (const Value *v : op->operands)
      if (v)
        last[v] = i;
    for (const Value *r : op->results()) {
      def[r] = i;
      last[r] = std::max(last[r], i);
      defOp[r] = op.get();
    }
    ++i;
  }
  std::vector<const Value *> vals;
  for (const auto &[v, off] : plan.offsets)
    vals.push_back(v);
  for (const Value *a : vals)
    for (const Value *b : vals) {
      if (a == b || def[a] > def[b] || (def[a] == def[b] && a > b))
        continue;
      int64_t oa = plan.offsets.at(a), ob = plan.offsets.at(b);
      int64_t sa = a->type.byteSize(), sb = b->type.byteSize();
      if (sa == 0 || sb == 0 || oa + sa <= ob || ob + sb <= oa)
        continue;
      // b defined at or after a; their bytes overlap.
      if (last[a] < def[b])
        continue; // a is dead before b exists
      const Op *op = defOp[b];
      bool handoff = last[a] == def[b] && plan.inPlaceOps.count(op) &&
                     oa == ob;
      bool alias = plan.aliasOps.count(op) && oa == ob;
      // An alias lives alongside its source: both only read.
      EXPECT_TRUE(handoff || alias)
          << "%" << a->name << " [" << def[a] << "," << last[a] << "] and %"
          << b->name << " [" << def[b] << "," << last[b] << "] share bytes";
    }
}

TEST(MemoryPlanInPlace, ChainRunsInOneBuffer) {
  auto g = parse(R"(graph @g(%x: f32[1000]) -> (y: f32[1000]) {
  %a = relu %x : f32[1000]
  %b = neg %a : f32[1000]
  %c = abs %b : f32[1000]
  %d = sqrt %c : f32[1000]
  %y = exp %d : f32[1000]
  return %y
})");
  MemoryPlan plan = planMemory(*g, kShare);
  ASSERT_EQ(plan.buffers.size(), 1u);
  EXPECT_EQ(plan.peakBytes, 4032);
  EXPECT_EQ(plan.naiveBytes, 4 * 4032);
  // %a is written from a graph input, never into it; %y is an output.
  EXPECT_EQ(plan.inPlaceOps.size(), 3u);
  EXPECT_FALSE(plan.inPlaceOps.count(opNamed(*g, "a")));
  EXPECT_FALSE(plan.inPlaceOps.count(opNamed(*g, "y")));
  expectSharingIsSafe(*g, plan);

  // Without the options, liveness reuse alone alternates two buffers.
  MemoryPlan plain = planMemory(*g);
  EXPECT_EQ(plain.peakBytes, 2 * 4032);
  EXPECT_EQ(plain.naiveBytes, 4 * 4032);
  EXPECT_TRUE(plain.inPlaceOps.empty());
}

TEST(MemoryPlanInPlace, OnlyIntoDyingSameShapeArenaOperands) {
  auto g = parse(R"(graph @g(%x: f32[4,8], %v: f32[8]) -> (y: f32[4,8]) {
  %k = constant dense<2.0> : f32[4,8]
  %a = exp %x : f32[4,8]
  %b = add %a, %k : f32[4,8]
  %c = mul %b, %a : f32[4,8]
  %r = reshape %v {shape = [1, 8]} : f32[1,8]
  %s = exp %r : f32[1,8]
  %d = add %s, %c : f32[4,8]
  %e = lt %d, %k : bool[4,8]
  %f = where %e, %d, %k : f32[4,8]
  %y = neg %f : f32[4,8]
  return %y
})");
  MemoryPlan plan = planMemory(*g, kShare);
  // %b: %a is still read by %c, %k is a constant: a new buffer.
  EXPECT_FALSE(plan.inPlaceOps.count(opNamed(*g, "b")));
  EXPECT_NE(offsetOf(plan, *g, "b"), offsetOf(plan, *g, "a"));
  // %c: %b dies here and has the result's shape: in place.
  EXPECT_TRUE(plan.inPlaceOps.count(opNamed(*g, "c")));
  EXPECT_EQ(offsetOf(plan, *g, "c"), offsetOf(plan, *g, "b"));
  // %r reshapes a graph input: a copy, not an alias.
  EXPECT_FALSE(plan.aliasOps.count(opNamed(*g, "r")));
  // %d: %s broadcasts ([1,8] -> [4,8]), %c does not and dies: into %c.
  EXPECT_EQ(offsetOf(plan, *g, "d"), offsetOf(plan, *g, "c"));
  // %e is bool (1 byte per element): never into an f32 buffer.
  EXPECT_FALSE(plan.inPlaceOps.count(opNamed(*g, "e")));
  // %f: %d dies at %f: in place (the bool condition is another buffer).
  EXPECT_EQ(offsetOf(plan, *g, "f"), offsetOf(plan, *g, "d"));
  expectSharingIsSafe(*g, plan);
  std::mt19937_64 rng(11);
  expectMatchesInterpreter(*g, {randomTensor(g->inputs()[0]->type, rng),
                                randomTensor(g->inputs()[1]->type, rng)},
                           4);
}

TEST(MemoryPlanInPlace, SameOperandTwice) {
  auto g = parse(R"(graph @g(%x: f32[37]) -> (y: f32[37]) {
  %a = exp %x : f32[37]
  %b = mul %a, %a : f32[37]
  %y = neg %b : f32[37]
  return %y
})");
  MemoryPlan plan = planMemory(*g, kShare);
  EXPECT_TRUE(plan.inPlaceOps.count(opNamed(*g, "b")));
  EXPECT_EQ(plan.buffers.size(), 1u);
  std::mt19937_64 rng(12);
  expectMatchesInterpreter(*g, {randomTensor(g->inputs()[0]->type, rng)}, 8);
}

TEST(MemoryPlanInPlace, FusedElementwiseTreesButNotEpilogues) {
  // A fused elementwise tree loads every operand element before it stores
  // that index, as a single op does: in place into %a. The epilogue of a
  // GEMM is not: its result never takes its residual's buffer.
  auto g = parse(R"(graph @g(%x: f32[4,6], %b: f32[6], %w: f32[6,6]) -> (y: f32[4,6]) {
  %a = exp %x : f32[4,6]
  %f = fused %a, %b {kind = "elementwise"} body(%p: f32[4,6], %q: f32[6]) {
    %0 = add %p, %q : f32[4,6]
    %1 = relu %0 : f32[4,6]
    return %1
  } : f32[4,6]
  %e = fused %f, %w, %f {kind = "epilogue"} body(%in0: f32[4,6], %in1: f32[6,6], %in2: f32[4,6]) {
    %0 = matmul %in0, %in1 : f32[4,6]
    %1 = add %0, %in2 : f32[4,6]
    return %1
  } : f32[4,6]
  %y = neg %e : f32[4,6]
  return %y
})");
  MemoryPlan plan = planMemory(*g, kShare);
  EXPECT_TRUE(plan.inPlaceOps.count(opNamed(*g, "f")));
  EXPECT_EQ(offsetOf(plan, *g, "f"), offsetOf(plan, *g, "a"));
  EXPECT_FALSE(plan.inPlaceOps.count(opNamed(*g, "e")));
  EXPECT_NE(offsetOf(plan, *g, "e"), offsetOf(plan, *g, "f"));
  expectSharingIsSafe(*g, plan);
  std::mt19937_64 rng(18);
  std::vector<Tensor> inputs;
  for (const Value *in : g->inputs())
    inputs.push_back(randomTensor(in->type, rng, -1, 1, false));
  expectMatchesInterpreter(*g, inputs, 64);
}

TEST(MemoryPlanAlias, ReshapesShareTheirOperandsBytes) {
  auto g = parse(R"(graph @g(%x: f32[2,3,4]) -> (y: f32[24], z: f32[6,4]) {
  %a = exp %x : f32[2,3,4]
  %f = flatten %a {axis = 2} : f32[6,4]
  %u = unsqueeze %f {axes = [0]} : f32[1,6,4]
  %s = squeeze %u {axes = [0]} : f32[6,4]
  %r = reshape %s {shape = [24]} : f32[24]
  %y = neg %r : f32[24]
  %z = abs %f : f32[6,4]
  return %y, %z
})");
  MemoryPlan plan = planMemory(*g, kShare);
  int64_t a = offsetOf(plan, *g, "a");
  for (const char *n : {"f", "u", "s", "r"}) {
    EXPECT_EQ(offsetOf(plan, *g, n), a) << n;
    EXPECT_TRUE(plan.aliasOps.count(opNamed(*g, n))) << n;
  }
  ASSERT_EQ(plan.buffers.size(), 1u);
  // The buffer lives until %z reads %f, after %y.
  EXPECT_EQ(plan.buffers[0].lastOp, 6);
  expectSharingIsSafe(*g, plan);
  std::mt19937_64 rng(13);
  expectMatchesInterpreter(*g, {randomTensor(g->inputs()[0]->type, rng)}, 8);
}

TEST(MemoryPlanAlias, NoInPlaceWhileAnAliasIsAlive) {
  // %b would overwrite %a's bytes, but %r (the same bytes) is read after.
  auto g = parse(R"(graph @g(%x: f32[2,3]) -> (y: f32[2,3]) {
  %a = exp %x : f32[2,3]
  %r = reshape %a {shape = [3, 2]} : f32[3,2]
  %b = neg %a : f32[2,3]
  %t = transpose %r : f32[2,3]
  %y = add %b, %t : f32[2,3]
  return %y
})");
  MemoryPlan plan = planMemory(*g, kShare);
  EXPECT_TRUE(plan.aliasOps.count(opNamed(*g, "r")));
  EXPECT_FALSE(plan.inPlaceOps.count(opNamed(*g, "b")));
  EXPECT_NE(offsetOf(plan, *g, "b"), offsetOf(plan, *g, "a"));
  expectSharingIsSafe(*g, plan);
  std::mt19937_64 rng(14);
  expectMatchesInterpreter(*g, {randomTensor(g->inputs()[0]->type, rng)}, 8);
}

TEST(MemoryPlanAlias, OutputsAndInputsAreCopied) {
  // A reshape of a graph input, and a reshape that is a graph output, need
  // their own bytes: both stay steps.
  auto g = parse(R"(graph @g(%x: f32[2,3]) -> (y: f32[6], z: f32[3,2]) {
  %r = reshape %x {shape = [3, 2]} : f32[3,2]
  %a = exp %r : f32[3,2]
  %y = reshape %a {shape = [6]} : f32[6]
  %z = neg %a : f32[3,2]
  return %y, %z
})");
  MemoryPlan plan = planMemory(*g, kShare);
  EXPECT_TRUE(plan.aliasOps.empty());
  std::mt19937_64 rng(15);
  expectMatchesInterpreter(*g, {randomTensor(g->inputs()[0]->type, rng)}, 8);
}

TEST(MemoryPlanAlias, AValueReshapedIntoAnOutputIsComputedThere) {
  // %a is read only by the reshape that makes output y: exp writes y's
  // buffer and the reshape is free. %b has a second use, so z is a copy.
  auto g = parse(R"(graph @g(%x: f32[2,3]) -> (y: f32[6], z: f32[3,2], w: f32[2,3]) {
  %a = exp %x : f32[2,3]
  %y = reshape %a {shape = [6]} : f32[6]
  %b = neg %x : f32[2,3]
  %z = reshape %b {shape = [3, 2]} : f32[3,2]
  %w = abs %b : f32[2,3]
  return %y, %z, %w
})");
  MemoryPlan plan = planMemory(*g, kShare);
  const Op *y = opNamed(*g, "y");
  ASSERT_TRUE(plan.outputAliases.count(opNamed(*g, "a")->result()));
  EXPECT_EQ(plan.outputAliases.at(opNamed(*g, "a")->result()), y->result());
  EXPECT_TRUE(plan.aliasOps.count(y));
  EXPECT_FALSE(plan.offsets.count(opNamed(*g, "a")->result()));
  EXPECT_FALSE(plan.aliasOps.count(opNamed(*g, "z")));
  EXPECT_FALSE(plan.outputAliases.count(opNamed(*g, "b")->result()));
  std::mt19937_64 rng(16);
  expectMatchesInterpreter(*g, {randomTensor(g->inputs()[0]->type, rng)}, 8);
  // Compiled: kernels for exp, neg, z's copy and abs; none for y.
  CompileOptions noFallback;
  noFallback.allowInterpreterFallback = false;
  absl::StatusOr<std::unique_ptr<CompiledModel>> m = compile(*g, noFallback);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ((*m)->compiledOps(), 4);
}

TEST(MemoryPlanInPlace, MultiResultAndDeadValues) {
  // lstm has three results (never in place); %dead is never read.
  auto g = parse(R"(graph @g(%x: f32[3,2,4], %w: f32[1,8,4], %r: f32[1,8,2]) -> (y: f32[3,1,2,2]) {
  %e = exp %x : f32[3,2,4]
  %dead = neg %e : f32[3,2,4]
  %y, %h, %c = lstm %e, %w, %r {hidden_size = 2} : f32[3,1,2,2], f32[1,2,2], f32[1,2,2]
  return %y
})");
  MemoryPlan plan = planMemory(*g, kShare);
  EXPECT_TRUE(plan.inPlaceOps.empty());
  expectSharingIsSafe(*g, plan);
  std::mt19937_64 rng(16);
  std::vector<Tensor> inputs;
  for (const Value *in : g->inputs())
    inputs.push_back(randomTensor(in->type, rng, -1, 1, false));
  expectMatchesInterpreter(*g, inputs, 64);
}

TEST(MemoryPlanInPlace, RandomGraphsMatchTheInterpreter) {
  // Unary and binary ops, broadcasts from [1,C] rows, reshape round trips
  // and values read much later: every sharing decision on random graphs,
  // checked structurally and by running.
  std::mt19937_64 rng(17);
  int inPlace = 0, aliases = 0;
  for (int trial = 0; trial < 25; ++trial) {
    GraphBuilder b("random");
    const Shape full = {5, 19}, row = {1, 19};
    std::vector<Value *> fulls = {b.input("x", TensorType(DType::F32, full))};
    std::vector<Value *> rows = {b.input("r", TensorType(DType::F32, row))};
    for (int i = 0; i < 30; ++i) {
      Value *l = fulls[rng() % fulls.size()], *r = fulls[rng() % fulls.size()];
      Value *v = nullptr;
      switch (rng() % 6) {
      case 0:
        v = b.neg({l}).value();
        break;
      case 1:
        v = b.add({l, r}).value();
        break;
      case 2:
        v = b.mul({rows[rng() % rows.size()], l}).value();
        break;
      case 3: {
        Attributes a;
        a.set("shape", std::vector<int64_t>{19, 5});
        Value *t = b.reshape({l}, a).value();
        a.set("shape", std::vector<int64_t>{5, 19});
        v = b.reshape({b.abs({t}).value()}, a).value();
        break;
      }
      case 4:
        rows.push_back(b.neg({rows[rng() % rows.size()]}).value());
        continue;
      default:
        v = b.sub({l, l}).value();
        break;
      }
      fulls.push_back(v);
    }
    b.output("y", fulls.back());
    b.output("z", fulls[fulls.size() / 2]);
    auto g = b.finish().value();
    MemoryPlan plan = planMemory(*g, kShare);
    inPlace += static_cast<int>(plan.inPlaceOps.size());
    aliases += static_cast<int>(plan.aliasOps.size());
    expectSharingIsSafe(*g, plan);
    std::vector<Tensor> inputs;
    for (const Value *in : g->inputs())
      inputs.push_back(randomTensor(in->type, rng));
    expectMatchesInterpreter(*g, inputs, 0);
    // At -O3 the chains become fused elementwise trees, planned in place
    // the same way (the ops are exact, so fusing them changes no bit).
    CompileOptions o3;
    o3.graphOptLevel = 3;
    expectMatchesInterpreter(*g, inputs, 0, o3);
  }
  // The generator exercises both mechanisms.
  EXPECT_GT(inPlace, 50);
  EXPECT_GT(aliases, 20);
}

} // namespace
} // namespace tcpu

//===- FusedCodegenTest.cpp - Compiled fused ops vs unfused and the interpreter ===//
//
// Random graphs are compiled twice with the interpreter fallback off: as
// built, and after fuse-epilogue,fuse-elementwise (which must have made
// fused ops). Oracles:
//  - the fused kernels run each op's own vector code on the same values
//    (elementwise ops in registers, epilogues on the GEMM/conv result before
//    its store), so the fused model must equal the unfused one bit for bit
//    (NaN matches NaN);
//  - against the reference interpreter: elementwise trees of exact ops
//    (add, sub, mul, div, max, min, relu, neg, abs, clip, compare, where,
//    cast; see lower/Elementwise.cpp) exactly, trees with exp, tanh or
//    sigmoid within kTranscendentalUlps per such op on the path (their
//    inputs are bounded so nothing cancels); epilogues within the bound of
//    ConvCodegenTest, |got - want| <= 1e-5 |want| + 1e-5 sqrt(K) (inputs in
//    [-1, 1]), since every epilogue op used here is 1-Lipschitz or scales
//    by at most 1.
// Shapes: odd sizes and sizes around the vector width (8 lanes with
// "haswell", 16 with the host's AVX-512), broadcasting operands (scalar,
// row, column, middle dim, per channel, per pixel), rank up to 5.
//
//===----------------------------------------------------------------------===//
#include "CodegenTestSupport.h"

#include "ir/Printer.h"
#include "passes/Pass.h"

#include <cstdio>

namespace tcpu {
namespace {

using cgtest::maxUlp;
using cgtest::randomTensor;

constexpr int64_t kTranscendentalUlps = 4;

int countFused(const Graph &g) {
  int n = 0;
  for (const auto &op : g.ops())
    n += op->kind() == OpKind::Fused;
  return n;
}

std::unique_ptr<Graph> fused(const Graph &g) {
  std::unique_ptr<Graph> copy = g.clone();
  absl::StatusOr<std::vector<PipelineStep>> steps =
      parsePipeline("fuse-epilogue,fuse-elementwise");
  EXPECT_TRUE(steps.ok());
  absl::Status s = runPipeline(*copy, *steps);
  EXPECT_TRUE(s.ok()) << s;
  return copy;
}

std::vector<Tensor> runCompiled(const Graph &g, const std::vector<Tensor> &in,
                                const std::string &cpu) {
  CompileOptions options;
  options.allowInterpreterFallback = false;
  options.cpu = cpu;
  absl::StatusOr<std::unique_ptr<CompiledModel>> model = compile(g, options);
  EXPECT_TRUE(model.ok()) << model.status();
  if (!model.ok())
    return {};
  absl::StatusOr<std::vector<Tensor>> out = (*model)->run(in);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : std::vector<Tensor>{};
}

/// Compiles `g` as is and fused (on `cpu`), expects at least `minFused`
/// fused ops and the two results bit-identical; returns the fused results.
std::vector<Tensor> checkFusedEqualsUnfused(const Graph &g,
                                            const std::vector<Tensor> &in,
                                            int minFused,
                                            const std::string &cpu = "") {
  std::unique_ptr<Graph> f = fused(g);
  EXPECT_GE(countFused(*f), minFused) << printGraph(*f);
  std::vector<Tensor> plain = runCompiled(g, in, cpu);
  std::vector<Tensor> got = runCompiled(*f, in, cpu);
  EXPECT_EQ(plain.size(), got.size());
  for (size_t i = 0; i < plain.size() && i < got.size(); ++i) {
    std::string where;
    EXPECT_EQ(maxUlp(got[i], plain[i], where), 0)
        << "output " << g.outputs()[i].name << ": " << where << "\n"
        << printGraph(*f);
  }
  return got;
}

// ----- Elementwise trees ------------------------------------------------------

struct TreeSpec {
  bool transcendental;
  DType dtype = DType::F32;
};

/// A random shape of rank 1..5 with sizes around the vector widths.
Shape randomShape(std::mt19937_64 &rng) {
  static const int64_t sizes[] = {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 33};
  int rank = 1 + static_cast<int>(rng() % 4);
  Shape s;
  int64_t total = 1;
  for (int d = 0; d < rank; ++d) {
    int64_t n = sizes[rng() % std::size(sizes)];
    if (total * n > 4096)
      n = 1;
    total *= n;
    s.push_back(n);
  }
  return s;
}

/// `out` with some dims set to 1 and some leading dims dropped: an operand
/// shape that broadcasts to `out`.
Shape broadcastShape(const Shape &out, std::mt19937_64 &rng) {
  Shape s = out;
  for (int64_t &d : s)
    if (rng() % 3 == 0)
      d = 1;
  size_t drop = rng() % (s.size() + 1);
  return Shape(s.begin() + static_cast<std::ptrdiff_t>(drop), s.end());
}

/// A tree of `nOps` elementwise ops over inputs broadcasting to one shape;
/// every intermediate has the result shape. Returns the depth of
/// transcendental ops on the longest path through `ulpBudget`.
std::unique_ptr<Graph> randomTree(std::mt19937_64 &rng, const TreeSpec &spec,
                                  int nOps, std::vector<Tensor> &inputs,
                                  int &transcendentalDepth) {
  GraphBuilder b("tree");
  Shape out = randomShape(rng);
  int inputCount = 0;
  auto newInput = [&](bool full) {
    TensorType t(spec.dtype, full ? out : broadcastShape(out, rng));
    // Bounded inputs: exp of them stays finite, sums do not cancel badly.
    inputs.push_back(randomTensor(t, rng, -2, 2, !spec.transcendental));
    return b.input("in" + std::to_string(inputCount++), t);
  };
  struct Node {
    Value *v;
    int depth; // transcendental ops on its path
  };
  std::vector<Node> pool{{newInput(true), 0}};
  const OpKind unaryExact[] = {OpKind::Neg, OpKind::Abs, OpKind::Relu,
                               OpKind::Clip};
  const OpKind unaryTrans[] = {OpKind::Exp, OpKind::Tanh, OpKind::Sigmoid};
  const OpKind binary[] = {OpKind::Add, OpKind::Sub, OpKind::Mul,
                           OpKind::Max, OpKind::Min, OpKind::Div};
  for (int i = 0; i < nOps; ++i) {
    // Mostly the newest value (chains), sometimes an older one (trees).
    size_t pick = rng() % 4 == 0 ? rng() % pool.size() : pool.size() - 1;
    Node a = pool[pick];
    if (pool.size() > 1 && rng() % 4 != 0)
      pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(pick));
    int kind = static_cast<int>(rng() % 10);
    absl::StatusOr<Value *> r;
    int depth = a.depth;
    if (kind < 3) {
      OpKind k = spec.transcendental && rng() % 2
                     ? unaryTrans[rng() % std::size(unaryTrans)]
                     : unaryExact[rng() % std::size(unaryExact)];
      Attributes attrs;
      if (k == OpKind::Clip)
        attrs = {{"min", -0.5}, {"max", 1.5}};
      r = b.create(k, {a.v}, attrs);
      depth += k == OpKind::Exp || k == OpKind::Tanh || k == OpKind::Sigmoid;
    } else if (kind < 9) {
      // The other operand: a fresh (often broadcast) input, or a pool value.
      Node o = rng() % 2 || pool.size() < 2 ? Node{newInput(rng() % 3 == 0), 0}
                                            : pool[rng() % pool.size()];
      OpKind k = binary[rng() % std::size(binary)];
      if (spec.transcendental && k == OpKind::Div)
        k = OpKind::Add; // no division by near-zero sums of inexact values
      r = rng() % 2 ? b.create(k, {a.v, o.v}) : b.create(k, {o.v, a.v});
      depth = std::max(depth, o.depth);
    } else {
      // where(a > other, a, other)
      Node o{newInput(false), 0};
      absl::StatusOr<Value *> c = b.gt({a.v, o.v});
      r = c.ok() ? b.where({*c, a.v, o.v}) : c;
    }
    if (!r.ok()) {
      ADD_FAILURE() << r.status();
      return nullptr;
    }
    pool.push_back({*r, depth});
    transcendentalDepth = std::max(transcendentalDepth, depth);
  }
  // Every value left in the pool of the result shape reaches the output.
  Value *result = pool.back().v;
  for (size_t i = 0; i + 1 < pool.size(); ++i)
    if (pool[i].v->type.shape == result->type.shape &&
        pool[i].v->definingOp())
      result = b.add({result, pool[i].v}).value();
  b.output("out", result);
  absl::StatusOr<std::unique_ptr<Graph>> g = b.finish();
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? std::move(*g) : nullptr;
}

void checkTrees(bool transcendental, const std::string &cpu, uint64_t seed) {
  std::mt19937_64 rng(seed);
  int64_t worst = 0;
  for (int t = 0; t < 24; ++t) {
    std::vector<Tensor> inputs;
    int depth = 0;
    std::unique_ptr<Graph> g =
        randomTree(rng, {transcendental}, 2 + static_cast<int>(rng() % 7),
                   inputs, depth);
    ASSERT_TRUE(g);
    std::vector<Tensor> got = checkFusedEqualsUnfused(*g, inputs, 1, cpu);
    absl::StatusOr<std::vector<Tensor>> want = interpret(*g, inputs);
    ASSERT_TRUE(want.ok()) << want.status();
    if (got.empty())
      continue;
    std::string where;
    int64_t d = maxUlp(got[0], (*want)[0], where);
    // Exact chains must be exact; a transcendental op's few ulps can grow
    // through a later sum, so those get a relative bound instead.
    if (!transcendental) {
      EXPECT_EQ(d, 0) << where << "\n" << printGraph(*g);
    } else {
      const float *a = got[0].dataAs<float>(), *w = (*want)[0].dataAs<float>();
      double tol = kTranscendentalUlps * depth * 0x1p-23 * 8;
      for (int64_t i = 0; i < got[0].numElements(); ++i) {
        if (std::isfinite(w[i])) {
          EXPECT_LE(std::fabs(a[i] - w[i]), tol * (1 + std::fabs(w[i])))
              << "element " << i << "\n" << printGraph(*g);
        }
      }
    }
    worst = std::max(worst, d);
  }
  std::printf("[ trees    ] %s %s: worst %lld ulp vs the interpreter\n",
              transcendental ? "transcendental" : "exact",
              cpu.empty() ? "host" : cpu.c_str(), static_cast<long long>(worst));
}

TEST(FusedCodegen, ExactTreesHost) { checkTrees(false, "", 1); }
TEST(FusedCodegen, ExactTreesHaswell) { checkTrees(false, "haswell", 2); }
TEST(FusedCodegen, TranscendentalTreesHost) { checkTrees(true, "", 3); }
TEST(FusedCodegen, TranscendentalTreesHaswell) { checkTrees(true, "haswell", 4); }

TEST(FusedCodegen, MixedDTypesAndIntegers) {
  // i32 arithmetic with a bool select, a cast from f32, and f16 rounding
  // between ops (the interpreter rounds each op's f16 result).
  GraphBuilder b("mixed");
  TensorType f(DType::F32, {3, 37}), i(DType::I32, {37}), h(DType::F16, {3, 37});
  Value *x = b.input("x", f), *k = b.input("k", i), *hx = b.input("h", h);
  Value *xi = b.cast({x}, {{"to", DType::I32}}).value();
  Value *s = b.mul({b.add({xi, k}).value(), k}).value();
  Value *c = b.lt({s, k}).value();
  Value *w = b.where({c, s, b.neg({k}).value()}).value();
  Value *hf = b.mul({b.add({hx, hx}).value(), hx}).value();
  Value *hr = b.sqrt({b.abs({hf}).value()}).value();
  b.output("w", w);
  b.output("hr", hr);
  std::unique_ptr<Graph> g = b.finish().value();
  std::mt19937_64 rng(9);
  std::vector<Tensor> in = {randomTensor(f, rng, -100, 100),
                            randomTensor(i, rng),
                            randomTensor(h, rng, -8, 8)};
  std::vector<Tensor> got = checkFusedEqualsUnfused(*g, in, 2);
  absl::StatusOr<std::vector<Tensor>> want = interpret(*g, in);
  ASSERT_TRUE(want.ok());
  for (size_t o = 0; o < got.size(); ++o) {
    std::string where;
    EXPECT_EQ(maxUlp(got[o], (*want)[o], where), 0) << where;
  }
}

// ----- Epilogues ----------------------------------------------------------------

/// |got - want| <= 1e-5 |want| + 1e-5 sqrt(K), NaN matches NaN.
void expectWithinGemmBound(const Tensor &got, const Tensor &want, int64_t K,
                           const std::string &what) {
  ASSERT_EQ(got.type(), want.type()) << what;
  double atol = 1e-5 * std::sqrt(static_cast<double>(K));
  int failures = 0;
  for (int64_t i = 0; i < got.numElements(); ++i) {
    double a = got.dataAs<float>()[i], w = want.dataAs<float>()[i];
    bool ok = (std::isnan(a) && std::isnan(w)) ||
              std::fabs(a - w) <= 1e-5 * std::fabs(w) + atol;
    if (!ok && failures++ < 5)
      ADD_FAILURE() << what << " element " << i << ": got " << a << ", want "
                    << w;
  }
}

/// The epilogue ops after `anchor` (result shape `out`, channel axis `ch`
/// for conv, -1 for GEMMs): a per-channel or per-column bias, a residual,
/// an activation, a scale, chosen by `variant`.
Value *epilogue(GraphBuilder &b, Value *anchor, int ch, int variant,
                std::mt19937_64 &rng, std::vector<Tensor> &inputs) {
  const Shape &out = anchor->type.shape;
  auto input = [&](Shape s) {
    TensorType t(DType::F32, std::move(s));
    inputs.push_back(randomTensor(t, rng, -1, 1, false));
    return b.input("e" + std::to_string(inputs.size()), t);
  };
  Shape perChannel(out.size(), 1), perPixel = out;
  if (ch >= 0) {
    perChannel[ch] = out[ch];
    perPixel[0] = 1;
    perPixel[ch] = 1;
  } else {
    perChannel.back() = out.back(); // per column
    perPixel = Shape(out.begin(), out.end() - 1);
    perPixel.push_back(1); // per row
  }
  Value *v = anchor;
  switch (variant % 6) {
  case 0: // bias, relu
    v = b.add({v, input(perChannel)}).value();
    v = b.relu({v}).value();
    break;
  case 1: // residual, then relu (ResNet)
    v = b.add({input(out), v}).value();
    v = b.relu({v}).value();
    break;
  case 2: // clip (relu6), then scale by a scalar
    v = b.clip({v}, {{"min", 0.0}, {"max", 0.25}}).value();
    v = b.mul({v, b.scalar(0.5)}).value();
    break;
  case 3: // per-pixel or per-row scale, sigmoid, residual subtract
    v = b.mul({v, input(perPixel)}).value();
    v = b.sigmoid({v}).value();
    v = b.sub({v, input(out)}).value();
    break;
  case 4: // tanh, leaky_relu, max with a per-channel tensor
    v = b.tanh({v}).value();
    v = b.leakyRelu({v}, {{"alpha", 0.2}}).value();
    v = b.max({input(perChannel), v}).value();
    break;
  default: // a scalar input and a bias
    v = b.add({v, input({})}).value();
    v = b.add({v, input(perChannel)}).value();
    break;
  }
  return v;
}

struct ConvCase {
  int64_t N, C, H, W, M, k, stride, pad, groups;
};

void checkConvEpilogue(const ConvCase &c, int variant, bool bias,
                       const std::string &cpu) {
  std::mt19937_64 rng(c.C * 7919 + c.M * 31 + variant);
  GraphBuilder b("conv_epilogue");
  std::vector<Tensor> inputs;
  TensorType xt(DType::F32, {c.N, c.C, c.H, c.W}),
      wt(DType::F32, {c.M, c.C / c.groups, c.k, c.k});
  inputs.push_back(randomTensor(xt, rng, -1, 1, false));
  inputs.push_back(randomTensor(wt, rng, -1, 1, false));
  std::vector<Value *> ops = {b.input("x", xt), b.input("w", wt)};
  if (bias) {
    TensorType bt(DType::F32, {c.M});
    inputs.push_back(randomTensor(bt, rng, -1, 1, false));
    ops.push_back(b.input("b", bt));
  }
  Value *y = b.conv2d(ops, {{"strides", std::vector<int64_t>{c.stride, c.stride}},
                            {"pads", std::vector<int64_t>(4, c.pad)},
                            {"groups", c.groups}})
                 .value();
  b.output("y", epilogue(b, y, 1, variant, rng, inputs));
  std::unique_ptr<Graph> g = b.finish().value();
  std::string what = "conv N=" + std::to_string(c.N) + " C=" +
                     std::to_string(c.C) + " M=" + std::to_string(c.M) +
                     " k=" + std::to_string(c.k) + " groups=" +
                     std::to_string(c.groups) + " variant " +
                     std::to_string(variant) + " " + cpu;
  SCOPED_TRACE(what);
  std::vector<Tensor> got = checkFusedEqualsUnfused(*g, inputs, 1, cpu);
  absl::StatusOr<std::vector<Tensor>> want = interpret(*g, inputs);
  ASSERT_TRUE(want.ok()) << want.status();
  if (!got.empty())
    expectWithinGemmBound(got[0], (*want)[0], c.C / c.groups * c.k * c.k, what);
}

TEST(FusedCodegen, ConvEpilogues) {
  const ConvCase cases[] = {
      {1, 3, 9, 11, 5, 3, 1, 1, 1},   // padded 3x3, odd sizes
      {2, 4, 8, 8, 16, 1, 1, 0, 1},   // 1x1: the input is the GEMM's B
      {1, 6, 13, 7, 6, 3, 2, 1, 3},   // strided, grouped
      {2, 8, 10, 19, 8, 3, 1, 1, 8},  // depthwise (direct kernel)
      {1, 4, 7, 9, 12, 3, 1, 0, 4},   // depthwise with a multiplier of 3
      // Depthwise rows whose remainder runs in halving vectors: 14 = 8+4+2
      // (stride 2), 7 = 4+2+1.
      {1, 16, 28, 28, 16, 3, 2, 1, 16},
      {1, 8, 7, 7, 8, 3, 1, 1, 8},
      {1, 3, 20, 20, 17, 5, 1, 2, 1}, // N (pixels) not a multiple of W
  };
  // Every variant on every conv; 16 lanes (host) and 8 (haswell) alternate.
  for (const ConvCase &c : cases)
    for (int variant = 0; variant < 6; ++variant)
      checkConvEpilogue(c, variant, variant % 3 != 0,
                        variant % 2 ? "haswell" : "");
}

// A conv + bias + residual add + relu compiled at -O3 (fused into one op
// whose GEMM runs per block of output columns, the epilogue's residual
// table moved to each block's first pixel): shapes spanning several column
// blocks with a narrower last one, K beyond a GEMM K block (2304), groups
// 2 with constant (prepacked) weights, at 1 to 3 threads, on 16 lanes
// (host) and 8 (haswell); against the interpreter within the GEMM bound.
TEST(FusedCodegen, ConvEpilogueAcrossColumnBlocksAtO3) {
  const ConvCase cases[] = {
      {1, 256, 13, 14, 32, 3, 1, 1, 1},
      {2, 16, 41, 37, 24, 3, 2, 1, 1},
      {1, 64, 30, 30, 48, 3, 1, 1, 2},
  };
  int i = 0;
  for (const ConvCase &c : cases)
    for (const std::string cpu : {"", "haswell"}) {
      const int threads = 1 + i++ % 3;
      std::mt19937_64 rng(c.C * 31 + c.M + threads);
      GraphBuilder b("conv_blocks");
      TensorType xt(DType::F32, {c.N, c.C, c.H, c.W}),
          wt(DType::F32, {c.M, c.C / c.groups, c.k, c.k}),
          bt(DType::F32, {c.M});
      std::vector<Tensor> in = {randomTensor(xt, rng, -1, 1, false),
                                randomTensor(bt, rng, -1, 1, false)};
      Tensor weights = randomTensor(wt, rng, -1, 1, false);
      // Groups 1 with constant weights would become conv2d_blocked.
      Value *w = c.groups > 1 ? b.constant(weights) : b.input("w", wt);
      Value *x = b.input("x", xt), *bias = b.input("b", bt);
      if (c.groups == 1)
        in.insert(in.begin(), weights);
      Value *y = b.conv2d({x, w, bias},
                          {{"strides", std::vector<int64_t>{c.stride, c.stride}},
                           {"pads", std::vector<int64_t>(4, c.pad)},
                           {"groups", c.groups}})
                     .value();
      TensorType rt = y->type;
      Value *r = b.input("r", rt);
      in.push_back(randomTensor(rt, rng, -1, 1, false));
      b.output("y", b.relu({b.add({y, r}).value()}).value());
      std::unique_ptr<Graph> g = b.finish().value();
      std::string what = "conv C=" + std::to_string(c.C) + " M=" +
                         std::to_string(c.M) + " groups=" +
                         std::to_string(c.groups) + " threads " +
                         std::to_string(threads) + " " + cpu;
      SCOPED_TRACE(what);
      CompileOptions options;
      options.allowInterpreterFallback = false;
      options.graphOptLevel = 3;
      options.threads = threads;
      options.cpu = cpu;
      absl::StatusOr<std::unique_ptr<CompiledModel>> m = compile(*g, options);
      ASSERT_TRUE(m.ok()) << m.status();
      EXPECT_EQ((*m)->compiledOps(), 1) << "conv, add and relu not fused";
      absl::StatusOr<std::vector<Tensor>> got = (*m)->run(in);
      absl::StatusOr<std::vector<Tensor>> want = interpret(*g, in);
      ASSERT_TRUE(got.ok() && want.ok()) << got.status() << want.status();
      expectWithinGemmBound((*got)[0], (*want)[0], c.C / c.groups * c.k * c.k,
                            what);
    }
}

enum class GemmKind { Linear, Linear3d, Matmul, Matmul3d, Gemm, GemmC };

void checkGemmEpilogue(GemmKind kind, int64_t M, int64_t N, int64_t K,
                       int variant, const std::string &cpu) {
  std::mt19937_64 rng(M * 131 + N * 17 + K + variant);
  GraphBuilder b("gemm_epilogue");
  std::vector<Tensor> inputs;
  auto input = [&](const std::string &name, Shape s) {
    TensorType t(DType::F32, std::move(s));
    inputs.push_back(randomTensor(t, rng, -1, 1, false));
    return b.input(name, t);
  };
  Value *y = nullptr;
  switch (kind) {
  case GemmKind::Linear:
    y = b.linear({input("x", {M, K}), input("w", {N, K}), input("b", {N})})
            .value();
    break;
  case GemmKind::Linear3d:
    y = b.linear({input("x", {2, M, K}), input("w", {N, K})}).value();
    break;
  case GemmKind::Matmul:
    y = b.matmul({input("x", {M, K}), input("w", {K, N})}).value();
    break;
  case GemmKind::Matmul3d: // the batches fold into M: one GEMM
    y = b.matmul({input("x", {3, M, K}), input("w", {K, N})}).value();
    break;
  case GemmKind::Gemm:
    y = b.gemm({input("a", {K, M}), input("w", {N, K})},
               {{"trans_a", int64_t{1}}, {"trans_b", int64_t{1}},
                {"alpha", 0.5}})
            .value();
    break;
  case GemmKind::GemmC:
    y = b.gemm({input("a", {M, K}), input("w", {K, N}),
                input("c", variant % 2 ? Shape{M, 1} : Shape{N})})
            .value();
    break;
  }
  b.output("y", epilogue(b, y, -1, variant, rng, inputs));
  std::unique_ptr<Graph> g = b.finish().value();
  std::string what = "kind " + std::to_string(static_cast<int>(kind)) +
                     " M=" + std::to_string(M) + " N=" + std::to_string(N) +
                     " K=" + std::to_string(K) + " variant " +
                     std::to_string(variant) + " " + cpu;
  SCOPED_TRACE(what);
  std::vector<Tensor> got = checkFusedEqualsUnfused(*g, inputs, 1, cpu);
  absl::StatusOr<std::vector<Tensor>> want = interpret(*g, inputs);
  ASSERT_TRUE(want.ok()) << want.status();
  if (!got.empty())
    expectWithinGemmBound(got[0], (*want)[0], K, what);
}

TEST(FusedCodegen, GemmEpilogues) {
  const int64_t shapes[][3] = {{1, 7, 5}, {9, 33, 17}, {64, 40, 70}, {5, 16, 1}};
  // Two of the six variants per (kind, shape), rotating, so that each kind
  // meets every variant; 16 and 8 lanes alternate.
  int i = 0;
  for (GemmKind kind : {GemmKind::Linear, GemmKind::Linear3d, GemmKind::Matmul,
                        GemmKind::Matmul3d, GemmKind::Gemm, GemmKind::GemmC})
    for (const auto &s : shapes) {
      for (int j = 0; j < 2; ++j) {
        int variant = (i + 3 * j) % 6;
        checkGemmEpilogue(kind, s[0], s[1], s[2], variant,
                          (i + j) % 2 ? "haswell" : "");
      }
      ++i;
    }
}

TEST(FusedCodegen, ConvEpilogueSharesGemmAcrossEqualEpilogues) {
  // Two convs of one shape with the same epilogue code (different data)
  // compile to one GEMM function; results stay per-conv.
  GraphBuilder b("two_convs");
  std::mt19937_64 rng(5);
  TensorType xt(DType::F32, {1, 4, 6, 6}), wt(DType::F32, {8, 4, 3, 3}),
      rt(DType::F32, {1, 8, 4, 4});
  std::vector<Tensor> in;
  for (const TensorType &t : {xt, wt, wt, rt, rt})
    in.push_back(randomTensor(t, rng, -1, 1, false));
  Value *x = b.input("x", xt), *w1 = b.input("w1", wt), *w2 = b.input("w2", wt),
        *r1 = b.input("r1", rt), *r2 = b.input("r2", rt);
  Value *a = b.relu({b.add({b.conv2d({x, w1}).value(), r1}).value()}).value();
  Value *c = b.relu({b.add({b.conv2d({x, w2}).value(), r2}).value()}).value();
  b.output("a", a);
  b.output("c", c);
  std::unique_ptr<Graph> g = b.finish().value();
  checkFusedEqualsUnfused(*g, in, 2);
}

} // namespace
} // namespace tcpu

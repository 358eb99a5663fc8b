// Constant GEMM operands packed at compile time (codegen/lower/Prepack.h):
// linear, matmul, gemm, conv2d, lstm and a fused linear + relu whose
// weights are constants, compiled with interpreter fallback off, against the
// reference interpreter; CompiledModel::prepackedWeights() shows that the
// packed path ran.
//
// Tolerance: the interpreter sums in double; a compiled f32 dot product of
// K terms in [-1, 1] x [-1, 1] is within gamma_K * sum |a b| <= K u * K of it
// (Higham; u = 2^-24). We allow (K + 4) * 2^-23 * K, about twice that. A
// wrongly packed panel moves a value by about sqrt(K) / 3, a dropped term
// by about 1/3: both far more than that for the K used here.
#include "CodegenTestSupport.h"
#include "codegen/Target.h"
#include "ir/Parser.h"
#include "runtime/Threading.h"

#include <gtest/gtest.h>

#include <cmath>

namespace tcpu {
namespace {

using cgtest::randomTensor;

TensorType f32(Shape s) { return TensorType(DType::F32, std::move(s)); }

Value *randomConstant(GraphBuilder &b, const TensorType &t, std::mt19937_64 &rng,
                      const std::string &name) {
  return b.constant(randomTensor(t, rng, -1, 1, false), name);
}

/// Compiles `g` (no fallback, at `level`, for `cpu`), runs it on random
/// inputs in [-1, 1] and compares with the interpreter for products of
/// `K` terms; returns the model.
std::unique_ptr<CompiledModel> check(const Graph &g, int64_t K, int level = 0,
                                     const std::string &cpu = "") {
  std::mt19937_64 rng(K * 7 + level);
  std::vector<Tensor> inputs;
  for (const Value *v : g.inputs())
    inputs.push_back(randomTensor(v->type, rng, -1, 1, false));
  absl::StatusOr<std::vector<Tensor>> want = interpret(g, inputs);
  EXPECT_TRUE(want.ok()) << want.status();
  CompileOptions o;
  o.allowInterpreterFallback = false;
  o.graphOptLevel = level;
  o.cpu = cpu;
  absl::StatusOr<std::unique_ptr<CompiledModel>> model = compile(g, o);
  EXPECT_TRUE(model.ok()) << model.status();
  if (!want.ok() || !model.ok())
    return nullptr;
  const double tol = (K + 4) * std::ldexp(1.0, -23) * K;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    absl::StatusOr<std::vector<Tensor>> got = (*model)->run(inputs);
    set_num_threads(0);
    EXPECT_TRUE(got.ok()) << got.status();
    if (!got.ok())
      return nullptr;
    for (size_t o = 0; o < got->size(); ++o) {
      const Tensor &w = (*want)[o], &r = (*got)[o];
      EXPECT_EQ(w.type(), r.type());
      int bad = 0;
      for (int64_t i = 0; i < w.numElements() && bad < 5; ++i) {
        double d = std::fabs(r.elementAsDouble(i) - w.elementAsDouble(i));
        if (!(d <= tol)) {
          ADD_FAILURE() << "threads " << threads << " output " << o
                        << " element " << i << ": got " << r.elementAsDouble(i)
                        << ", want " << w.elementAsDouble(i);
          ++bad;
        }
      }
    }
  }
  return std::move(*model);
}

TEST(PrepackCodegen, LinearWithConstantWeight) {
  const int64_t shapes[][3] = {{1, 256, 784}, {3, 37, 70}, {64, 10, 256},
                               {5, 130, 600}};
  for (const std::string cpu : {"", "haswell"})
    for (auto &sh : shapes) {
      SCOPED_TRACE("M=" + std::to_string(sh[0]) + " N=" +
                   std::to_string(sh[1]) + " K=" + std::to_string(sh[2]) +
                   " cpu=" + cpu);
      if (!cpu.empty() && !hostTarget().hasFeature("avx2"))
        continue;
      std::mt19937_64 rng(sh[0] + sh[1] + sh[2]);
      GraphBuilder b("linear");
      Value *x = b.input("x", f32({sh[0], sh[2]}));
      Value *w = randomConstant(b, f32({sh[1], sh[2]}), rng, "w");
      Value *bias = randomConstant(b, f32({sh[1]}), rng, "b");
      b.output("y", b.create(OpKind::Linear, {x, w, bias}).value());
      auto g = b.finish().value();
      auto m = check(*g, sh[2], 0, cpu);
      ASSERT_TRUE(m);
      EXPECT_EQ(m->prepackedWeights(), 1);
      EXPECT_GE(m->prepackedWeightBytes(), sh[1] * sh[2] * 4);
    }
}

TEST(PrepackCodegen, MatmulWithConstantOperands) {
  std::mt19937_64 rng(5);
  // Constant rhs: 2-D lhs, and batched lhs folded into M.
  for (Shape xs : {Shape{7, 90}, Shape{2, 5, 90}, Shape{90}}) {
    GraphBuilder b("matmul");
    Value *x = b.input("x", f32(xs));
    Value *w = randomConstant(b, f32({90, 33}), rng, "w");
    b.output("y", b.create(OpKind::Matmul, {x, w}).value());
    auto g = b.finish().value();
    auto m = check(*g, 90);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->prepackedWeights(), 1);
  }
  // A constant lhs shared by every batch of the rhs (not folded).
  GraphBuilder b("matmul_a");
  Value *a = randomConstant(b, f32({21, 40}), rng, "a");
  Value *x = b.input("x", f32({3, 40, 19}));
  b.output("y", b.create(OpKind::Matmul, {a, x}).value());
  auto g = b.finish().value();
  auto m = check(*g, 40);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->prepackedWeights(), 1);
  // A batched constant rhs is not one matrix: it stays unpacked.
  GraphBuilder b2("matmul_batched");
  Value *x2 = b2.input("x", f32({3, 4, 40}));
  Value *w2 = randomConstant(b2, f32({3, 40, 19}), rng, "w");
  b2.output("y", b2.create(OpKind::Matmul, {x2, w2}).value());
  auto g2 = b2.finish().value();
  auto m2 = check(*g2, 40);
  ASSERT_TRUE(m2);
  EXPECT_EQ(m2->prepackedWeights(), 0);
}

TEST(PrepackCodegen, GemmWithConstantAOrB) {
  std::mt19937_64 rng(6);
  for (int transA : {0, 1})
    for (int transB : {0, 1})
      for (bool constA : {false, true}) {
        SCOPED_TRACE("transA=" + std::to_string(transA) + " transB=" +
                     std::to_string(transB) + " constA=" +
                     std::to_string(constA));
        const int64_t M = 13, N = 45, K = 77;
        GraphBuilder b("gemm");
        TensorType at = f32(transA ? Shape{K, M} : Shape{M, K});
        TensorType bt = f32(transB ? Shape{N, K} : Shape{K, N});
        Value *a = constA ? randomConstant(b, at, rng, "a") : b.input("a", at);
        Value *w = constA ? b.input("w", bt) : randomConstant(b, bt, rng, "w");
        Value *c = randomConstant(b, f32({N}), rng, "c");
        Attributes attrs;
        attrs.set("trans_a", int64_t{transA});
        attrs.set("trans_b", int64_t{transB});
        attrs.set("alpha", 0.5);
        b.output("y", b.create(OpKind::Gemm, {a, w, c}, attrs).value());
        auto g = b.finish().value();
        auto m = check(*g, K);
        ASSERT_TRUE(m);
        EXPECT_EQ(m->prepackedWeights(), 1);
      }
}

TEST(PrepackCodegen, Conv2dWithConstantWeights) {
  std::mt19937_64 rng(7);
  struct Case {
    int64_t n, c, hw, m, k, groups, stride, pad;
    bool bias;
  } cases[] = {{2, 6, 9, 10, 3, 1, 1, 1, true},  {1, 6, 8, 8, 3, 2, 2, 1, true},
               {2, 16, 7, 33, 1, 1, 1, 0, true}, {1, 4, 5, 6, 1, 2, 1, 0, false},
               {1, 64, 6, 5, 3, 1, 1, 1, false}};
  for (const Case &k : cases) {
    SCOPED_TRACE("c=" + std::to_string(k.c) + " m=" + std::to_string(k.m) +
                 " k=" + std::to_string(k.k) + " groups=" +
                 std::to_string(k.groups));
    GraphBuilder b("conv");
    Value *x = b.input("x", f32({k.n, k.c, k.hw, k.hw}));
    std::vector<Value *> ops = {
        x, randomConstant(b, f32({k.m, k.c / k.groups, k.k, k.k}), rng, "w")};
    if (k.bias)
      ops.push_back(randomConstant(b, f32({k.m}), rng, "b"));
    Attributes a;
    a.set("strides", std::vector<int64_t>{k.stride, k.stride});
    a.set("pads", std::vector<int64_t>{k.pad, k.pad, k.pad, k.pad});
    a.set("groups", k.groups);
    b.output("y", b.create(OpKind::Conv2d, ops, a).value());
    auto g = b.finish().value();
    auto m = check(*g, k.c / k.groups * k.k * k.k);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->prepackedWeights(), 1);
  }
}

TEST(PrepackCodegen, LstmWithConstantWeights) {
  std::mt19937_64 rng(8);
  for (const char *dir : {"forward", "bidirectional"})
    for (int64_t T : {1, 5}) {
      SCOPED_TRACE(std::string(dir) + " T=" + std::to_string(T));
      const int64_t B = 3, I = 20, H = 24, D = std::string(dir) == "forward" ? 1 : 2;
      GraphBuilder b("lstm");
      Value *x = b.input("x", f32({T, B, I}));
      Value *w = randomConstant(b, f32({D, 4 * H, I}), rng, "w");
      Value *r = randomConstant(b, f32({D, 4 * H, H}), rng, "r");
      Value *bias = randomConstant(b, f32({D, 8 * H}), rng, "b");
      Attributes attrs = {{"hidden_size", H}, {"direction", std::string(dir)}};
      auto res = b.createMulti(OpKind::Lstm, {x, w, r, bias}, attrs).value();
      b.output("y", res[0]);
      b.output("y_h", res[1]);
      b.output("y_c", res[2]);
      auto g = b.finish().value();
      // The gates squash each step; errors of the K = max(I, H) products
      // stay within the tolerance through tanh and sigmoid (1-Lipschitz).
      auto m = check(*g, std::max(I, H) * T);
      ASSERT_TRUE(m);
      EXPECT_EQ(m->prepackedWeights(), 2); // W and R
    }
}

TEST(PrepackCodegen, FusedLinearReluAtO3) {
  std::mt19937_64 rng(9);
  GraphBuilder b("mlp");
  Value *x = b.input("x", f32({4, 100}));
  Value *w1 = randomConstant(b, f32({64, 100}), rng, "w1");
  Value *b1 = randomConstant(b, f32({64}), rng, "b1");
  Value *w2 = randomConstant(b, f32({10, 64}), rng, "w2");
  Value *h = b.create(OpKind::Linear, {x, w1, b1}).value();
  Value *r = b.create(OpKind::Relu, {h}).value();
  b.output("y", b.create(OpKind::Linear, {r, w2}).value());
  auto g = b.finish().value();
  auto m = check(*g, 100, /*level=*/3);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->prepackedWeights(), 2);
  EXPECT_EQ(m->prepackedWeightBytes() % 4, 0);
}

TEST(PrepackCodegen, FusedConvWhoseEpilogueReadsTheWeightKeepsIt) {
  // The epilogue adds the 1x1 weight w[2,2,1,1] itself (broadcast over the
  // output, w[n][m] per image and channel): the conv must then read w as it
  // is, not a packed copy, whose elements are in another order.
  auto g = parseGraph(R"(graph @g(%x: f32[2,2,4,4]) -> (y: f32[2,2,4,4]) {
  %w = constant dense<[0.5, -1.0, 2.0, 0.25]> : f32[2,2,1,1]
  %y = fused %x, %w {kind = "epilogue"} body(%a: f32[2,2,4,4], %b: f32[2,2,1,1]) {
    %0 = conv2d %a, %b : f32[2,2,4,4]
    %1 = add %0, %b : f32[2,2,4,4]
    return %1
  } : f32[2,2,4,4]
  return %y
})");
  ASSERT_TRUE(g.ok()) << g.status();
  auto m = check(**g, 2);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->prepackedWeights(), 0);
}

} // namespace
} // namespace tcpu

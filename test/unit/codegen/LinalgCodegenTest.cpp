//===- LinalgCodegenTest.cpp - Compiled matmul and linear vs the interpreter
//===//
//
// matmul with NumPy semantics (1-D operands, batch dims, broadcast batches,
// the fold of batches into M, empty shapes, K = 0) and linear (any rank of
// x, bias or not, K = 0), for every dtype the ops allow, with fallback off.
// Sizes are below, at and above the vector width (8/16) and the GEMM
// micro-tile (14x32 on AVX-512, 6x16 on AVX2).
// Tolerance: |got - want| <= rtol * |want| + 1e-5 * sqrt(K) (inputs in
// [-1, 1]): the GEMM sums K f32 products in its own order, the reference in
// double. rtol is 1e-5 for f32 and one ulp of the type for f16 (2^-10) and
// bf16 (2^-7), whose f32 result and the reference's may round to
// neighbouring 16-bit values. Integers (accumulated in i64 with wrapping,
// then saturated) must be identical.
//
//===----------------------------------------------------------------------===//
#include "CodegenTestSupport.h"

#include <cmath>
#include <cstdio>

namespace tcpu {
namespace {

using cgtest::randomTensor;

const DType kLinalgDTypes[] = {DType::F32, DType::F16, DType::BF16, DType::I8,
                               DType::U8,  DType::I32, DType::I64};

/// Compiles the graph without fallback, runs it and the interpreter, and
/// compares output i with the tolerance above (K of output i: ks[i]).
void checkGraph(const Graph &g, const std::vector<Tensor> &inputs,
                const std::vector<int64_t> &ks,
                const CompileOptions &base = {}) {
  absl::StatusOr<std::vector<Tensor>> want = interpret(g, inputs);
  ASSERT_TRUE(want.ok()) << want.status();
  CompileOptions options = base;
  options.allowInterpreterFallback = false;
  absl::StatusOr<std::unique_ptr<CompiledModel>> model = compile(g, options);
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<std::vector<Tensor>> got = (*model)->run(inputs);
  ASSERT_TRUE(got.ok()) << got.status();
  for (size_t o = 0; o < want->size(); ++o) {
    const Tensor &w = (*want)[o], &r = (*got)[o];
    ASSERT_EQ(r.type(), w.type()) << g.outputs()[o].name;
    DType dt = w.dtype();
    double rtol = dt == DType::F16    ? 0x1p-10
                  : dt == DType::BF16 ? 0x1p-7
                                      : 1e-5;
    double atol = 1e-5 * std::sqrt(static_cast<double>(ks[o]));
    if (!isFloat(dt))
      rtol = atol = 0;
    int failures = 0;
    for (int64_t i = 0; i < w.numElements() && failures < 5; ++i) {
      double d = std::fabs(r.elementAsDouble(i) - w.elementAsDouble(i));
      bool ok = d <= rtol * std::fabs(w.elementAsDouble(i)) + atol;
      EXPECT_TRUE(ok) << g.outputs()[o].name << " " << w.type().str()
                      << " element " << i << ": got " << r.elementAsDouble(i)
                      << ", want " << w.elementAsDouble(i);
      failures += !ok;
    }
  }
}

struct MatmulCase {
  Shape lhs, rhs;
};

const std::vector<MatmulCase> &matmulCases() {
  static const std::vector<MatmulCase> cases = {
      {{7, 9}, {9, 5}},
      {{1, 33}, {33, 17}},
      {{33, 1}, {1, 20}},                       // K = 1
      {{16, 16}, {16, 16}},                     // the vector width
      {{29, 40}, {40, 65}},                     // around the micro-tile
      {{9}, {9, 5}},                            // 1-D lhs
      {{7, 9}, {9}},                            // 1-D rhs
      {{17}, {17}},                             // dot product: a scalar
      {{3, 7, 9}, {9, 5}},                      // batches fold into M
      {{2, 3, 15, 8}, {8, 17}},                 // two batch dims fold
      {{3, 7, 9}, {3, 9, 5}},                   // batched
      {{9}, {3, 9, 5}},                         // 1-D lhs, batched rhs
      {{3, 7, 9}, {9}},                         // batched lhs, 1-D rhs
      {{2, 1, 7, 9}, {3, 9, 5}},                // broadcast batches
      {{1, 7, 9}, {4, 9, 5}},                   // lhs broadcast
      {{3, 7, 9}, {1, 9, 5}},                   // rhs batch of 1
      {{2, 1, 3, 1, 4, 6}, {1, 2, 1, 5, 6, 3}}, // rank 6
      {{2, 17, 16}, {2, 16, 33}},
      {{0, 5}, {5, 3}},       // empty
      {{3, 0}, {0, 4}},       // K = 0: zeros
      {{2, 3, 0}, {0, 4}},    // batched K = 0
      {{0, 3, 4}, {4, 5}},    // no batches
      {{2, 0, 4}, {2, 4, 5}}, // M = 0
  };
  return cases;
}

TEST(LinalgCodegen, MatmulEveryShapeAndDType) {
  for (DType dt : kLinalgDTypes) {
    std::mt19937_64 rng(static_cast<uint64_t>(dt) + 7);
    GraphBuilder b("matmul");
    std::vector<Tensor> inputs;
    std::vector<int64_t> ks;
    int index = 0;
    for (const MatmulCase &c : matmulCases()) {
      TensorType lt(dt, c.lhs), rt(dt, c.rhs);
      Value *x = b.input("a" + std::to_string(index), lt);
      Value *y = b.input("b" + std::to_string(index), rt);
      inputs.push_back(randomTensor(lt, rng, -1, 1, false));
      inputs.push_back(randomTensor(rt, rng, -1, 1, false));
      b.output("c" + std::to_string(index++),
               b.create(OpKind::Matmul, {x, y}).value());
      ks.push_back(c.lhs.back());
    }
    auto g = b.finish().value();
    SCOPED_TRACE(std::string(dtypeName(dt)));
    checkGraph(*g, inputs, ks);
  }
}

TEST(LinalgCodegen, BatchedMatmulOnEightLanes) {
  // The batch loop and the fold with AVX2's width (8 lanes, 6x16 tiles).
  std::mt19937_64 rng(5);
  GraphBuilder b("matmul8");
  std::vector<Tensor> inputs;
  std::vector<int64_t> ks;
  int index = 0;
  for (const MatmulCase &c :
       {MatmulCase{{3, 7, 9}, {3, 9, 17}}, MatmulCase{{2, 1, 13, 8}, {3, 8, 9}},
        MatmulCase{{4, 6, 16}, {16, 16}}}) {
    TensorType lt(DType::F32, c.lhs), rt(DType::F32, c.rhs);
    Value *x = b.input("a" + std::to_string(index), lt);
    Value *y = b.input("b" + std::to_string(index), rt);
    inputs.push_back(randomTensor(lt, rng, -1, 1, false));
    inputs.push_back(randomTensor(rt, rng, -1, 1, false));
    b.output("c" + std::to_string(index++),
             b.create(OpKind::Matmul, {x, y}).value());
    ks.push_back(c.lhs.back());
  }
  auto g = b.finish().value();
  CompileOptions options;
  options.cpu = "haswell";
  checkGraph(*g, inputs, ks, options);
}

TEST(LinalgCodegen, LinearEveryShapeAndDType) {
  struct LinearCase {
    Shape x;
    int64_t out;
    bool bias;
  };
  const LinearCase cases[] = {
      {{5, 9}, 7, true},      {{9}, 7, true},
      {{2, 3, 17}, 33, true}, {{16, 16}, 16, false},
      {{29, 40}, 65, true},   {{3, 0}, 4, true}, // K = 0: the bias
      {{3, 0}, 4, false},     {{0, 5}, 6, true},
  };
  for (DType dt : kLinalgDTypes) {
    std::mt19937_64 rng(static_cast<uint64_t>(dt) + 11);
    GraphBuilder b("linear");
    std::vector<Tensor> inputs;
    std::vector<int64_t> ks;
    int index = 0;
    for (const LinearCase &c : cases) {
      int64_t k = c.x.back();
      TensorType xt(dt, c.x), wt(dt, {c.out, k}), bt(dt, {c.out});
      std::vector<Value *> operands = {
          b.input("x" + std::to_string(index), xt),
          b.input("w" + std::to_string(index), wt)};
      inputs.push_back(randomTensor(xt, rng, -1, 1, false));
      inputs.push_back(randomTensor(wt, rng, -1, 1, false));
      if (c.bias) {
        operands.push_back(b.input("bias" + std::to_string(index), bt));
        inputs.push_back(randomTensor(bt, rng, -1, 1, false));
      }
      b.output("y" + std::to_string(index++),
               b.create(OpKind::Linear, operands).value());
      ks.push_back(k);
    }
    auto g = b.finish().value();
    SCOPED_TRACE(std::string(dtypeName(dt)));
    checkGraph(*g, inputs, ks);
  }
}

} // namespace
} // namespace tcpu

//===- DataMovementCodegenTest.cpp - Compiled transpose/slice/pad/concat ===//
//
// transpose (every permutation up to rank 4, default perm), slice (negative
// starts/ends, steps > 1 and < 0, clamping, empty results), pad (constant
// with a value, reflect, edge, negative pads = cropping, empty input) and
// concat (every axis, empty inputs), the reshape family, expand and gather
// (every axis, i32/i64 and negative indices, scalar and empty index
// tensors), for every dtype, compiled with the interpreter fallback off:
// outputs must be byte-identical (0 ulp). Out-of-range gather indices fail
// the run with an error naming the op.
//
//===----------------------------------------------------------------------===//
#include "CodegenTestSupport.h"

#include <algorithm>

namespace tcpu {
namespace {

using cgtest::expectMatchesInterpreter;
using cgtest::randomTensor;

const DType kAll[] = {DType::F32, DType::F16, DType::BF16, DType::I8, DType::U8,
                      DType::I32, DType::I64, DType::Bool};

struct Cases {
  explicit Cases(DType dt) : dtype(dt), rng(static_cast<uint64_t>(dt) + 17) {}
  DType dtype;
  std::mt19937_64 rng;
  GraphBuilder b{"moves"};
  std::vector<Tensor> inputs;
  int n = 0;
  Value *in(const Shape &shape) {
    TensorType t(dtype, shape);
    inputs.push_back(randomTensor(t, rng));
    return b.input("x" + std::to_string(n++), t);
  }
  void out(OpKind kind, std::vector<Value *> operands, Attributes attrs) {
    absl::StatusOr<Value *> v = b.create(kind, std::move(operands), std::move(attrs));
    ASSERT_TRUE(v.ok()) << v.status();
    b.output("y" + std::to_string(n++), *v);
  }
  void run() {
    auto g = b.finish();
    ASSERT_TRUE(g.ok()) << g.status();
    CompileOptions options;
    options.allowInterpreterFallback = false;
    expectMatchesInterpreter(**g, inputs, 0, options);
  }
};

TEST(DataMovementCodegen, Transpose) {
  for (DType dt : kAll) {
    Cases c(dt);
    for (Shape shape : {Shape{7}, Shape{3, 17}, Shape{2, 3, 5}, Shape{2, 3, 1, 4}}) {
      Shape perm(shape.size());
      for (size_t i = 0; i < perm.size(); ++i)
        perm[i] = static_cast<int64_t>(i);
      do {
        Attributes a;
        a.set("perm", perm);
        c.out(OpKind::Transpose, {c.in(shape)}, a);
      } while (std::next_permutation(perm.begin(), perm.end()));
      c.out(OpKind::Transpose, {c.in(shape)}, {}); // reversed axes
    }
    c.out(OpKind::Transpose, {c.in({})}, {});
    c.out(OpKind::Transpose, {c.in({0, 3})}, {});
    c.run();
  }
}

TEST(DataMovementCodegen, Slice) {
  struct S {
    Shape shape, starts, ends, axes, steps;
  };
  const S cases[] = {
      {{10}, {2}, {7}, {}, {}},
      {{10}, {-3}, {100}, {}, {}},
      {{10}, {9}, {-100}, {}, {-1}},
      {{10}, {8}, {1}, {}, {-3}},
      {{10}, {1}, {10}, {}, {4}},
      {{10}, {5}, {2}, {}, {}}, // empty
      {{4, 9}, {1, 2}, {3, 9}, {}, {}},
      {{4, 9}, {0}, {9}, {1}, {2}},
      {{3, 4, 17}, {1, -1}, {3, 0}, {0, 2}, {1, -2}},
      {{3, 4, 17}, {0, 0, 0}, {3, 4, 17}, {}, {1, 1, 1}},
      {{2, 5, 6}, {1}, {5}, {-2}, {}},
  };
  for (DType dt : kAll) {
    Cases c(dt);
    for (const S &s : cases) {
      Attributes a;
      a.set("starts", s.starts);
      a.set("ends", s.ends);
      if (!s.axes.empty())
        a.set("axes", s.axes);
      if (!s.steps.empty())
        a.set("steps", s.steps);
      c.out(OpKind::Slice, {c.in(s.shape)}, a);
    }
    c.run();
  }
}

TEST(DataMovementCodegen, Pad) {
  struct P {
    Shape shape, pads;
    std::string mode;
    double value;
  };
  const P cases[] = {
      {{5}, {2, 3}, "constant", 1.5},
      {{3, 4}, {1, 0, 2, 5}, "constant", -7},
      {{3, 4}, {0, 2, 0, 1}, "constant", 0},
      {{2, 3, 17}, {1, 0, 3, 0, 2, 1}, "constant", 300},
      {{5}, {2, 3}, "reflect", 0},
      {{3, 4}, {2, 3, 1, 2}, "reflect", 0},
      {{3, 4}, {2, 3, 1, 2}, "edge", 0},
      {{2, 3, 17}, {1, 2, 3, 1, 0, 4}, "edge", 0},
      {{4, 6}, {-1, 2, -1, -2}, "constant", 2}, // cropping
      {{4, 6}, {-1, 2, 0, -3}, "reflect", 0},
      {{0, 3}, {1, 0, 1, 1}, "constant", 4},    // empty input
      {{}, {}, "constant", 1},
  };
  for (DType dt : kAll) {
    Cases c(dt);
    for (const P &p : cases) {
      Attributes a;
      a.set("pads", p.pads);
      a.set("mode", p.mode);
      a.set("value", p.value);
      c.out(OpKind::Pad, {c.in(p.shape)}, a);
    }
    c.run();
  }
}

TEST(DataMovementCodegen, Concat) {
  for (DType dt : kAll) {
    Cases c(dt);
    for (int64_t axis : {0, 1, 2, -1}) {
      Shape s0 = {2, 3, 5}, s1 = s0, s2 = s0;
      int64_t na = axis < 0 ? axis + 3 : axis;
      s1[na] = 4;
      s2[na] = 0;
      Attributes a;
      a.set("axis", axis);
      c.out(OpKind::Concat, {c.in(s0), c.in(s1), c.in(s2), c.in(s0)}, a);
    }
    Attributes a0;
    a0.set("axis", int64_t{0});
    c.out(OpKind::Concat, {c.in({7})}, a0);
    c.out(OpKind::Concat, {c.in({0, 2}), c.in({0, 2})}, a0);
    c.run();
  }
}

TEST(DataMovementCodegen, ReshapesAndExpand) {
  for (DType dt : kAll) {
    Cases c(dt);
    Attributes shape, axes, expandShape, flat;
    shape.set("shape", std::vector<int64_t>{5, -1});
    axes.set("axes", std::vector<int64_t>{0, 3});
    expandShape.set("shape", std::vector<int64_t>{2, 3, 4, 17});
    flat.set("axis", int64_t{2});
    c.out(OpKind::Reshape, {c.in({3, 1, 5})}, shape);
    c.out(OpKind::Squeeze, {c.in({3, 1, 5})}, {});
    c.out(OpKind::Unsqueeze, {c.in({3, 5})}, axes);
    c.out(OpKind::Flatten, {c.in({2, 3, 4, 5})}, flat);
    c.out(OpKind::Expand, {c.in({3, 1, 17})}, expandShape);
    c.out(OpKind::Expand, {c.in({})}, expandShape);
    c.run();
  }
}

// ----- gather -------------------------------------------------------------------

/// Valid random indices in [-dim, dim) (negative ones count from the end).
Tensor indicesTensor(DType dt, const Shape &shape, int64_t dim, std::mt19937_64 &rng) {
  Tensor t = Tensor::allocate(TensorType(dt, shape)).value();
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.setElementFromInt(i, dim == 0 ? 0 : static_cast<int64_t>(rng() % (2 * dim)) - dim);
  return t;
}

TEST(DataMovementCodegen, Gather) {
  struct G {
    Shape data;
    int64_t axis;
    Shape indices;
  };
  const G cases[] = {
      {{10}, 0, {4}},       {{5, 7}, 0, {3, 2}},    {{5, 7}, 1, {3, 2}},
      {{5, 7}, -1, {}},     // scalar index: the axis is dropped
      {{3, 4, 17}, 1, {6}}, {{2, 3, 33}, -1, {20}}, // runs of one element
      {{4, 40}, 0, {5}},    // runs longer than the vector width
      {{6, 16}, 0, {17}},   {{5, 7}, 0, {0}},       // no indices
      {{0, 5}, 1, {3}},     // empty result
  };
  for (DType dt : kAll) {
    for (DType it : {DType::I32, DType::I64}) {
      Cases c(dt);
      for (const G &g : cases) {
        int64_t axis = g.axis < 0 ? g.axis + static_cast<int64_t>(g.data.size()) : g.axis;
        Value *data = c.in(g.data);
        c.inputs.push_back(indicesTensor(it, g.indices, g.data[axis], c.rng));
        Value *idx = c.b.input("i" + std::to_string(c.n++), c.inputs.back().type());
        Attributes a;
        a.set("axis", g.axis);
        c.out(OpKind::Gather, {data, idx}, a);
      }
      c.run();
    }
  }
}

TEST(DataMovementCodegen, GatherIndexOutOfRange) {
  // One bad index among 37 (two or four vectors and a scalar tail), too
  // large or too negative, in a vector lane or in the tail: run() fails
  // naming the op, before writing anything. Also when the result is empty.
  for (DType it : {DType::I32, DType::I64}) {
    for (const auto &[position, value] :
         {std::pair<int64_t, int64_t>{3, 5}, {20, -6}, {36, 5}, {36, 1000000}}) {
      for (int64_t inner : {3, 0}) {
        GraphBuilder b("gather");
        TensorType dataType(DType::F32, {5, inner}), idxType(it, {37});
        Value *data = b.input("data", dataType), *idx = b.input("idx", idxType);
        Value *y = b.create(OpKind::Gather, {data, idx}).value();
        y->name = "g";
        b.output("y", y);
        auto g = b.finish().value();
        CompileOptions options;
        options.allowInterpreterFallback = false;
        auto model = compile(*g, options);
        ASSERT_TRUE(model.ok()) << model.status();
        std::mt19937_64 rng(1);
        Tensor indices = indicesTensor(it, {37}, 5, rng);
        Tensor x = randomTensor(dataType, rng);
        ASSERT_TRUE((*model)->run({x, indices}).ok());
        indices.setElementFromInt(position, value);
        ASSERT_FALSE(interpret(*g, {x, indices}).ok()); // the reference agrees
        auto bad = (*model)->run({x, indices});
        ASSERT_FALSE(bad.ok());
        EXPECT_EQ(std::string(bad.status().message()), "gather %g: an index is out of range");
      }
    }
  }
}

} // namespace
} // namespace tcpu

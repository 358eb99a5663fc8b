//===- DataMovementCodegenTest.cpp - Compiled transpose/slice/pad/concat ===//
//
// transpose (every permutation up to rank 4, default perm), slice (negative
// starts/ends, steps > 1 and < 0, clamping, empty results), pad (constant
// with a value, reflect, edge, negative pads = cropping, empty input) and
// concat (every axis, empty inputs), for every dtype, compiled with the
// interpreter fallback off: outputs must be byte-identical (0 ulp).
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

} // namespace
} // namespace tcpu

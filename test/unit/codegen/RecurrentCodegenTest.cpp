//===- RecurrentCodegenTest.cpp - Compiled lstm, gru, rnn vs interpreter -===//
//
// Every direction, both layouts, with and without bias, initial states and
// peepholes, clip, input_forget, GRU linear_before_reset 0 and 1, every RNN
// activation; hidden sizes below, at and above the vector width (16 lanes
// on the host, 8 with cpu "haswell"), batch 1 and odd, sequences of 1 and
// several steps, plus random sizes. Fallback is disabled, so every op must
// compile.
//
// Tolerance: |got - want| <= 4e-6 + 4e-6 |want| on every output. Weights
// and biases are uniform in +-1/sqrt(H) (PyTorch's init), x and the initial
// states in +-1. The kernels sum the K = I (or H) products of each gate in
// f32 in the GEMM's order, the reference in double: independent roundings of
// 2^-24 relative each, which add up like a random walk to about
// sqrt(K) * 2^-24 * sqrt(K) (sum|w x| <= sqrt(K) with this init), 3e-7 for
// K = 70, the largest here. sigmoid and tanh in f32 add a few ulp of their
// result (< 1e-6). The recurrence does not amplify these errors with this
// init (the gates' derivatives are at most 1 and the weights contract). The
// largest error measured over all cases is printed (1.8e-7 when written), so
// the bound leaves a margin of about 20x, while a wrong gate, index or
// clip is off by 1e-2 or more. The hidden-blocked LSTM cases (constant
// weights) have K up to 300; the largest error measured there was 3.0e-7.
//
//===----------------------------------------------------------------------===//
#include "CodegenTestSupport.h"

#include "ir/Builder.h"

#include <cmath>
#include <string>

namespace tcpu {
namespace {

using cgtest::randomTensor;

enum class Cell { Lstm, Gru, Rnn };

struct Case {
  Cell cell = Cell::Lstm;
  int64_t T = 1, B = 1, I = 1, H = 1;
  std::string direction = "forward";
  int64_t layout = 0;
  bool bias = false, h0 = false, c0 = false, peepholes = false;
  double clip = 0; // 0: no clip
  bool inputForget = false, lbr = false;
  std::string activation = "tanh";
  std::string cpu; // "" = host
  int threads = 0;  // 0: the default count
  /// W, R, the bias and the peepholes as graph constants (the compiler
  /// packs them; an LSTM then takes the hidden-blocked step).
  bool constWeights = false;

  std::string str() const {
    const char *names[] = {"lstm", "gru", "rnn"};
    return std::string(names[static_cast<int>(cell)]) + " T=" +
           std::to_string(T) + " B=" + std::to_string(B) +
           " I=" + std::to_string(I) + " H=" + std::to_string(H) + " " +
           direction + " layout=" + std::to_string(layout) +
           (bias ? " bias" : "") + (h0 ? " h0" : "") + (c0 ? " c0" : "") +
           (peepholes ? " p" : "") +
           (clip > 0 ? " clip=" + std::to_string(clip) : "") +
           (inputForget ? " input_forget" : "") + (lbr ? " lbr" : "") +
           (cell == Cell::Rnn ? " " + activation : "") +
           (cpu.empty() ? "" : " cpu=" + cpu) +
           (threads ? " threads=" + std::to_string(threads) : "") +
           (constWeights ? " const" : "");
  }
};

double gMaxError = 0;

/// Runs `g` compiled (no fallback, for `cpu`) and interpreted on `inputs`
/// and expects every output within the tolerance of the file comment.
void compareCompiled(const Graph &g, const std::vector<Tensor> &inputs,
                     const std::string &cpu = "", int threads = 0) {
  absl::StatusOr<std::vector<Tensor>> want = interpret(g, inputs);
  ASSERT_TRUE(want.ok()) << want.status();
  CompileOptions options;
  options.allowInterpreterFallback = false;
  options.cpu = cpu;
  options.threads = threads;
  absl::StatusOr<std::unique_ptr<CompiledModel>> model = compile(g, options);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_TRUE((*model)->fallbackOps().empty());
  absl::StatusOr<std::vector<Tensor>> got = (*model)->run(inputs);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), want->size());
  for (size_t o = 0; o < got->size(); ++o) {
    const Tensor &w = (*want)[o], &r = (*got)[o];
    ASSERT_EQ(w.type(), r.type());
    for (int64_t i = 0; i < w.numElements(); ++i) {
      double d = std::fabs(r.elementAsDouble(i) - w.elementAsDouble(i));
      gMaxError = std::max(gMaxError, d);
      ASSERT_LE(d, 4e-6 + 4e-6 * std::fabs(w.elementAsDouble(i)))
          << "output " << g.outputs()[o].name << " element " << i << ": got "
          << r.elementAsDouble(i) << ", want " << w.elementAsDouble(i);
    }
  }
}

/// Builds the op with every result as an output, runs it compiled (no
/// fallback) and interpreted, and compares.
void check(const Case &c) {
  SCOPED_TRACE(c.str());
  std::mt19937_64 rng(c.T * 1000003 + c.B * 10007 + c.I * 101 + c.H);
  const int64_t D = c.direction == "bidirectional" ? 2 : 1;
  const int64_t G = c.cell == Cell::Lstm ? 4 : c.cell == Cell::Gru ? 3 : 1;
  const double k = 1.0 / std::sqrt(static_cast<double>(c.H));
  auto f32 = [](Shape s) { return TensorType(DType::F32, std::move(s)); };
  Shape state = c.layout ? Shape{c.B, D, c.H} : Shape{D, c.B, c.H};

  GraphBuilder b("rnn");
  std::vector<Value *> operands;
  std::vector<Tensor> inputs;
  auto add = [&](const std::string &name, const TensorType &t, double range) {
    operands.push_back(b.input(name, t));
    inputs.push_back(randomTensor(t, rng, -range, range, false));
  };
  auto weight = [&](const std::string &name, const TensorType &t,
                    double range) {
    if (!c.constWeights)
      return add(name, t, range);
    operands.push_back(
        b.constant(randomTensor(t, rng, -range, range, false), name));
  };
  add("x", f32(c.layout ? Shape{c.B, c.T, c.I} : Shape{c.T, c.B, c.I}), 1);
  weight("w", f32({D, G * c.H, c.I}), k);
  weight("r", f32({D, G * c.H, c.H}), k);
  auto optional = [&](bool present, const std::string &name,
                      const TensorType &t, double range) {
    if (present && (name == "b" || name == "p"))
      weight(name, t, range);
    else if (present)
      add(name, t, range);
    else
      operands.push_back(nullptr);
  };
  optional(c.bias, "b", f32({D, 2 * G * c.H}), k);
  optional(c.h0, "h0", f32(state), 1);
  if (c.cell == Cell::Lstm) {
    optional(c.c0, "c0", f32(state), 1);
    optional(c.peepholes, "p", f32({D, 3 * c.H}), k);
  }
  while (!operands.empty() && operands.back() == nullptr)
    operands.pop_back();

  Attributes attrs = {{"hidden_size", c.H},
                      {"direction", c.direction},
                      {"layout", c.layout}};
  if (c.clip > 0)
    attrs.set("clip", c.clip);
  OpKind kind = OpKind::Lstm;
  if (c.cell == Cell::Lstm) {
    attrs.set("input_forget", int64_t{c.inputForget});
  } else if (c.cell == Cell::Gru) {
    kind = OpKind::Gru;
    attrs.set("linear_before_reset", int64_t{c.lbr});
  } else {
    kind = OpKind::Rnn;
    attrs.set("activation", c.activation);
  }
  absl::StatusOr<std::vector<Value *>> results =
      b.createMulti(kind, operands, attrs);
  ASSERT_TRUE(results.ok()) << results.status();
  const char *names[] = {"y", "y_h", "y_c"};
  for (size_t i = 0; i < results->size(); ++i)
    b.output(names[i], (*results)[i]);
  std::unique_ptr<Graph> g = b.finish().value();

  compareCompiled(*g, inputs, c.cpu, c.threads);
}

const char *kDirections[] = {"forward", "reverse", "bidirectional"};

TEST(RecurrentCodegen, LstmEveryDirectionLayoutAndOption) {
  // Hidden sizes 5 (below 8 and 16 lanes), 16 (at), 21 (above, remainder);
  // batch 1 and 3; 1 and 6 steps.
  int n = 0;
  for (const char *dir : kDirections)
    for (int64_t layout : {0, 1})
      for (int64_t H : {5, 16, 21}) {
        Case c;
        c.cell = Cell::Lstm;
        c.direction = dir;
        c.layout = layout;
        c.H = H;
        c.T = n % 3 == 0 ? 1 : 6;
        c.B = n % 2 ? 3 : 1;
        c.I = 7;
        c.bias = n % 2 == 0;
        c.h0 = n % 3 != 1;
        c.c0 = n % 4 != 1;
        c.peepholes = n % 5 < 2;
        c.clip = n % 4 == 3 ? 0.5 : 0;
        c.inputForget = n % 6 == 5;
        check(c);
        ++n;
      }
  std::printf("lstm: largest error %.3g\n", gMaxError);
}

TEST(RecurrentCodegen, GruEveryDirectionLayoutAndLinearBeforeReset) {
  int n = 0;
  for (const char *dir : kDirections)
    for (int64_t layout : {0, 1})
      for (bool lbr : {false, true})
        for (int64_t H : {3, 16, 33}) {
          Case c;
          c.cell = Cell::Gru;
          c.direction = dir;
          c.layout = layout;
          c.lbr = lbr;
          c.H = H;
          c.T = n % 3 == 0 ? 1 : 5;
          c.B = n % 2 ? 5 : 1;
          c.I = 9;
          c.bias = n % 4 != 2;
          c.h0 = n % 3 != 2;
          c.clip = n % 5 == 4 ? 0.75 : 0;
          check(c);
          ++n;
        }
  std::printf("gru: largest error %.3g\n", gMaxError);
}

TEST(RecurrentCodegen, RnnEveryActivationDirectionAndLayout) {
  int n = 0;
  for (const char *act : {"tanh", "relu", "sigmoid"})
    for (const char *dir : kDirections)
      for (int64_t layout : {0, 1}) {
        Case c;
        c.cell = Cell::Rnn;
        c.activation = act;
        c.direction = dir;
        c.layout = layout;
        c.H = n % 3 == 0 ? 4 : n % 3 == 1 ? 16 : 19;
        c.T = n % 2 ? 1 : 7;
        c.B = n % 4 == 1 ? 1 : 3;
        c.I = 5;
        c.bias = n % 2 == 0;
        c.h0 = n % 3 != 0;
        c.clip = n % 4 == 2 ? 0.6 : 0;
        check(c);
        ++n;
      }
  std::printf("rnn: largest error %.3g\n", gMaxError);
}

TEST(RecurrentCodegen, EightLaneTarget) {
  // cpu "haswell": 8 lanes, so 8 is "at" and 5 / 13 below / above.
  for (int64_t H : {5, 8, 13}) {
    check({.cell = Cell::Lstm, .T = 4, .B = 3, .I = 6, .H = H,
           .direction = "bidirectional", .bias = true, .h0 = true, .c0 = true,
           .peepholes = true, .cpu = "haswell", .threads = 0});
    check({.cell = Cell::Gru, .T = 3, .B = 1, .I = 4, .H = H, .layout = 1,
           .bias = true, .lbr = H != 8, .cpu = "haswell", .threads = 0});
    // 13 rows are more than two 6-row micro-tiles: the step GEMM packs R^T.
    check({.cell = Cell::Gru, .T = 3, .B = 13, .I = 4, .H = H,
           .direction = "reverse", .bias = true, .cpu = "haswell",
           .threads = 0});
    check({.cell = Cell::Rnn, .T = 5, .B = 3, .I = 3, .H = H,
           .direction = "reverse", .bias = true, .activation = "relu",
           .cpu = "haswell", .threads = 0});
  }
}

TEST(RecurrentCodegen, RandomSizes) {
  // Sizes around the host's tile sizes too (the GEMM's MR is up to 14 rows
  // of B*T, NR up to 64 columns of G*H).
  std::mt19937_64 rng(7);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  for (int i = 0; i < 12; ++i) {
    Case c;
    c.cell = static_cast<Cell>(i % 3);
    c.T = pick(1, 9);
    c.B = pick(1, 17);
    c.I = pick(1, 40);
    c.H = pick(1, 70);
    c.direction = kDirections[pick(0, 2)];
    c.layout = pick(0, 1);
    c.bias = pick(0, 1);
    c.h0 = pick(0, 1);
    c.c0 = pick(0, 1);
    c.peepholes = pick(0, 1);
    c.clip = pick(0, 2) == 0 ? 1.0 : 0;
    c.inputForget = pick(0, 4) == 0;
    c.lbr = pick(0, 1);
    c.activation = pick(0, 1) ? "tanh" : "relu";
    check(c);
  }
  std::printf("random: largest error so far %.3g\n", gMaxError);
}

TEST(RecurrentCodegen, ParallelGemmsOnTwoThreads) {
  // Big enough for the projection and step GEMMs to split over threads,
  // whose packing memory comes from the op's own scratch block. Batch 24
  // reads the transposed R in place; batch 31 is more than two 14-row
  // micro-tiles (AVX-512), so the step GEMM packs it.
  for (Cell cell : {Cell::Lstm, Cell::Gru})
    for (int64_t B : {24, 31})
      check({.cell = cell, .T = 12, .B = B, .I = 48, .H = 64,
             .direction = "bidirectional", .layout = 1, .bias = true,
             .h0 = true, .c0 = true, .lbr = cell == Cell::Gru && B == 24,
             .cpu = "", .threads = 2});
}

TEST(RecurrentCodegen, HiddenBlockedLstmStep) {
  // Constant weights: each LSTM step runs one task per block of hidden
  // units (gate columns permuted at compile time in W, R and the bias, h in
  // the GEMM's packed layout). Hidden sizes below, between and at multiples
  // of the block, batch 1 and 33 (not a multiple of the micro-tile's rows),
  // 1 to 3 threads, every direction, layout and option.
  int n = 0;
  for (int64_t H : {5, 37, 256})
    for (int64_t B : {1, 33})
      for (int threads : {1, 2, 3}) {
        Case c;
        c.constWeights = true;
        c.H = H;
        c.B = B;
        c.T = H == 256 ? 3 : 5;
        c.I = n % 2 ? 19 : 40;
        c.threads = threads;
        c.direction = n % 3 == 1 ? "forward" : n % 3 == 2 ? "reverse"
                                                           : "bidirectional";
        c.layout = n % 4 == 3;
        c.bias = n % 5 != 4;
        c.h0 = n % 2 == 0;
        c.c0 = n % 3 != 2;
        c.peepholes = n % 4 == 1;
        c.clip = n % 7 == 6 ? 0.5 : 0;
        c.inputForget = n % 9 == 8;
        check(c);
        ++n;
      }
  // Wide input and hidden sizes (H still one K block of the GEMM).
  check({.cell = Cell::Lstm, .T = 2, .B = 3, .I = 300, .H = 290,
         .direction = "bidirectional", .bias = true, .h0 = true, .c0 = true,
         .cpu = "", .threads = 2, .constWeights = true});
  // 8 lanes, and GRU / RNN with constant weights keep their own step.
  for (int64_t H : {13, 40})
    check({.cell = Cell::Lstm, .T = 4, .B = 9, .I = 6, .H = H,
           .direction = "bidirectional", .bias = true, .h0 = true, .c0 = true,
           .peepholes = true, .cpu = "haswell", .threads = 2,
           .constWeights = true});
  check({.cell = Cell::Gru, .T = 3, .B = 5, .I = 4, .H = 21, .bias = true,
         .cpu = "", .threads = 2, .constWeights = true});
  check({.cell = Cell::Rnn, .T = 3, .B = 5, .I = 4, .H = 21, .bias = true,
         .cpu = "", .threads = 2, .constWeights = true});
  std::printf("blocked lstm: largest error so far %.3g\n", gMaxError);
}

TEST(RecurrentCodegen, StackedLayersShareGemmKernels) {
  // Two LSTM layers of one shape in one graph (as PyTorch's num_layers=2
  // exports): the second reuses the first's GEMM functions.
  GraphBuilder b("stack");
  TensorType xt(DType::F32, {6, 2, 8}), wt(DType::F32, {1, 32, 8}),
      rt(DType::F32, {1, 32, 8});
  std::mt19937_64 rng(3);
  std::vector<Tensor> inputs;
  auto in = [&](const std::string &n, const TensorType &t) {
    inputs.push_back(randomTensor(t, rng, -0.5, 0.5, false));
    return b.input(n, t);
  };
  Value *x = in("x", xt);
  Value *w1 = in("w1", wt), *r1 = in("r1", rt), *w2 = in("w2", wt),
        *r2 = in("r2", rt);
  Attributes a = {{"hidden_size", int64_t{8}}};
  std::vector<Value *> l1 = b.createMulti(OpKind::Lstm, {x, w1, r1}, a).value();
  Value *y1 =
      b.reshape({l1[0]}, {{"shape", std::vector<int64_t>{6, 2, 8}}}).value();
  std::vector<Value *> l2 =
      b.createMulti(OpKind::Lstm, {y1, w2, r2}, a).value();
  b.output("y", l2[0]);
  std::unique_ptr<Graph> g = b.finish().value();
  compareCompiled(*g, inputs);
}

TEST(RecurrentCodegen, EmptySequenceAndBatch) {
  // T = 0: y is empty and y_h / y_c are the initial states.
  check({.cell = Cell::Lstm, .T = 0, .B = 2, .I = 3, .H = 4,
         .direction = "bidirectional", .h0 = true, .c0 = true, .cpu = "",
         .threads = 0});
  check({.cell = Cell::Gru, .T = 0, .B = 2, .I = 3, .H = 4, .layout = 1,
         .cpu = "", .threads = 0});
  check({.cell = Cell::Rnn, .T = 3, .B = 0, .I = 3, .H = 4, .cpu = "",
         .threads = 0});
}

TEST(RecurrentCodegen, HalfPrecisionFallsBack) {
  // f16 is not lowered: the op runs on the interpreter when allowed.
  GraphBuilder b("half");
  TensorType xt(DType::F16, {2, 1, 3}), wt(DType::F16, {1, 12, 3}),
      rt(DType::F16, {1, 12, 4});
  Value *x = b.input("x", xt), *w = b.input("w", wt), *r = b.input("r", rt);
  std::vector<Value *> out =
      b.createMulti(OpKind::Gru, {x, w, r}, {{"hidden_size", int64_t{4}}})
          .value();
  b.output("y", out[0]);
  std::unique_ptr<Graph> g = b.finish().value();
  absl::StatusOr<std::unique_ptr<CompiledModel>> model = compile(*g, {});
  ASSERT_TRUE(model.ok()) << model.status();
  ASSERT_EQ((*model)->fallbackOps().size(), 1u);
  EXPECT_EQ((*model)->fallbackOps()[0].rfind("gru", 0), 0u);
  CompileOptions strict;
  strict.allowInterpreterFallback = false;
  EXPECT_FALSE(compile(*g, strict).ok());
}

} // namespace
} // namespace tcpu

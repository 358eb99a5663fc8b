//===- ConvCodegenTest.cpp - Compiled conv2d and pools vs the interpreter ===//
//
// conv2d, max_pool2d, avg_pool2d and global_avg_pool compiled with the
// interpreter fallback off, against the reference interpreter, on fixed and
// random shapes: odd sizes, kernels 1/3/5/7, strides 1/2/3, pads, dilations,
// groups (incl. depthwise with a channel multiplier), batch > 1, with and
// without bias; pools with ceil_mode and count_include_pad.
//
// Tolerances:
//  - max_pool2d: exact (the same floats are compared; NaN propagates).
//  - conv2d: |got - want| <= 1e-5 * |want| + 1e-5 * sqrt(K) (K = Cin/g*KH*KW,
//    inputs and weights in [-1, 1], no special values). The reference sums in
//    double, the kernel in f32 in a different order: the rounding error of a
//    K-term f32 sum of terms of magnitude <= 1 grows like eps * sqrt(K) * |partial
//    sums| (~1e-7 * sqrt(K) * sqrt(K)/3 for random signs); the bound leaves a
//    margin of ~100x on the observed errors, which are printed.
//  - avg_pool2d / global_avg_pool: f32 window sums then one division, against
//    double: |got - want| <= 1e-5 * |want| + 1e-5 * 4 (inputs in [-4, 4] plus
//    special values; inf and NaN must match exactly).
//
//===----------------------------------------------------------------------===//
#include "CodegenTestSupport.h"

#include "runtime/ModelArena.h"

#include <cstdio>
#include <mutex>

namespace tcpu {
namespace {

using cgtest::expectThreads;
using cgtest::ParallelLog;
using cgtest::randomTensor;

/// Runs `graph` compiled (no fallback; `threads` as CompileOptions::threads)
/// and interpreted; expects every output within atol + rtol * |want| (NaN
/// matches NaN, infinities exactly). Returns the largest |got - want| /
/// (atol + rtol * |want|) seen.
double expectClose(const Graph &graph, const std::vector<Tensor> &inputs,
                   double rtol, double atol, int threads = 0,
                   const std::string &cpu = "") {
  absl::StatusOr<std::vector<Tensor>> want = interpret(graph, inputs);
  EXPECT_TRUE(want.ok()) << want.status();
  CompileOptions options;
  options.allowInterpreterFallback = false;
  options.threads = threads;
  options.cpu = cpu;
  absl::StatusOr<std::unique_ptr<CompiledModel>> model = compile(graph, options);
  EXPECT_TRUE(model.ok()) << model.status();
  if (!want.ok() || !model.ok())
    return INFINITY;
  absl::StatusOr<std::vector<Tensor>> got = (*model)->run(inputs);
  EXPECT_TRUE(got.ok()) << got.status();
  if (!got.ok())
    return INFINITY;
  double worst = 0;
  for (size_t o = 0; o < want->size(); ++o) {
    const Tensor &g = (*got)[o], &w = (*want)[o];
    EXPECT_EQ(g.type(), w.type());
    if (g.type() != w.type())
      continue;
    int failures = 0;
    for (int64_t i = 0, n = g.numElements(); i < n; ++i) {
      double a = g.dataAs<float>()[i], b = w.dataAs<float>()[i];
      bool ok;
      double ratio = 0;
      if (std::isnan(a) || std::isnan(b) || std::isinf(a) || std::isinf(b)) {
        ok = (std::isnan(a) && std::isnan(b)) || a == b;
      } else {
        double tol = atol + rtol * std::fabs(b);
        ratio = tol > 0 ? std::fabs(a - b) / tol : (a == b ? 0 : INFINITY);
        ok = ratio <= 1;
      }
      worst = std::max(worst, ratio);
      if (!ok && failures++ < 5)
        ADD_FAILURE() << "output '" << graph.outputs()[o].name << "' "
                      << w.type().str() << " element " << i << ": got " << a
                      << ", want " << b;
    }
  }
  return worst;
}

struct ConvCase {
  int64_t n, c, h, w, m, kh, kw, sh, sw;
  std::vector<int64_t> pads;
  int64_t dh, dw, groups;
  bool bias;
};

std::string str(const ConvCase &k) {
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "x[%lld,%lld,%lld,%lld] w[%lld,%lld,%lld,%lld] s%lldx%lld "
                "p[%lld,%lld,%lld,%lld] d%lldx%lld g%lld%s",
                (long long)k.n, (long long)k.c, (long long)k.h, (long long)k.w,
                (long long)k.m, (long long)(k.c / k.groups), (long long)k.kh,
                (long long)k.kw, (long long)k.sh, (long long)k.sw,
                (long long)k.pads[0], (long long)k.pads[1], (long long)k.pads[2],
                (long long)k.pads[3], (long long)k.dh, (long long)k.dw,
                (long long)k.groups, k.bias ? " bias" : "");
  return buf;
}

/// Builds and checks one conv; false when the shape is invalid (skipped).
bool checkConv(const ConvCase &k, std::mt19937_64 &rng, int threads = 0,
               const std::string &cpu = "") {
  GraphBuilder b("conv");
  TensorType xt(DType::F32, {k.n, k.c, k.h, k.w});
  TensorType wt(DType::F32, {k.m, k.c / k.groups, k.kh, k.kw});
  std::vector<Value *> operands = {b.input("x", xt), b.input("w", wt)};
  std::vector<Tensor> inputs = {randomTensor(xt, rng, -1, 1, false),
                                randomTensor(wt, rng, -1, 1, false)};
  if (k.bias) {
    TensorType bt(DType::F32, {k.m});
    operands.push_back(b.input("b", bt));
    inputs.push_back(randomTensor(bt, rng, -1, 1, false));
  }
  Attributes a;
  a.set("strides", std::vector<int64_t>{k.sh, k.sw});
  a.set("pads", k.pads);
  a.set("dilations", std::vector<int64_t>{k.dh, k.dw});
  a.set("groups", k.groups);
  absl::StatusOr<Value *> v = b.create(OpKind::Conv2d, operands, a);
  if (!v.ok())
    return false;
  b.output("y", *v);
  std::unique_ptr<Graph> g = b.finish().value();
  double K = static_cast<double>(k.c / k.groups * k.kh * k.kw);
  double worst =
      expectClose(*g, inputs, 1e-5, 1e-5 * std::sqrt(K), threads, cpu);
  std::printf("[ conv     ] %s%s%s: worst error / tolerance %.3g\n",
              str(k).c_str(), cpu.empty() ? "" : " ", cpu.c_str(), worst);
  return true;
}

TEST(ConvCodegen, Conv2dFixed) {
  std::mt19937_64 rng(1);
  const ConvCase cases[] = {
      // 1x1 stride 1 unpadded (no im2col), with and without bias, batch 2.
      {2, 16, 7, 9, 24, 1, 1, 1, 1, {0, 0, 0, 0}, 1, 1, 1, true},
      {1, 3, 5, 5, 5, 1, 1, 1, 1, {0, 0, 0, 0}, 1, 1, 1, false},
      // 1x1 stride 2 (ResNet downsample), 1x1 padded.
      {2, 8, 9, 11, 16, 1, 1, 2, 2, {0, 0, 0, 0}, 1, 1, 1, true},
      {1, 4, 5, 6, 3, 1, 1, 1, 1, {1, 0, 2, 1}, 1, 1, 1, true},
      // 3x3 pad 1, strides 1 and 2.
      {2, 8, 13, 13, 16, 3, 3, 1, 1, {1, 1, 1, 1}, 1, 1, 1, true},
      {1, 16, 14, 14, 32, 3, 3, 2, 2, {1, 1, 1, 1}, 1, 1, 1, false},
      // 5x5, asymmetric pads; 7x7 stride 2 pad 3 (ResNet stem).
      {1, 5, 11, 9, 7, 5, 5, 1, 1, {2, 1, 0, 2}, 1, 1, 1, true},
      {2, 3, 23, 21, 8, 7, 7, 2, 2, {3, 3, 3, 3}, 1, 1, 1, true},
      // Dilations, mixed strides, non-square kernels.
      {1, 4, 12, 15, 6, 3, 3, 1, 1, {2, 2, 2, 2}, 2, 2, 1, true},
      {1, 4, 17, 10, 5, 3, 5, 2, 1, {1, 2, 0, 1}, 3, 1, 1, false},
      {1, 2, 6, 20, 3, 1, 7, 1, 3, {0, 3, 0, 3}, 1, 2, 1, true},
      // Groups; depthwise (multiplier 1 and 2), batch 3.
      {2, 8, 9, 9, 12, 3, 3, 1, 1, {1, 1, 1, 1}, 1, 1, 4, true},
      {3, 16, 11, 11, 16, 3, 3, 1, 1, {1, 1, 1, 1}, 1, 1, 16, true},
      {1, 8, 15, 13, 16, 5, 5, 2, 2, {2, 2, 2, 2}, 1, 1, 8, false},
      {2, 6, 10, 10, 6, 3, 3, 2, 2, {0, 0, 1, 1}, 1, 1, 6, true},
      // Depthwise rows of 28 = 16+8+4 and 7 = 4+2+1 outputs (halving
      // vectors after the full ones).
      {1, 24, 28, 28, 24, 3, 3, 1, 1, {1, 1, 1, 1}, 1, 1, 24, true},
      {1, 8, 14, 14, 8, 3, 3, 2, 2, {1, 1, 1, 1}, 1, 1, 8, false},
      // Kernel larger than the input with padding; 1x1 input.
      {1, 3, 3, 2, 4, 5, 5, 1, 1, {2, 2, 2, 2}, 1, 1, 1, true},
      {2, 5, 1, 1, 7, 3, 3, 1, 1, {1, 1, 1, 1}, 1, 1, 1, true},
      // Vector-width edges: output planes of 7, 8, 9, 16, 17.
      {1, 4, 7, 1, 9, 1, 1, 1, 1, {0, 0, 0, 0}, 1, 1, 1, true},
      {1, 4, 4, 4, 17, 3, 3, 1, 1, {1, 1, 1, 1}, 1, 1, 1, true},
      {1, 4, 17, 1, 8, 3, 1, 1, 1, {1, 0, 1, 0}, 1, 1, 1, false},
  };
  for (const ConvCase &k : cases)
    EXPECT_TRUE(checkConv(k, rng)) << "invalid case " << str(k);
}

TEST(ConvCodegen, Conv2dRandom) {
  std::mt19937_64 rng(7);
  auto pick = [&](int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
  };
  const int64_t kernels[] = {1, 3, 5, 7};
  int done = 0;
  for (int attempt = 0; attempt < 400 && done < 40; ++attempt) {
    ConvCase k;
    k.groups = pick(0, 3) == 0 ? pick(1, 4) : 1;
    bool depthwise = pick(0, 4) == 0;
    k.c = depthwise ? pick(1, 12) : k.groups * pick(1, 6);
    if (depthwise)
      k.groups = k.c;
    k.m = k.groups * pick(1, depthwise ? 2 : 6);
    k.n = pick(1, 3);
    k.h = pick(1, 19);
    k.w = pick(1, 19);
    k.kh = kernels[pick(0, 3)];
    k.kw = pick(0, 2) == 0 ? kernels[pick(0, 3)] : k.kh;
    k.sh = pick(1, 2);
    k.sw = pick(0, 2) == 0 ? pick(1, 3) : k.sh;
    k.dh = pick(0, 3) == 0 ? 2 : 1;
    k.dw = pick(0, 3) == 0 ? 2 : 1;
    k.pads = {pick(0, 3), pick(0, 3), pick(0, 3), pick(0, 3)};
    k.bias = pick(0, 1) == 1;
    if (checkConv(k, rng))
      ++done;
  }
  EXPECT_GE(done, 30);
}

// f32 im2col convs split each image's output columns into blocks (K x
// block floats about half of L2, at least 8 tasks when the columns allow
// blocks of 64) packed straight into GEMM panels. Shapes whose columns span
// several blocks with a narrower (or a wider) last one, blocks starting in
// the middle of an output row, K beyond the GEMM's K block
// (2304 = 256x3x3 and 1152: KC is at most 512 floats), strides with
// asymmetric pads, dilation, groups, output rows shorter than a panel; at 1
// to 3 threads, on 16 lanes (host) and 8 (haswell, a 1 MB L2 model).
TEST(ConvCodegen, Conv2dColumnBlocks) {
  std::mt19937_64 rng(61);
  const ConvCase cases[] = {
      {1, 256, 15, 15, 48, 3, 3, 1, 1, {1, 1, 1, 1}, 1, 1, 1, true},
      {2, 128, 9, 13, 40, 3, 3, 1, 1, {1, 1, 1, 1}, 1, 1, 1, false},
      {2, 64, 33, 31, 20, 3, 3, 2, 2, {1, 0, 2, 1}, 1, 1, 1, true},
      {1, 3, 64, 61, 16, 7, 7, 2, 2, {3, 3, 3, 3}, 1, 1, 1, true},
      {1, 32, 30, 29, 16, 3, 3, 1, 1, {2, 2, 2, 2}, 2, 2, 1, false},
      {2, 128, 20, 21, 32, 3, 3, 1, 1, {1, 1, 1, 1}, 1, 1, 2, true},
      {1, 16, 40, 5, 8, 3, 3, 1, 3, {1, 1, 1, 1}, 1, 1, 1, true},
      // 202 columns in blocks of 64: the last 10 join the third block.
      {1, 16, 2, 101, 8, 3, 3, 1, 1, {1, 1, 1, 1}, 1, 1, 1, true},
  };
  int i = 0;
  for (const ConvCase &k : cases)
    for (const char *cpu : {"", "haswell"}) {
      int threads = 1 + i++ % 3;
      EXPECT_TRUE(checkConv(k, rng, threads, cpu)) << "invalid case " << str(k);
    }
}

struct PoolCase {
  int64_t n, c, h, w, kh, kw, sh, sw;
  std::vector<int64_t> pads;
  int64_t dh, dw, ceil, includePad;
};

/// Builds and checks one pool of `kind`; false when invalid (skipped).
bool checkPool(OpKind kind, const PoolCase &k, std::mt19937_64 &rng,
               int threads = 0) {
  GraphBuilder b("pool");
  TensorType xt(DType::F32, {k.n, k.c, k.h, k.w});
  Value *x = b.input("x", xt);
  std::vector<Tensor> inputs = {randomTensor(xt, rng, -4, 4, true)};
  Attributes a;
  a.set("kernel", std::vector<int64_t>{k.kh, k.kw});
  a.set("strides", std::vector<int64_t>{k.sh, k.sw});
  a.set("pads", k.pads);
  a.set("dilations", std::vector<int64_t>{k.dh, k.dw});
  a.set("ceil_mode", k.ceil);
  if (kind == OpKind::AvgPool2d)
    a.set("count_include_pad", k.includePad);
  absl::StatusOr<Value *> v = b.create(kind, {x}, a);
  if (!v.ok())
    return false;
  b.output("y", *v);
  std::unique_ptr<Graph> g = b.finish().value();
  bool isMax = kind == OpKind::MaxPool2d;
  double worst =
      expectClose(*g, inputs, isMax ? 0 : 1e-5, isMax ? 0 : 4e-5, threads);
  if (worst > 0.05 || !isMax)
    std::printf("[ pool     ] %s k%lldx%lld s%lldx%lld ceil%lld pad%lld: %.3g\n",
                isMax ? "max" : "avg", (long long)k.kh, (long long)k.kw,
                (long long)k.sh, (long long)k.sw, (long long)k.ceil,
                (long long)k.includePad, worst);
  return true;
}

TEST(ConvCodegen, PoolsFixed) {
  std::mt19937_64 rng(3);
  const PoolCase cases[] = {
      {2, 8, 112, 112, 3, 3, 2, 2, {1, 1, 1, 1}, 1, 1, 0, 0}, // ResNet
      {1, 3, 13, 13, 3, 3, 2, 2, {0, 0, 0, 0}, 1, 1, 1, 0},   // ceil
      {1, 3, 14, 15, 3, 3, 2, 2, {1, 1, 1, 1}, 1, 1, 1, 1},
      {2, 2, 9, 17, 2, 2, 2, 2, {0, 0, 0, 0}, 1, 1, 1, 1},
      {1, 4, 7, 7, 7, 7, 1, 1, {0, 0, 0, 0}, 1, 1, 0, 0},
      {1, 2, 10, 33, 3, 5, 1, 1, {1, 2, 1, 2}, 1, 1, 0, 1},
      {1, 2, 11, 29, 3, 3, 3, 3, {1, 1, 0, 2}, 2, 2, 1, 0},
      {1, 2, 12, 40, 2, 3, 1, 5, {0, 1, 1, 2}, 1, 1, 1, 1},
      {3, 1, 5, 5, 5, 5, 2, 2, {2, 2, 2, 2}, 1, 1, 1, 1},
      {1, 1, 6, 6, 2, 2, 2, 2, {0, 0, 1, 1}, 3, 3, 1, 0}, // dilation holes
  };
  for (OpKind kind : {OpKind::MaxPool2d, OpKind::AvgPool2d})
    for (const PoolCase &k : cases)
      EXPECT_TRUE(checkPool(kind, k, rng));
}

TEST(ConvCodegen, PoolsRandom) {
  std::mt19937_64 rng(11);
  auto pick = [&](int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
  };
  int done = 0;
  for (int attempt = 0; attempt < 600 && done < 60; ++attempt) {
    PoolCase k;
    k.n = pick(1, 2);
    k.c = pick(1, 3);
    k.h = pick(1, 20);
    k.w = pick(1, 40);
    k.kh = pick(1, 5);
    k.kw = pick(1, 5);
    k.sh = pick(1, 3);
    k.sw = pick(1, 3);
    k.dh = pick(0, 3) == 0 ? 2 : 1;
    k.dw = pick(0, 3) == 0 ? 2 : 1;
    k.pads = {pick(0, 2), pick(0, 2), pick(0, 2), pick(0, 2)};
    k.ceil = pick(0, 1);
    k.includePad = pick(0, 1);
    OpKind kind = done % 2 ? OpKind::MaxPool2d : OpKind::AvgPool2d;
    if (checkPool(kind, k, rng))
      ++done;
  }
  EXPECT_GE(done, 40);
}

TEST(ConvCodegen, GlobalAvgPool) {
  std::mt19937_64 rng(5);
  const Shape shapes[] = {{1, 512, 7, 7}, {2, 3, 1, 1},  {2, 5, 3, 3},
                          {1, 4, 33},     {3, 2, 4, 4},  {1, 2, 2, 3, 5},
                          {2, 3, 17, 1},  {1, 1, 8, 2}};
  for (const Shape &s : shapes) {
    GraphBuilder b("gap");
    TensorType xt(DType::F32, s);
    Value *x = b.input("x", xt);
    b.output("y", b.create(OpKind::GlobalAvgPool, {x}).value());
    std::unique_ptr<Graph> g = b.finish().value();
    double worst =
        expectClose(*g, {randomTensor(xt, rng, -4, 4, true)}, 1e-5, 4e-5);
    std::printf("[ gap      ] %s: %.3g\n", xt.str().c_str(), worst);
  }
}

// Shapes large enough for the kernels to split their work, with task
// counts that do not divide it (the last task is shorter), at 1 and at 2
// threads: im2col rows (153 rows in tasks of 37), depthwise and pool planes
// (7 and 10 planes in tasks of 3), global_avg_pool planes (18 in tasks of
// 10).
TEST(ConvCodegen, ThreadedKernelsAtOneAndTwoThreads) {
  for (int threads : {1, 2}) {
    std::mt19937_64 rng(21);
    std::string at = " at " + std::to_string(threads) + " thread(s)";
    {
      ParallelLog log;
      EXPECT_TRUE(checkConv(
          {1, 17, 30, 30, 8, 3, 3, 1, 1, {1, 1, 1, 1}, 1, 1, 1, true}, rng,
          threads));
      expectThreads(log, threads, "conv2d im2col" + at);
    }
    {
      ParallelLog log;
      EXPECT_TRUE(checkConv(
          {1, 7, 40, 40, 7, 3, 3, 1, 1, {1, 1, 1, 1}, 1, 1, 7, true}, rng,
          threads));
      expectThreads(log, threads, "depthwise conv2d" + at);
    }
    for (OpKind kind : {OpKind::MaxPool2d, OpKind::AvgPool2d}) {
      ParallelLog log;
      EXPECT_TRUE(checkPool(
          kind, {2, 5, 60, 60, 3, 3, 2, 2, {1, 1, 1, 1}, 1, 1, 0, 1}, rng,
          threads));
      expectThreads(log, threads, std::string(opInfo(kind).mnemonic) + at);
    }
    {
      ParallelLog log;
      GraphBuilder b("gap");
      TensorType xt(DType::F32, {2, 9, 60, 60});
      b.output("y", b.create(OpKind::GlobalAvgPool, {b.input("x", xt)}).value());
      std::unique_ptr<Graph> g = b.finish().value();
      expectClose(*g, {randomTensor(xt, rng, -4, 4, true)}, 1e-5, 4e-5, threads);
      expectThreads(log, threads, "global_avg_pool" + at);
    }
  }
}

// Dtypes other than f32 (every one the op table allows), and empty inputs.
// Tolerances: max pools, integer convs (64-bit wrapping sums saturated to
// the dtype, as the reference) and f16/bf16 average pools (double sums in
// the reference's order, one rounding) are exact; global_avg_pool sums
// f16/bf16 in double in another order: 1 ulp of the dtype; f16/bf16 conv2d
// runs the f32 kernels on widened inputs and rounds the f32 result: 1 ulp
// of the dtype (2^-10 / 2^-7 relative) plus K * 2^-22 absolute for the f32
// sum (inputs in [-1, 1]).
TEST(ConvCodegen, OtherDtypesAndEmptyInputs) {
  std::mt19937_64 rng(41);
  CompileOptions noFallback;
  noFallback.allowInterpreterFallback = false;
  auto pool = [&](OpKind kind, DType dt, const Shape &shape) {
    GraphBuilder b("pool");
    TensorType xt(dt, shape);
    Attributes a;
    a.set("kernel", std::vector<int64_t>{3, 2});
    a.set("strides", std::vector<int64_t>{2, 1});
    a.set("pads", std::vector<int64_t>{1, 0, 1, 1});
    a.set("dilations", std::vector<int64_t>{1, 2});
    a.set("ceil_mode", int64_t{1});
    if (kind == OpKind::AvgPool2d)
      a.set("count_include_pad", int64_t{1});
    b.output("y", b.create(kind, {b.input("x", xt)}, a).value());
    auto g = b.finish().value();
    int64_t ulps = cgtest::expectMatchesInterpreter(
        *g, {randomTensor(xt, rng, -4, 4, true)}, 0, noFallback);
    EXPECT_EQ(ulps, 0) << opInfo(kind).mnemonic << " " << xt.str();
  };
  for (DType dt : {DType::I8, DType::U8, DType::I32, DType::I64, DType::F16,
                   DType::BF16})
    pool(OpKind::MaxPool2d, dt, {2, 3, 11, 9});
  for (DType dt : {DType::F16, DType::BF16})
    pool(OpKind::AvgPool2d, dt, {2, 3, 11, 9});
  // A pool split over threads, in bf16.
  pool(OpKind::MaxPool2d, DType::BF16, {2, 5, 60, 60});

  auto close = [&](const Graph &g, const std::vector<Tensor> &in, double rtol,
                   double atol, const std::string &what) {
    absl::StatusOr<std::vector<Tensor>> want = interpret(g, in);
    absl::StatusOr<std::unique_ptr<CompiledModel>> m = compile(g, noFallback);
    ASSERT_TRUE(want.ok() && m.ok()) << what << ": " << m.status();
    std::vector<Tensor> got = (*m)->run(in).value();
    int failures = 0;
    for (int64_t i = 0; i < got[0].numElements(); ++i) {
      double a = got[0].elementAsDouble(i), e = (*want)[0].elementAsDouble(i);
      if (!(std::fabs(a - e) <= atol + rtol * std::fabs(e)) && failures++ < 5)
        ADD_FAILURE() << what << " element " << i << ": got " << a << ", want " << e;
    }
  };
  for (DType dt : {DType::F16, DType::BF16}) {
    const double ulp = dt == DType::F16 ? 0x1p-10 : 0x1p-7;
    for (const Shape &s : {Shape{2, 3, 7, 5}, Shape{1, 4, 33}, Shape{2, 9, 60, 60}}) {
      GraphBuilder b("gap");
      TensorType xt(dt, s);
      b.output("y", b.create(OpKind::GlobalAvgPool, {b.input("x", xt)}).value());
      auto g = b.finish().value();
      close(*g, {randomTensor(xt, rng, -4, 4, false)}, ulp, 0,
            "global_avg_pool " + xt.str());
    }
    // conv2d: im2col + GEMM (3x3 pad 1 stride 2, 1x1), grouped, depthwise.
    struct C { Shape x, w; int64_t stride, pad, groups; };
    for (const C &c : {C{{2, 5, 9, 11}, {6, 5, 3, 3}, 2, 1, 1},
                       C{{1, 8, 6, 7}, {5, 8, 1, 1}, 1, 0, 1},
                       C{{1, 6, 8, 8}, {9, 2, 3, 3}, 1, 1, 3},
                       C{{2, 4, 10, 9}, {8, 1, 3, 3}, 1, 1, 4}}) {
      GraphBuilder b("conv");
      TensorType xt(dt, c.x), wt(dt, c.w), bt(dt, {c.w[0]});
      Attributes a;
      a.set("strides", std::vector<int64_t>{c.stride, c.stride});
      a.set("pads", std::vector<int64_t>(4, c.pad));
      a.set("groups", c.groups);
      b.output("y", b.create(OpKind::Conv2d,
                             {b.input("x", xt), b.input("w", wt), b.input("b", bt)}, a)
                        .value());
      auto g = b.finish().value();
      double K = static_cast<double>(c.w[1] * c.w[2] * c.w[3]);
      close(*g,
            {randomTensor(xt, rng, -1, 1, false), randomTensor(wt, rng, -1, 1, false),
             randomTensor(bt, rng, -1, 1, false)},
            ulp, K * 0x1p-22, "conv2d " + xt.str() + " " + wt.str());
    }
  }
  // Integer conv2d: exact, including sums that saturate i8 / u8.
  for (DType dt : {DType::I8, DType::U8, DType::I32, DType::I64}) {
    GraphBuilder b("iconv");
    TensorType xt(dt, {2, 4, 7, 6}), wt(dt, {6, 2, 3, 2}), bt(dt, {6});
    Attributes a;
    a.set("strides", std::vector<int64_t>{1, 2});
    a.set("pads", std::vector<int64_t>{1, 0, 2, 1});
    a.set("dilations", std::vector<int64_t>{2, 1});
    a.set("groups", int64_t{2});
    b.output("y", b.create(OpKind::Conv2d,
                           {b.input("x", xt), b.input("w", wt), b.input("b", bt)}, a)
                      .value());
    auto g = b.finish().value();
    EXPECT_EQ(cgtest::expectMatchesInterpreter(
                  *g, {randomTensor(xt, rng), randomTensor(wt, rng), randomTensor(bt, rng)},
                  0, noFallback),
              0)
        << "conv2d " << xt.str();
  }
  // No input channels: the output is the bias.
  {
    GraphBuilder b("empty");
    TensorType xt(DType::F32, {1, 0, 5, 5}), wt(DType::F32, {3, 0, 3, 3}),
        bt(DType::F32, {3});
    Attributes a;
    a.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    b.output("y", b.create(OpKind::Conv2d,
                           {b.input("x", xt), b.input("w", wt), b.input("b", bt)}, a)
                      .value());
    auto g = b.finish().value();
    EXPECT_EQ(cgtest::expectMatchesInterpreter(
                  *g, {randomTensor(xt, rng), randomTensor(wt, rng), randomTensor(bt, rng)},
                  0, noFallback),
              0);
  }
}

} // namespace
} // namespace tcpu

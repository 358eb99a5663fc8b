// The generated GEMM against a naive double-precision reference: many shapes
// (below, at and above the micro-tile and cache-block sizes, primes, single
// rows and columns), transposes, alpha/beta, every epilogue, thread counts,
// and micro-tiles of other targets (AVX2, SSE) run on this host.
//
// Tolerance: each element is a K-term fp32 dot product accumulated with
// fused or separate multiply-adds, then scaled and added to at most three
// more terms (beta*C, bias, residual). Higham's bound for recursive
// summation gives |err| <= gamma_(K+3) * (|alpha| sum_k |a_ik b_kj| + |beta
// c_ij| + |bias| + |residual|) with gamma_n = n u / (1 - n u), u = 2^-24;
// we allow (K + 4) * 2^-23 times that magnitude (about twice the bound).
// Relu, leaky relu and clip are 1-Lipschitz, so the bound carries through.
// The check can fail: dropping a single product term, a wrong row or column,
// or a missing epilogue changes an element by about magnitude / K, which is
// K^2 / 8 times more than the tolerance for K >= 2 (and for K = 1 the
// values differ outright).
#include "codegen/GemmJitForTests.h"
#include "codegen/Jit.h"
#include "runtime/CAbi.h"
#include "runtime/Threading.h"

#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <sstream>
#include <vector>

namespace tcpu {
namespace {

std::vector<std::pair<std::string, void *>> runtimeSymbols() {
  return {{"tcpu_parallel_for", reinterpret_cast<void *>(&tcpu_parallel_for)},
          {"tcpu_num_threads", reinterpret_cast<void *>(&tcpu_num_threads)},
          {"tcpu_thread_slot", reinterpret_cast<void *>(&tcpu_thread_slot)},
          {"tcpu_thread_scratch",
           reinterpret_cast<void *>(&tcpu_thread_scratch)}};
}

struct Case {
  GemmShape shape;
  GemmEpilogue epi;
  GemmOptions opts;
  int ldcPad = 0; // extra columns of C (sentinels that must survive)
  std::vector<int> threads = {1};
  bool callerScratch = false;
};

std::string describe(const Case &c) {
  std::ostringstream os;
  const GemmShape &s = c.shape;
  os << "M=" << s.M << " N=" << s.N << " K=" << s.K << " tA=" << s.transA
     << " tB=" << s.transB << " alpha=" << s.alpha << " beta=" << s.beta
     << " bias=" << int(c.epi.bias) << " act=" << int(c.epi.activation)
     << " res=" << c.epi.residual << "/" << c.epi.residualAfterActivation
     << " custom=" << bool(c.epi.custom) << " ldcPad=" << c.ldcPad;
  if (c.opts.blocking)
    os << " blocking MR=" << c.opts.blocking->MR << " NR="
       << c.opts.blocking->NR << " KC=" << c.opts.blocking->KC
       << " MC=" << c.opts.blocking->MC << " NC=" << c.opts.blocking->NC
       << " packB=" << c.opts.blocking->packB;
  return os.str();
}

/// Runs `fn`, compiled for case `c` (with s.ldc set when c.ldcPad), and
/// compares every element of C with the reference.
void runAndCompare(const Case &c, GemmFunction fn, int64_t scratchBytesPerThread) {
  const GemmShape &s = c.shape;
  const int64_t M = s.M, N = s.N, K = s.K;
  const int64_t lda = s.transA ? M : K, ldb = s.transB ? K : N;
  const int64_t ldc = N + c.ldcPad;

  std::mt19937 rng(static_cast<unsigned>(M * 7919 + N * 104729 + K));
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> A(M * K), B(K * N), C0(M * ldc), bias, res;
  for (float &x : A)
    x = dist(rng);
  for (float &x : B)
    x = dist(rng);
  const float sentinel = 12345.0f;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < ldc; ++j)
      C0[i * ldc + j] = j >= N ? sentinel
                        : s.beta == 0.0f
                            ? std::numeric_limits<float>::quiet_NaN()
                            : dist(rng);
  if (c.epi.bias != GemmEpilogue::Bias::None) {
    bias.resize(c.epi.bias == GemmEpilogue::Bias::PerRow ? M : N);
    for (float &x : bias)
      x = dist(rng);
  }
  if (c.epi.residual) {
    res.resize(M * N);
    for (float &x : res)
      x = dist(rng);
  }

  // Reference in double, and the magnitude the error bound scales with.
  std::vector<double> ref(M * N), mag(M * N);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double acc = 0, abs = 0;
      for (int64_t k = 0; k < K; ++k) {
        double a = s.transA ? A[k * lda + i] : A[i * lda + k];
        double b = s.transB ? B[j * ldb + k] : B[k * ldb + j];
        acc += a * b;
        abs += std::fabs(a * b);
      }
      double v = s.alpha * acc;
      double m = std::fabs(s.alpha) * abs;
      if (s.beta != 0.0f) {
        v += double(s.beta) * C0[i * ldc + j];
        m += std::fabs(double(s.beta) * C0[i * ldc + j]);
      }
      if (!bias.empty()) {
        double bv = bias[c.epi.bias == GemmEpilogue::Bias::PerRow ? i : j];
        v += bv;
        m += std::fabs(bv);
      }
      double r = res.empty() ? 0.0 : res[i * N + j];
      m += std::fabs(r);
      if (c.epi.residual && !c.epi.residualAfterActivation)
        v += r;
      switch (c.epi.activation) {
      case GemmEpilogue::Activation::None:
        break;
      case GemmEpilogue::Activation::Relu:
        v = v < 0 ? 0 : v;
        break;
      case GemmEpilogue::Activation::LeakyRelu:
        v = v < 0 ? v * double(c.epi.leakyReluSlope) : v;
        break;
      case GemmEpilogue::Activation::Clip:
        v = std::min<double>(std::max<double>(v, c.epi.clipMin),
                             c.epi.clipMax);
        break;
      }
      if (c.epi.custom) { // the test hook computes 2 * v + 1
        v = 2 * v + 1;
        m = 2 * m + 1;
      }
      if (c.epi.residual && c.epi.residualAfterActivation)
        v += r;
      ref[i * N + j] = v;
      mag[i * N + j] = m;
    }

  const double unit = std::ldexp(1.0, -23);
  for (int t : c.threads) {
    set_num_threads(t);
    std::vector<float> C = C0;
    std::vector<float> scratch;
    if (c.callerScratch)
      scratch.assign(scratchBytesPerThread / 4 * t + 16, 0.0f);
    // The caller's scratch must be 64-byte aligned.
    void *scratchPtr = nullptr;
    if (c.callerScratch) {
      uintptr_t p = reinterpret_cast<uintptr_t>(scratch.data());
      scratchPtr = reinterpret_cast<void *>((p + 63) / 64 * 64);
    }
    fn(A.data(), B.data(), C.data(), bias.empty() ? nullptr : bias.data(),
       res.empty() ? nullptr : res.data(), scratchPtr);
    int64_t bad = 0;
    for (int64_t i = 0; i < M && bad < 5; ++i)
      for (int64_t j = 0; j < ldc && bad < 5; ++j) {
        float got = C[i * ldc + j];
        if (j >= N) {
          if (got != sentinel) {
            ADD_FAILURE() << "threads=" << t << ": wrote C[" << i << "," << j
                          << "] past N";
            ++bad;
          }
          continue;
        }
        double want = ref[i * N + j];
        double tol = (K + 4) * unit * mag[i * N + j];
        if (!(std::fabs(got - want) <= tol)) {
          ADD_FAILURE() << "threads=" << t << ": C[" << i << "," << j
                        << "] = " << got << ", expected " << want
                        << " (tolerance " << tol << ")";
          ++bad;
        }
      }
  }
  set_num_threads(0);
}

/// Compiles case `c` on its own and checks it.
void check(const TargetDescription &target, Case c) {
  SCOPED_TRACE(describe(c));
  c.shape.ldc = c.ldcPad ? c.shape.N + c.ldcPad : 0;
  absl::StatusOr<std::unique_ptr<JittedGemm>> jit =
      JittedGemm::compile(target, c.shape, c.epi, c.opts, runtimeSymbols());
  ASSERT_TRUE(jit.ok()) << jit.status();
  runAndCompare(c, (*jit)->function(), (*jit)->scratchBytesPerThread());
}

TargetDescription avx2Target() {
  TargetDescription t = hostTarget();
  t.cpu = "haswell";
  t.features = {"avx", "avx2", "fma", "f16c", "sse4.2"};
  t.f32VectorWidth = 8;
  t.vectorRegisters = 16;
  return t;
}

TargetDescription sseTarget() {
  TargetDescription t = hostTarget();
  t.cpu = "x86-64";
  t.features = {"sse2"};
  t.f32VectorWidth = 4;
  t.vectorRegisters = 16;
  return t;
}

bool hostHas(const char *f) { return hostTarget().hasFeature(f); }

class GemmShapes : public ::testing::TestWithParam<std::tuple<int, int, int>> {
};

// Sizes around the AVX-512 (14 x 32) and AVX2 (6 x 16) micro-tiles, primes,
// and 1: every combination with default blocking on the host.
TEST_P(GemmShapes, MatchesReference) {
  auto [M, N, K] = GetParam();
  Case c;
  c.shape.M = M;
  c.shape.N = N;
  c.shape.K = K;
  c.threads = {1, 2};
  check(hostTarget(), c);
}

INSTANTIATE_TEST_SUITE_P(
    Sizes, GemmShapes,
    ::testing::Combine(::testing::Values(1, 5, 14, 15, 29, 97),
                       ::testing::Values(1, 7, 16, 32, 33, 65, 131),
                       ::testing::Values(1, 3, 17, 64, 300)));

TEST(Gemm, LargeAndPrimeShapes) {
  const int64_t shapes[][3] = {{300, 300, 300}, {293, 257, 211},
                               {1, 300, 300},   {300, 1, 300},
                               {300, 300, 1},   {127, 128, 129},
                               {251, 2, 277},   {2, 251, 3}};
  for (auto &sh : shapes) {
    Case c;
    c.shape.M = sh[0];
    c.shape.N = sh[1];
    c.shape.K = sh[2];
    c.threads = {1, 2, 3};
    check(hostTarget(), c);
  }
}

TEST(Gemm, TransposesAlphaBeta) {
  const int64_t shapes[][3] = {{1, 1, 1}, {13, 37, 19}, {64, 1, 97},
                               {1, 45, 300}, {131, 67, 53}};
  const float ab[][2] = {{1, 0}, {2.5f, 0}, {1, 1}, {-0.5f, 0.75f}};
  for (auto &sh : shapes)
    for (int tr = 0; tr < 4; ++tr)
      for (auto &x : ab) {
        Case c;
        c.shape = {sh[0], sh[1], sh[2], bool(tr & 1), bool(tr & 2), x[0],
                   x[1]};
        c.ldcPad = tr == 3 ? 5 : 0;
        c.threads = {2};
        check(hostTarget(), c);
      }
}

/// Small forced blocks: several K blocks (first/last K-block logic with
/// beta and epilogues), several N and M blocks, and B read in place.
TEST(Gemm, ForcedSmallBlocks) {
  TargetDescription host = hostTarget();
  GemmBlocking def = chooseGemmBlocking(host, {64, 64, 64});
  const int64_t shapes[][3] = {{97, 131, 75}, {29, 67, 300}, {5, 200, 33},
                               {1, 45, 70}};
  for (auto &sh : shapes)
    for (int variant = 0; variant < 4; ++variant) {
      Case c;
      c.shape = {sh[0], sh[1], sh[2], variant == 1, variant == 2, 1.5f,
                 variant == 3 ? 0.0f : -0.25f};
      GemmBlocking bl = def;
      bl.KC = 16 + 8 * variant;
      bl.NC = bl.NR * (1 + variant % 2);
      bl.MC = bl.MR * (2 + variant);
      bl.packB = variant != 0 && variant != 3 ? true : c.shape.transB;
      c.opts.blocking = bl;
      c.epi.bias = GemmEpilogue::Bias::PerColumn;
      c.epi.activation = GemmEpilogue::Activation::Relu;
      c.epi.residual = variant % 2 == 0;
      c.threads = {1, 2, 3};
      c.callerScratch = variant >= 2;
      c.ldcPad = variant == 3 ? 3 : 0;
      check(host, c);
    }
}

TEST(Gemm, EveryEpilogue) {
  using E = GemmEpilogue;
  const int64_t shapes[][3] = {{1, 10, 784}, {33, 47, 65}, {100, 20, 600}};
  for (auto &sh : shapes)
    for (E::Bias bias : {E::Bias::None, E::Bias::PerColumn, E::Bias::PerRow})
      for (E::Activation act : {E::Activation::None, E::Activation::Relu,
                                E::Activation::LeakyRelu,
                                E::Activation::Clip})
        for (int res = 0; res < 3; ++res) {
          Case c;
          c.shape = {sh[0], sh[1], sh[2], false, false, 1.0f,
                     res == 2 ? 0.5f : 0.0f};
          c.epi.bias = bias;
          c.epi.activation = act;
          c.epi.leakyReluSlope = 0.1f;
          c.epi.clipMin = -0.5f;
          c.epi.clipMax = 0.75f;
          c.epi.residual = res > 0;
          c.epi.residualAfterActivation = res == 2;
          check(hostTarget(), c);
        }
}

TEST(Gemm, CustomEpilogueHook) {
  Case c;
  c.shape = {45, 77, 50};
  c.epi.bias = GemmEpilogue::Bias::PerColumn;
  c.epi.residual = true;
  c.epi.residualAfterActivation = true;
  c.epi.custom = [](llvm::IRBuilderBase &b, llvm::Value *v, llvm::Value *,
                    llvm::Value *, llvm::Value *, llvm::Value *) {
    llvm::Type *t = v->getType();
    return b.CreateFAdd(b.CreateFMul(v, llvm::ConstantFP::get(t, 2.0)),
                        llvm::ConstantFP::get(t, 1.0));
  };
  c.threads = {1, 2};
  check(hostTarget(), c);
}

TEST(Gemm, OtherTargetsMicroTiles) {
  struct T {
    TargetDescription t;
    int64_t MR, NR;
    const char *need;
  };
  std::vector<T> targets = {{avx2Target(), 6, 16, "avx2"},
                            {sseTarget(), 6, 8, "sse2"}};
  for (const T &x : targets) {
    GemmBlocking bl = chooseGemmBlocking(x.t, {100, 100, 100});
    EXPECT_EQ(bl.MR, x.MR);
    EXPECT_EQ(bl.NR, x.NR);
    if (!hostHas(x.need))
      continue;
    const int64_t shapes[][3] = {{1, 1, 1},    {7, 17, 9},  {6, 16, 300},
                                 {61, 53, 47}, {13, 1, 31}, {200, 150, 100}};
    for (auto &sh : shapes)
      for (int tr = 0; tr < 4; ++tr) {
        Case c;
        c.shape = {sh[0], sh[1], sh[2], bool(tr & 1), bool(tr & 2), 1.0f,
                   tr == 1 ? 1.0f : 0.0f};
        c.epi.bias = GemmEpilogue::Bias::PerRow;
        c.epi.activation = GemmEpilogue::Activation::Clip;
        c.epi.clipMin = -1;
        c.epi.clipMax = 1;
        c.threads = {2};
        check(x.t, c);
      }
  }
}

TEST(Gemm, HostBlockingFitsTheCaches) {
  TargetDescription host = hostTarget();
  GemmBlocking bl = chooseGemmBlocking(host, {1024, 1024, 1024});
  EXPECT_EQ(bl.NR % host.f32VectorWidth, 0);
  // Accumulators, B vectors and one broadcast fit the register file.
  EXPECT_LE(bl.MR * (bl.NR / host.f32VectorWidth) + bl.NR /
                host.f32VectorWidth + 1,
            host.vectorRegisters);
  EXPECT_LE(bl.MR * bl.KC * 4, host.l1dCacheBytes);
  EXPECT_LE(bl.KC * bl.NC * 4, host.l2CacheBytes);
  EXPECT_TRUE(bl.packB);
  EXPECT_FALSE(chooseGemmBlocking(host, {1, 256, 784}).packB);
  EXPECT_TRUE(chooseGemmBlocking(host, {1, 256, 784, false, true}).packB);
}

TEST(Gemm, EmitsForAArch64AndRejectsBadShapes) {
  absl::StatusOr<TargetDescription> arm = makeTarget("aarch64-linux-gnu", "");
  ASSERT_TRUE(arm.ok()) << arm.status();
  llvm::LLVMContext ctx;
  llvm::Module m("arm", ctx);
  GemmEpilogue epi;
  epi.bias = GemmEpilogue::Bias::PerColumn;
  absl::StatusOr<GemmKernel> k =
      emitGemmFunction(m, *arm, {37, 29, 41, true, false}, epi, "g");
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(k->blocking.NR % 4, 0);
  std::string err;
  llvm::raw_string_ostream os(err);
  EXPECT_FALSE(llvm::verifyModule(m, &os)) << err;

  EXPECT_FALSE(emitGemmFunction(m, *arm, {0, 4, 4}, epi, "z").ok());
  GemmShape badLd{4, 4, 4};
  badLd.lda = 3;
  absl::StatusOr<GemmKernel> bad = emitGemmFunction(m, *arm, badLd, epi, "l");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("lda=3"),
            std::string::npos);
  EXPECT_FALSE(emitGemmFunction(m, *arm, {4, 4, 4}, epi, "g").ok());
}

// Call sites of one module with the same code share it, whatever their
// sizes (the sizes, blocks and micro-kernels come from each call site's
// table): six shapes, one driver, two sets of micro-kernels (K within one
// block, or not), every shape right at 1 and 2 threads, with M and N edges
// of several sizes.
TEST(Gemm, ShapesShareOneCore) {
  GemmEpilogue epi;
  epi.bias = GemmEpilogue::Bias::PerColumn;
  epi.activation = GemmEpilogue::Activation::Relu;
  const GemmShape shapes[] = {{37, 70, 50},  {64, 129, 33}, {29, 33, 71},
                              {100, 32, 200}, {45, 77, 1000}, {31, 40, 777}};
  absl::StatusOr<std::unique_ptr<Jit>> jit = Jit::create(hostTarget(), 2);
  ASSERT_TRUE(jit.ok()) << jit.status();
  ASSERT_TRUE((*jit)->defineSymbols(runtimeSymbols()).ok());
  auto context = std::make_unique<llvm::LLVMContext>();
  auto module = std::make_unique<llvm::Module>("shared", *context);
  std::vector<GemmKernel> kernels;
  for (size_t i = 0; i < std::size(shapes); ++i) {
    absl::StatusOr<GemmKernel> k = emitGemmFunction(
        *module, hostTarget(), shapes[i], epi, "g" + std::to_string(i));
    ASSERT_TRUE(k.ok()) << k.status();
    kernels.push_back(*k);
  }
  std::set<std::string> drivers, kernelSets;
  for (const llvm::Function &f : *module) {
    std::string n = f.getName().str();
    if (n.rfind("tcpu.gemm.", 0) != 0)
      continue;
    if (size_t uk = n.find(".uk"); uk != std::string::npos)
      kernelSets.insert(n.substr(0, uk));
    else if (n.find(".task") == std::string::npos &&
             n.find(".pack") == std::string::npos)
      drivers.insert(n);
  }
  EXPECT_EQ(drivers.size(), 1u);
  EXPECT_EQ(kernelSets.size(), 2u);
  ASSERT_TRUE((*jit)
                  ->addModule(llvm::orc::ThreadSafeModule(std::move(module),
                                                          std::move(context)))
                  .ok());
  for (size_t i = 0; i < std::size(shapes); ++i) {
    Case c;
    c.shape = shapes[i];
    c.epi = epi;
    c.threads = {1, 2};
    SCOPED_TRACE(describe(c));
    absl::StatusOr<void *> fn = (*jit)->lookup("g" + std::to_string(i));
    ASSERT_TRUE(fn.ok()) << fn.status();
    runAndCompare(c, reinterpret_cast<GemmFunction>(*fn),
                  kernels[i].scratchBytesPerThread);
  }
}

} // namespace
} // namespace tcpu

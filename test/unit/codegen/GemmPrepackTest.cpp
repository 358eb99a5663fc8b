// GEMM kernels reading operands packed at compile time (GemmOptions::
// prepackedA/B with prepackA/prepackB) against the same kernel packing at
// run time and a naive double-precision product: transposes, sizes off the
// micro-tile and KC multiples, small M (the gemv blocking), K split into
// blocks, 8 and 16 lanes, 1 and 2 threads.
//
// With the same blocking the two kernels do the same operations in the same
// order, so their results must be bit-identical; the naive product is
// checked with the tolerance of GemmTest.cpp ((K + 4) * 2^-23 times the sum
// of |terms|, about twice Higham's bound for fp32 dot products).
#include "codegen/GemmJitForTests.h"
#include "runtime/Threading.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <sstream>
#include <vector>

namespace tcpu {
namespace {

struct Data {
  std::vector<float> A, B, bias;
};

Data randomData(const GemmShape &s) {
  std::mt19937 rng(static_cast<unsigned>(s.M * 31 + s.N * 17 + s.K));
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  Data d;
  d.A.resize(s.M * s.K);
  d.B.resize(s.K * s.N);
  d.bias.resize(s.N);
  for (auto *v : {&d.A, &d.B, &d.bias})
    for (float &x : *v)
      x = dist(rng);
  return d;
}

/// Compiles `shape` with `opts`, packs the prepacked operands with the
/// kernel's blocking and returns C of a run on each of `threads` threads.
std::vector<std::vector<float>>
run(const TargetDescription &target, const GemmShape &s, const GemmEpilogue &e,
    const GemmOptions &opts, const Data &d, const std::vector<int> &threads,
    GemmBlocking *used) {
  absl::StatusOr<std::unique_ptr<JittedGemm>> jit =
      JittedGemm::compile(target, s, e, opts, gemmRuntimeSymbols());
  EXPECT_TRUE(jit.ok()) << jit.status();
  if (!jit.ok())
    return {};
  const GemmBlocking &bl = (*jit)->blocking();
  *used = bl;
  std::vector<float> pa, pb;
  const float *A = d.A.data(), *B = d.B.data();
  if (opts.prepackedA) {
    // NaNs past the end: reading beyond the panels would show.
    pa.assign(prepackedAFloats(s, bl) + 64, std::nanf(""));
    prepackA(A, s, bl, pa.data());
    A = pa.data();
  }
  if (opts.prepackedB) {
    pb.assign(prepackedBFloats(s, bl) + 64, std::nanf(""));
    prepackB(B, s, bl, pb.data());
    B = pb.data();
  }
  std::vector<std::vector<float>> out;
  for (int t : threads) {
    std::vector<float> C(s.M * s.N, std::numeric_limits<float>::quiet_NaN());
    set_num_threads(t);
    (*jit)->function()(A, B, C.data(), d.bias.data(), nullptr, nullptr);
    set_num_threads(0);
    out.push_back(std::move(C));
  }
  return out;
}

void check(const TargetDescription &target, GemmShape s, bool preA, bool preB,
           std::optional<GemmBlocking> blocking = std::nullopt) {
  std::ostringstream what;
  what << "W=" << target.f32VectorWidth << " M=" << s.M << " N=" << s.N
       << " K=" << s.K << " tA=" << s.transA << " tB=" << s.transB
       << " preA=" << preA << " preB=" << preB
       << " forced=" << blocking.has_value();
  SCOPED_TRACE(what.str());
  Data d = randomData(s);
  GemmEpilogue e;
  e.bias = GemmEpilogue::Bias::PerColumn;
  e.activation = GemmEpilogue::Activation::Relu;
  GemmOptions pre;
  pre.blocking = blocking;
  pre.prepackedA = preA;
  pre.prepackedB = preB;
  const std::vector<int> threads = {1, 2};
  GemmBlocking blPre, blPlain;
  std::vector<std::vector<float>> got =
      run(target, s, e, pre, d, threads, &blPre);
  ASSERT_EQ(got.size(), threads.size());
  if (preB) {
    EXPECT_TRUE(blPre.packB);
  }
  // The kernel packing at run time, with the blocking the prepacked one used.
  GemmOptions same;
  same.blocking = blPre;
  std::vector<std::vector<float>> want =
      run(target, s, e, same, d, threads, &blPlain);
  ASSERT_EQ(want.size(), threads.size());
  const int64_t lda = s.transA ? s.M : s.K, ldb = s.transB ? s.K : s.N;
  const double unit = std::ldexp(1.0, -23);
  for (size_t t = 0; t < threads.size(); ++t) {
    int bad = 0;
    for (int64_t i = 0; i < s.M && bad < 5; ++i)
      for (int64_t j = 0; j < s.N && bad < 5; ++j) {
        double acc = d.bias[j], mag = std::fabs(d.bias[j]);
        for (int64_t k = 0; k < s.K; ++k) {
          double a = s.transA ? d.A[k * lda + i] : d.A[i * lda + k];
          double b = s.transB ? d.B[j * ldb + k] : d.B[k * ldb + j];
          acc += a * b;
          mag += std::fabs(a * b);
        }
        acc = acc < 0 ? 0 : acc;
        float g = got[t][i * s.N + j];
        if (!(std::fabs(g - acc) <= (s.K + 4) * unit * mag)) {
          ADD_FAILURE() << "threads=" << threads[t] << " C[" << i << "," << j
                        << "] = " << g << ", expected " << acc;
          ++bad;
        }
        // Packing ahead of time changes where panels come from, not the
        // arithmetic.
        if (g != want[t][i * s.N + j] && !std::isnan(g)) {
          ADD_FAILURE() << "threads=" << threads[t] << " C[" << i << "," << j
                        << "] = " << g << ", run-time packing gives "
                        << want[t][i * s.N + j];
          ++bad;
        }
      }
  }
}

TEST(GemmPrepack, PacksLikeTheKernel) {
  // prepackB of a tiny B by hand: NR-column panels, zero-padded, K blocks.
  GemmShape s{/*M=*/1, /*N=*/3, /*K=*/3};
  GemmBlocking bl{/*MR=*/1, /*NR=*/2, /*KC=*/2, /*MC=*/1, /*NC=*/2};
  const float B[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}; // K x N
  ASSERT_EQ(prepackedBFloats(s, bl), 12);
  std::vector<float> p(12, -1);
  prepackB(B, s, bl, p.data());
  // Block k=0..1: panel 0 = {1,2,4,5}, panel 1 = {3,0,6,0}; block k=2:
  // panel 0 = {7,8}, panel 1 = {9,0}.
  EXPECT_EQ(p, (std::vector<float>{1, 2, 4, 5, 3, 0, 6, 0, 7, 8, 9, 0}));
  // The same through transB (B stored N x K).
  const float Bt[9] = {1, 4, 7, 2, 5, 8, 3, 6, 9};
  s.transB = true;
  std::vector<float> q(12, -1);
  prepackB(Bt, s, bl, q.data());
  EXPECT_EQ(q, p);
  // prepackA: MR = 2 rows of op(A) [3 x 2], K in one block.
  GemmShape sa{/*M=*/3, /*N=*/1, /*K=*/2};
  GemmBlocking ba{/*MR=*/2, /*NR=*/1, /*KC=*/8, /*MC=*/2, /*NC=*/1};
  const float A[6] = {1, 2, 3, 4, 5, 6}; // M x K
  ASSERT_EQ(prepackedAFloats(sa, ba), 8);
  std::vector<float> a(8, -1);
  prepackA(A, sa, ba, a.data());
  EXPECT_EQ(a, (std::vector<float>{1, 3, 2, 4, 5, 0, 6, 0}));
}

TEST(GemmPrepack, MatchesRunTimePackingHost) {
  TargetDescription host = hostTarget();
  const int64_t shapes[][3] = {{1, 256, 784}, {1, 10, 256},  {3, 45, 70},
                               {37, 53, 61},  {64, 256, 784}, {130, 49, 600},
                               {29, 131, 17}};
  for (auto &sh : shapes)
    for (int t = 0; t < 4; ++t) {
      GemmShape s{sh[0], sh[1], sh[2], bool(t & 1), bool(t & 2)};
      check(host, s, false, true);
      check(host, s, true, false);
      check(host, s, true, true);
    }
}

TEST(GemmPrepack, KBlocksAndSmallBlocks) {
  TargetDescription host = hostTarget();
  GemmBlocking def = chooseGemmBlocking(host, {64, 64, 64});
  GemmBlocking bl = def;
  bl.KC = 24; // K = 70, 131: blocks of 24 and a remainder
  bl.NC = bl.NR * 2;
  bl.MC = bl.MR * 2;
  for (int64_t K : {70, 131})
    for (int t = 0; t < 4; ++t) {
      GemmShape s{37, 3 * bl.NR + 5, K, bool(t & 1), bool(t & 2)};
      check(host, s, true, true, bl);
      check(host, s, false, true, bl);
      check(host, s, true, false, bl);
    }
  // Small M with a forced K split: the gemv blocking reads panels per block.
  GemmShape s{1, 40, 100, false, true};
  GemmBlocking g = chooseGemmBlocking(host, s, /*prepackedB=*/true);
  EXPECT_TRUE(g.packB);
  EXPECT_EQ(g.KC, 100);
  g.KC = 32;
  check(host, s, false, true, g);
}

TEST(GemmPrepack, EightLanes) {
  if (!hostTarget().hasFeature("avx2"))
    GTEST_SKIP() << "no AVX2 on this host";
  TargetDescription t = selectTarget("", "haswell").value();
  ASSERT_EQ(t.f32VectorWidth, 8);
  const int64_t shapes[][3] = {{1, 256, 784}, {2, 19, 33}, {50, 37, 300}};
  for (auto &sh : shapes)
    for (int tr = 0; tr < 4; ++tr) {
      GemmShape s{sh[0], sh[1], sh[2], bool(tr & 1), bool(tr & 2)};
      check(t, s, true, true);
      check(t, s, false, true);
      check(t, s, true, false);
    }
}

} // namespace
} // namespace tcpu

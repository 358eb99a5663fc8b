// tcpu's generated fp32 GEMM against OpenBLAS (cblas_sgemm) in the same run.
//
// Each shape is timed as rounds of (tcpu, OpenBLAS) pairs registered
// alternately, so both see the same machine state; the summary at the end
// gives per-implementation medians over rounds, GFLOP/s, the ratio
// (OpenBLAS time / tcpu time: > 1 means tcpu is faster) and % of the FMA
// peak measured here at the kernel's vector width.
//
// Threads: TCPU_NUM_THREADS and OPENBLAS_NUM_THREADS (set both, see
// run_gemm_bench.sh). --rounds=N (default 7) before Google Benchmark flags.
#include "codegen/GemmJitForTests.h"
#include "runtime/CAbi.h"
#include "runtime/Threading.h"

#include <benchmark/benchmark.h>
#include <cblas-openblas.h>
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace tcpu;

struct Shape {
  const char *name;
  int64_t M, N, K;
};

const Shape kShapes[] = {{"sgemm_1024", 1024, 1024, 1024},
                         {"mlp_64x784x256", 64, 256, 784},
                         {"gemv_1x784x256", 1, 256, 784},
                         {"tall_4096x256x256", 4096, 256, 256}};

struct Problem {
  Shape shape;
  std::vector<float> A, B, C;
  std::unique_ptr<JittedGemm> kernel;
};

std::map<std::string, std::vector<double>> gSeconds; // "impl/shape" -> per round

double median(std::vector<double> v) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void runTcpu(benchmark::State &state, Problem *p) {
  for (auto _ : state) {
    p->kernel->function()(p->A.data(), p->B.data(), p->C.data(), nullptr,
                          nullptr, nullptr);
    benchmark::ClobberMemory();
  }
}

void runOpenBlas(benchmark::State &state, Problem *p) {
  const Shape &s = p->shape;
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s.M, s.N, s.K,
                1.0f, p->A.data(), s.K, p->B.data(), s.N, 0.0f, p->C.data(),
                s.N);
    benchmark::ClobberMemory();
  }
}

/// Records each finished benchmark's time per iteration for the summary.
class Collector : public benchmark::ConsoleReporter {
public:
  Collector() : ConsoleReporter(OO_Tabular) {} // no colors: output goes to logs
  void ReportRuns(const std::vector<Run> &runs) override {
    for (const Run &r : runs) {
      // Registered as "impl/shape/round".
      const std::string &name = r.run_name.function_name;
      std::string key = name.substr(0, name.rfind('/'));
      if (r.iterations > 0)
        gSeconds[key].push_back(r.real_accumulated_time /
                                static_cast<double>(r.iterations));
    }
    ConsoleReporter::ReportRuns(runs);
  }
};

// --- FMA peak at 8 and 16 floats per vector --------------------------===//
template <int W> __attribute__((target("avx512f,avx2,fma"))) void fmaLoop(long iters) {
  if constexpr (W == 16) {
    __m512 acc[12];
    for (int i = 0; i < 12; ++i)
      acc[i] = _mm512_set1_ps(0.001f * i);
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (long it = 0; it < iters; ++it)
      for (int i = 0; i < 12; ++i)
        acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    for (int i = 1; i < 12; ++i)
      acc[0] = _mm512_add_ps(acc[0], acc[i]);
    benchmark::DoNotOptimize(acc[0]);
  } else {
    __m256 acc[12];
    for (int i = 0; i < 12; ++i)
      acc[i] = _mm256_set1_ps(0.001f * i);
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (long it = 0; it < iters; ++it)
      for (int i = 0; i < 12; ++i)
        acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    for (int i = 1; i < 12; ++i)
      acc[0] = _mm256_add_ps(acc[0], acc[i]);
    benchmark::DoNotOptimize(acc[0]);
  }
}

/// Best of 5: GFLOP/s of `threads` threads running independent FMA chains.
template <int W> double peakGflops(int threads) {
  const long iters = 20'000'000;
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&] { fmaLoop<W>(iters); });
    for (auto &th : pool)
      th.join();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                             t0)
                   .count();
    best = std::max(best, iters * 12.0 * W * 2 * threads / s / 1e9);
  }
  return best;
}

} // namespace

int main(int argc, char **argv) {
  int rounds = 7;
  std::vector<char *> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--rounds=", 9) == 0)
      rounds = std::max(1, std::atoi(argv[i] + 9));
    else
      args.push_back(argv[i]);
  }
  int bargc = static_cast<int>(args.size());
  benchmark::Initialize(&bargc, args.data());

  TargetDescription target = hostTarget();
  const int threads = get_num_threads();
  std::printf("tcpu threads %d, OpenBLAS threads %d, OpenBLAS core %s; "
              "target %s, %d floats/vector\n",
              threads, openblas_get_num_threads(), openblas_get_corename(),
              target.cpu.c_str(), target.f32VectorWidth);

  const std::vector<std::pair<std::string, void *>> symbols = {
      {"tcpu_parallel_for", reinterpret_cast<void *>(&tcpu_parallel_for)},
      {"tcpu_num_threads", reinterpret_cast<void *>(&tcpu_num_threads)},
      {"tcpu_thread_slot", reinterpret_cast<void *>(&tcpu_thread_slot)},
      {"tcpu_thread_scratch", reinterpret_cast<void *>(&tcpu_thread_scratch)}};
  std::vector<std::unique_ptr<Problem>> problems;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (const Shape &s : kShapes) {
    auto p = std::make_unique<Problem>();
    p->shape = s;
    p->A.resize(s.M * s.K);
    p->B.resize(s.K * s.N);
    p->C.resize(s.M * s.N);
    for (float &x : p->A)
      x = dist(rng);
    for (float &x : p->B)
      x = dist(rng);
    GemmShape gs;
    gs.M = s.M;
    gs.N = s.N;
    gs.K = s.K;
    auto k = JittedGemm::compile(target, gs, {}, {}, symbols);
    if (!k.ok()) {
      std::fprintf(stderr, "%s: %s\n", s.name,
                   std::string(k.status().message()).c_str());
      return 1;
    }
    p->kernel = std::move(*k);
    const GemmBlocking &bl = p->kernel->blocking();
    std::printf("%s: MR=%lld NR=%lld KC=%lld MC=%lld NC=%lld packB=%d "
                "scratch/thread=%lld B\n",
                s.name, (long long)bl.MR, (long long)bl.NR, (long long)bl.KC,
                (long long)bl.MC, (long long)bl.NC, bl.packB,
                (long long)p->kernel->scratchBytesPerThread());
    problems.push_back(std::move(p));
  }
  // Rounds of alternating pairs.
  for (int r = 0; r < rounds; ++r)
    for (auto &p : problems) {
      std::string suffix = std::string(p->shape.name) + "/" + std::to_string(r);
      benchmark::RegisterBenchmark(("tcpu/" + suffix).c_str(), runTcpu,
                                   p.get())
          ->Unit(benchmark::kMillisecond)
          ->MinTime(0.2)
          ->UseRealTime();
      benchmark::RegisterBenchmark(("openblas/" + suffix).c_str(),
                                   runOpenBlas, p.get())
          ->Unit(benchmark::kMillisecond)
          ->MinTime(0.2)
          ->UseRealTime();
    }
  // The peak first, before the kernels warm the machine up.
  const double peak = target.f32VectorWidth >= 16 ? peakGflops<16>(threads)
                                                  : peakGflops<8>(threads);
  const double peak8 = peakGflops<8>(threads);
  Collector reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  std::printf("\nmeasured FMA peak at %d threads: %.1f GFLOP/s at %d "
              "floats/vector (%.1f at 8)\n",
              threads, peak, target.f32VectorWidth >= 16 ? 16 : 8, peak8);
  std::printf("| shape | threads | tcpu ms | OpenBLAS ms | tcpu GFLOP/s | "
              "OpenBLAS GFLOP/s | ratio (OpenBLAS/tcpu time) | tcpu %% peak | "
              "OpenBLAS %% peak |\n|---|---|---|---|---|---|---|---|---|\n");
  for (auto &p : problems) {
    const Shape &s = p->shape;
    double flop = 2.0 * s.M * s.N * s.K;
    double t = median(gSeconds["tcpu/" + std::string(s.name)]);
    double o = median(gSeconds["openblas/" + std::string(s.name)]);
    if (t == 0 || o == 0)
      continue; // filtered out
    std::printf("| %s | %d | %.4f | %.4f | %.1f | %.1f | %.2f | %.0f%% | "
                "%.0f%% |\n",
                s.name, threads, t * 1e3, o * 1e3, flop / t / 1e9,
                flop / o / 1e9, o / t, 100 * flop / t / 1e9 / peak,
                100 * flop / o / 1e9 / peak);
  }
  return 0;
}

// Target descriptions from LLVM: host detection and cross targets.
#include "CodegenTestSupport.h"

#include "codegen/Target.h"
#include "ir/Parser.h"

#include <gtest/gtest.h>

namespace tcpu {
namespace {

TEST(Target, HostVectorWidthFollowsFeatures) {
  TargetDescription host = hostTarget();
  EXPECT_FALSE(host.triple.empty());
  EXPECT_FALSE(host.cpu.empty());
  if (host.hasFeature("avx512f")) {
    EXPECT_EQ(host.f32VectorWidth, 16);
  } else if (host.hasFeature("avx2")) {
    EXPECT_EQ(host.f32VectorWidth, 8);
  }
}

TEST(Target, AArch64IsKnownAndUsesNeonWidth) {
  absl::StatusOr<TargetDescription> t = makeTarget("aarch64-linux-gnu", "");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->f32VectorWidth, 4);
  EXPECT_EQ(t->vectorRegisters, 32);
}

TEST(Target, UnknownTripleIsAnError) {
  absl::StatusOr<TargetDescription> t = makeTarget("notanarch-none-none", "");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(std::string(t.status().message()).find("unknown target triple"),
            std::string::npos);
}

TEST(Target, CpuNamesImplyTheirFeatures) {
  std::string x86 = "x86_64-pc-linux-gnu";
  TargetDescription haswell = makeTarget(x86, "haswell").value();
  EXPECT_EQ(haswell.cpu, "haswell");
  EXPECT_TRUE(haswell.hasFeature("avx2"));
  EXPECT_TRUE(haswell.hasFeature("fma"));
  EXPECT_FALSE(haswell.hasFeature("avx512f"));
  EXPECT_EQ(haswell.f32VectorWidth, 8);
  EXPECT_EQ(haswell.vectorRegisters, 16);
  TargetDescription skx = makeTarget(x86, "skylake-avx512").value();
  EXPECT_TRUE(skx.hasFeature("avx512f"));
  EXPECT_EQ(skx.f32VectorWidth, 16);
  EXPECT_EQ(skx.vectorRegisters, 32);
  EXPECT_EQ(makeTarget(x86, "").value().f32VectorWidth, 4); // SSE baseline
  TargetDescription n1 = makeTarget("aarch64-linux-gnu", "neoverse-n1").value();
  EXPECT_TRUE(n1.hasFeature("neon"));
  EXPECT_EQ(n1.f32VectorWidth, 4);
}

TEST(Target, UnknownCpuAndNativeElsewhereAreErrors) {
  auto cpu = makeTarget("x86_64-pc-linux-gnu", "pentium9000");
  ASSERT_FALSE(cpu.ok());
  EXPECT_NE(std::string(cpu.status().message()).find("unknown CPU 'pentium9000'"),
            std::string::npos);
  EXPECT_FALSE(makeTarget("aarch64-linux-gnu", "haswell").ok());
  if (hostTarget().triple.rfind("aarch64", 0) != 0) {
    EXPECT_FALSE(makeTarget("aarch64-linux-gnu", "native").ok());
  }
}

TEST(Target, NativeIsTheHost) {
  TargetDescription host = hostTarget();
  TargetDescription native = makeTarget(host.triple, "native").value();
  EXPECT_EQ(native.cpu, host.cpu);
  EXPECT_EQ(native.features, host.features);
  EXPECT_EQ(native.f32VectorWidth, host.f32VectorWidth);
  EXPECT_EQ(selectTarget("", "").value().cpu, host.cpu);
  EXPECT_EQ(selectTarget("", "haswell").value().triple, host.triple);
}

TEST(Target, OnlyHostRunnableCodeRunsHere) {
  EXPECT_TRUE(checkRunsOnHost(hostTarget()).ok());
  auto arm = checkRunsOnHost(makeTarget("riscv64-unknown-linux-gnu", "").value());
  ASSERT_FALSE(arm.ok());
  EXPECT_NE(std::string(arm.message()).find("cannot run on this machine"),
            std::string::npos);
  // CPUs with instructions this machine may lack (AMX-FP16, SHA512,
  // AVX-VNNI-INT16, AVX-512 on an AVX2 host...): refused, naming one.
  TargetDescription host = hostTarget();
  int refused = 0;
  for (const char *cpu : {"graniterapids", "clearwaterforest", "arrowlake-s",
                          "znver4", "znver5", "skylake-avx512"}) {
    absl::StatusOr<TargetDescription> t = makeTarget(host.triple, cpu);
    if (!t.ok())
      continue; // not in this LLVM
    absl::Status s = checkRunsOnHost(*t);
    if (s.ok())
      continue;
    ++refused;
    std::string m(s.message());
    EXPECT_NE(m.find("features this machine lacks"), std::string::npos) << m;
    std::string first = m.substr(m.find('(') + 1);
    first = first.substr(0, first.find_first_of(",)"));
    EXPECT_TRUE(t->hasFeature(first)) << m;
    EXPECT_FALSE(host.hasFeature(first)) << m;
  }
  if (host.hasFeature("avx2")) {
    EXPECT_TRUE(checkRunsOnHost(makeTarget(host.triple, "haswell").value()).ok());
  }
  if (refused == 0)
    GTEST_SKIP() << "this machine has every feature of the CPUs tried";
}

// The JIT with --mcpu=haswell on any AVX2 machine: 8-lane kernels, the
// interpreter's results (the MLP: GEMM summation order, 1e-4 relative).
TEST(Target, JitForHaswellMatchesInterpreter) {
  if (!hostTarget().hasFeature("avx2") || !hostTarget().hasFeature("fma"))
    GTEST_SKIP() << "no AVX2+FMA here";
  auto g = parseGraphFile(std::string(TCPU_SOURCE_DIR) + "/test/models/mlp/mlp.tir");
  ASSERT_TRUE(g.ok()) << g.status();
  std::mt19937_64 rng(3);
  std::vector<Tensor> inputs;
  for (const Value *in : (*g)->inputs())
    inputs.push_back(cgtest::randomTensor(in->type, rng, -1, 1, false));
  CompileOptions o;
  o.cpu = "haswell";
  o.allowInterpreterFallback = false;
  auto model = compile(**g, o);
  ASSERT_TRUE(model.ok()) << model.status();
  auto got = (*model)->run(inputs).value();
  auto want = interpret(**g, inputs).value();
  for (int64_t k = 0; k < want[0].numElements(); ++k)
    EXPECT_NEAR(got[0].elementAsDouble(k), want[0].elementAsDouble(k),
                1e-4 * std::max(1e-3, std::fabs(want[0].elementAsDouble(k))));
}

} // namespace
} // namespace tcpu

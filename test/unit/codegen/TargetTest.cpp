// Target descriptions from LLVM: host detection and cross targets.
#include "codegen/Target.h"

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

} // namespace
} // namespace tcpu

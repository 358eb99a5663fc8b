//===- PackedConstantTest.cpp - Storage of data derived from constants ----===//
//
// PackedConstant below and above the size that goes on huge pages (2 MB):
// both zero-initialized, 64-byte aligned (the kernels' contract), large
// ones 2 MB aligned, and every float writable and read back.
//
//===----------------------------------------------------------------------===//
#include "codegen/PackedConstant.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace tcpu {
namespace {

void checkStorage(int64_t floats, uintptr_t alignment) {
  SCOPED_TRACE(testing::Message() << floats << " floats");
  PackedConstant p(floats);
  ASSERT_EQ(p.floats(), floats);
  ASSERT_EQ(p.bytes(), floats * 4);
  ASSERT_NE(p.data(), nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p.data()) % alignment, 0u);
  int64_t nonZero = 0;
  for (int64_t i = 0; i < floats; ++i)
    nonZero += p.data()[i] != 0.0f;
  EXPECT_EQ(nonZero, 0);
  for (int64_t i = 0; i < floats; ++i)
    p.data()[i] = static_cast<float>(i % 1000);
  int64_t wrong = 0;
  for (int64_t i = 0; i < floats; ++i)
    wrong += p.data()[i] != static_cast<float>(i % 1000);
  EXPECT_EQ(wrong, 0);
}

TEST(PackedConstant, Small) {
  checkStorage(1, 64);
  checkStorage(1000, 64);
  // Just under 2 MB.
  checkStorage((int64_t(2) << 20) / 4 - 1, 64);
}

TEST(PackedConstant, LargeOnHugePages) {
  // Exactly 2 MB, and 9.4 MB (a ResNet-18 layer4 conv) not a multiple of it.
  checkStorage((int64_t(2) << 20) / 4, int64_t(2) << 20);
  checkStorage(512 * 512 * 9 + 7, int64_t(2) << 20);
}

TEST(PackedConstant, Empty) {
  PackedConstant p(0);
  EXPECT_EQ(p.floats(), 0);
  EXPECT_EQ(p.bytes(), 0);
}

} // namespace
} // namespace tcpu

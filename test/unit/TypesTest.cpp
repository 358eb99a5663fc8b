// dtypes, tensor types, f16/bf16 conversion, and Tensor element access.
#include "ir/Tensor.h"
#include "ir/Types.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>

namespace tcpu {
namespace {

TEST(Types, DTypeNamesRoundTrip) {
  for (DType t : kAllDTypes)
    EXPECT_EQ(parseDType(dtypeName(t)), t);
  EXPECT_EQ(parseDType("f64"), std::nullopt);
  EXPECT_EQ(dtypeSize(DType::BF16), 2);
  EXPECT_EQ(dtypeSize(DType::I64), 8);
  EXPECT_EQ(dtypeSize(DType::Bool), 1);
}

TEST(Types, TensorTypeText) {
  EXPECT_EQ(TensorType(DType::F32, {8, 64}).str(), "f32[8,64]");
  EXPECT_EQ(TensorType(DType::I64, {}).str(), "i64[]");
  EXPECT_EQ(TensorType(DType::F32, {1, 64, 56, 56}, "nchw8c").str(),
            "f32[1,64,56,56]<nchw8c>");
  EXPECT_EQ(TensorType(DType::F32, {3, 0, 2}).numElements(), 0);
}

TEST(Types, ElementCountOverflowIsDetected) {
  int64_t big = int64_t{1} << 40;
  EXPECT_EQ(checkedNumElements({big, big}), std::nullopt);
  EXPECT_EQ(checkedNumElements({-1, 2}), std::nullopt);
  EXPECT_EQ(checkedNumElements({big, 0, big}), 0);
}

// Every f16 bit pattern decodes and encodes back to itself (NaNs stay NaN).
TEST(Types, HalfRoundTripsEveryBitPattern) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = halfToFloat(static_cast<uint16_t>(h));
    uint16_t back = floatToHalf(f);
    if (std::isnan(f))
      EXPECT_TRUE(std::isnan(halfToFloat(back))) << h;
    else
      EXPECT_EQ(back, h) << "bits 0x" << std::hex << h;
  }
}

TEST(Types, HalfRoundsToNearestEven) {
  EXPECT_EQ(halfToFloat(floatToHalf(1.0f)), 1.0f);
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even (1.0).
  EXPECT_EQ(halfToFloat(floatToHalf(1.0f + 0x1p-11f)), 1.0f);
  // 1 + 3*2^-11 is halfway between 1+2^-10 and 1+2^-9: ties to even (1+2^-9).
  EXPECT_EQ(halfToFloat(floatToHalf(1.0f + 3 * 0x1p-11f)), 1.0f + 0x1p-9f);
  EXPECT_EQ(halfToFloat(floatToHalf(65504.0f)), 65504.0f); // largest half
  EXPECT_TRUE(std::isinf(halfToFloat(floatToHalf(65520.0f))));
  EXPECT_EQ(halfToFloat(floatToHalf(0x1p-24f)), 0x1p-24f); // smallest subnormal
  EXPECT_EQ(halfToFloat(floatToHalf(0x1p-26f)), 0.0f);
  EXPECT_EQ(std::signbit(halfToFloat(floatToHalf(-0.0f))), true);
}

TEST(Types, BFloat16RoundsToNearestEven) {
  EXPECT_EQ(bfloat16ToFloat(floatToBFloat16(1.0f)), 1.0f);
  EXPECT_EQ(bfloat16ToFloat(floatToBFloat16(1.0f + 0x1p-8f)), 1.0f); // tie
  EXPECT_EQ(bfloat16ToFloat(floatToBFloat16(1.0f + 3 * 0x1p-8f)),
            1.0f + 0x1p-6f);
  EXPECT_TRUE(std::isnan(bfloat16ToFloat(
      floatToBFloat16(std::numeric_limits<float>::quiet_NaN()))));
  for (uint32_t h = 0; h < 0x10000; h += 7) {
    float f = bfloat16ToFloat(static_cast<uint16_t>(h));
    if (!std::isnan(f))
      EXPECT_EQ(floatToBFloat16(f), h);
  }
}

TEST(Tensor, StoresConvertAndSaturate) {
  Tensor t = Tensor::allocate(TensorType(DType::I8, {5})).value();
  t.setElementFromDouble(0, 3.9);    // truncates toward zero
  t.setElementFromDouble(1, -3.9);
  t.setElementFromDouble(2, 1000.0); // saturates
  t.setElementFromDouble(3, std::nan(""));
  t.setElementFromInt(4, -1000);
  EXPECT_EQ(t.elementAsInt(0), 3);
  EXPECT_EQ(t.elementAsInt(1), -3);
  EXPECT_EQ(t.elementAsInt(2), 127);
  EXPECT_EQ(t.elementAsInt(3), 0);
  EXPECT_EQ(t.elementAsInt(4), -128);

  Tensor b = Tensor::allocate(TensorType(DType::Bool, {2})).value();
  b.setElementFromDouble(0, 0.5);
  b.setElementFromInt(1, 0);
  EXPECT_EQ(b.elementAsInt(0), 1);
  EXPECT_EQ(b.elementAsInt(1), 0);

  Tensor h = Tensor::allocate(TensorType(DType::F16, {1})).value();
  h.setElementFromDouble(0, 0.1);
  EXPECT_EQ(h.elementAsDouble(0), static_cast<double>(halfToFloat(floatToHalf(0.1f))));
}

TEST(Tensor, HugeAllocationIsAnErrorNotACrash) {
  absl::StatusOr<Tensor> t =
      Tensor::allocate(TensorType(DType::F32, {int64_t{1} << 40, 1024}));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(std::string(t.status().message()).find("f32[1099511627776,1024]"),
            std::string::npos);
  absl::StatusOr<Tensor> overflow = Tensor::allocate(
      TensorType(DType::I64, {int64_t{1} << 62, 4}));
  ASSERT_FALSE(overflow.ok());
}

TEST(Tensor, CopiesShareAndClonesDoNot) {
  Tensor a = Tensor::allocate(TensorType(DType::F32, {2})).value();
  a.setElementFromDouble(0, 1.5);
  Tensor shared = a;
  Tensor copy = a.clone().value();
  a.setElementFromDouble(0, 2.5);
  EXPECT_EQ(shared.elementAsDouble(0), 2.5);
  EXPECT_EQ(copy.elementAsDouble(0), 1.5);
  EXPECT_FALSE(copy.identical(a));
  EXPECT_TRUE(shared.identical(a));
  EXPECT_EQ(a.reshaped({1, 2}).shape(), (Shape{1, 2}));
}

} // namespace
} // namespace tcpu

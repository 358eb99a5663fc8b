//===- Types.cpp - Element types, shapes and tensor types -----------------===//
#include "ir/Types.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace tcpu {

namespace {
struct DTypeInfo {
  DType type;
  std::string_view name;
  int64_t size;
};
constexpr DTypeInfo kDTypeInfo[] = {
    {DType::F32, "f32", 4}, {DType::F16, "f16", 2}, {DType::BF16, "bf16", 2},
    {DType::I8, "i8", 1},   {DType::U8, "u8", 1},   {DType::I32, "i32", 4},
    {DType::I64, "i64", 8}, {DType::Bool, "bool", 1},
};
const DTypeInfo &info(DType t) { return kDTypeInfo[static_cast<int>(t)]; }
} // namespace

std::string_view dtypeName(DType t) { return info(t).name; }
int64_t dtypeSize(DType t) { return info(t).size; }

std::optional<DType> parseDType(std::string_view name) {
  for (const DTypeInfo &i : kDTypeInfo)
    if (i.name == name)
      return i.type;
  return std::nullopt;
}

bool isFloat(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16;
}
bool isInteger(DType t) {
  return t == DType::I8 || t == DType::U8 || t == DType::I32 || t == DType::I64;
}
bool isSignedInteger(DType t) {
  return t == DType::I8 || t == DType::I32 || t == DType::I64;
}

std::vector<int64_t> broadcastStrides(const Shape &in, const Shape &out) {
  std::vector<int64_t> strides(out.size(), 0);
  int64_t stride = 1;
  size_t offset = out.size() - in.size();
  for (size_t d = in.size(); d-- > 0;) {
    if (in[d] != 1)
      strides[offset + d] = stride;
    stride *= in[d];
  }
  return strides;
}

std::optional<int64_t> checkedNumElements(const Shape &shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0)
      return std::nullopt;
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      return std::nullopt;
    n *= d;
  }
  return n;
}

std::string shapeToString(const Shape &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      s += ',';
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

int64_t TensorType::numElements() const {
  return checkedNumElements(shape).value_or(-1);
}

std::string TensorType::str() const {
  std::string s(dtypeName(dtype));
  s += shapeToString(shape);
  if (!layout.empty())
    s += "<" + layout + ">";
  return s;
}

float halfToFloat(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else { // subnormal: renormalize
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400) == 0);
      bits = sign | ((127 - 15 - e) << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  return std::bit_cast<float>(bits);
}

uint16_t floatToHalf(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) // inf or nan
    return sign | 0x7c00 | (absx > 0x7f800000u ? 0x200 : 0);
  if (absx >= 0x477ff000u) // rounds to >= 65520: overflow to inf
    return sign | 0x7c00;
  if (absx < 0x38800000u) { // below the smallest normal half: subnormal
    // Scale so that the half subnormal unit (2^-24) becomes 1, then round
    // with the FPU's round-to-nearest-even.
    float scaled = std::bit_cast<float>(absx) * 16777216.0f;
    return sign | static_cast<uint16_t>(std::nearbyint(scaled));
  }
  uint32_t mant = absx & 0x7fffffu;
  uint32_t exp = (absx >> 23) - 127 + 15;
  uint32_t h = (exp << 10) | (mant >> 13);
  uint32_t rest = mant & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1)))
    ++h; // may carry into the exponent, which is the right result
  return sign | static_cast<uint16_t>(h);
}

float bfloat16ToFloat(uint16_t h) {
  return std::bit_cast<float>(static_cast<uint32_t>(h) << 16);
}

uint16_t floatToBFloat16(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) // nan: keep it a quiet nan
    return static_cast<uint16_t>((x >> 16) | 0x40);
  uint32_t rounding = 0x7fffu + ((x >> 16) & 1);
  return static_cast<uint16_t>((x + rounding) >> 16);
}

} // namespace tcpu

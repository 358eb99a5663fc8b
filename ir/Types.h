//===- Types.h - Element types, shapes and tensor types ---------*- C++ -*-===//
//
// The type system of the tcpu IR: a tensor type is an element type (dtype), a
// static shape of rank 0 to kMaxRank, and a layout tag. The shape is always the
// logical (NCHW-style) shape; a blocked layout tag such as "nchw8c" only says
// how the elements are arranged in memory, so shape inference never needs to
// know about layouts.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tcpu {

/// Element types. f16 and bf16 are storage types: arithmetic on them happens
/// in f32 or wider.
enum class DType : uint8_t { F32, F16, BF16, I8, U8, I32, I64, Bool };

inline constexpr DType kAllDTypes[] = {DType::F32, DType::F16, DType::BF16,
                                       DType::I8,  DType::U8,  DType::I32,
                                       DType::I64, DType::Bool};

/// Largest rank a tensor type may have.
inline constexpr int kMaxRank = 6;

std::string_view dtypeName(DType t);
std::optional<DType> parseDType(std::string_view name);
/// Bytes per element.
int64_t dtypeSize(DType t);
bool isFloat(DType t);         // f32, f16, bf16
bool isInteger(DType t);       // i8, u8, i32, i64 (not bool)
bool isSignedInteger(DType t); // i8, i32, i64
inline bool isNumeric(DType t) { return t != DType::Bool; }

using Shape = std::vector<int64_t>;

/// Number of elements of a shape, or nullopt if it overflows int64.
std::optional<int64_t> checkedNumElements(const Shape &shape);
/// "[8,64]"; "[]" for a scalar.
std::string shapeToString(const Shape &shape);
/// Element strides of row-major `in` broadcast to `out` (0 on broadcast
/// dims; `in` may have fewer dims, aligned right). Precondition: `in`
/// broadcasts to `out`.
std::vector<int64_t> broadcastStrides(const Shape &in, const Shape &out);

/// A tensor type: dtype, static shape, layout ("" is plain row-major).
struct TensorType {
  DType dtype = DType::F32;
  Shape shape;
  std::string layout;

  TensorType() = default;
  TensorType(DType dtype, Shape shape, std::string layout = "")
      : dtype(dtype), shape(std::move(shape)), layout(std::move(layout)) {}

  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
  /// Element count; callers may rely on it not overflowing because the
  /// verifier rejects types whose element count or byte size overflows.
  int64_t numElements() const;
  int64_t byteSize() const { return numElements() * dtypeSize(dtype); }
  bool isPlain() const { return layout.empty(); }

  /// Text form, e.g. "f32[8,64]" or "f32[1,64,56,56]<nchw8c>".
  std::string str() const;

  friend bool operator==(const TensorType &a, const TensorType &b) = default;
};

/// Conversions for the storage-only float formats (round to nearest even).
float halfToFloat(uint16_t h);
uint16_t floatToHalf(float f);
float bfloat16ToFloat(uint16_t h);
uint16_t floatToBFloat16(float f);

} // namespace tcpu

//===- Tensor.h - Host tensors ----------------------------------*- C++ -*-===//
//
// A Tensor is a TensorType plus a reference-counted byte buffer. Copies share
// the buffer. Buffers either own heap memory or alias memory someone else
// keeps alive (a memory-mapped weights file, a parsed blob).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Types.h"

#include "absl/status/statusor.h"

#include <cstring>
#include <memory>

namespace tcpu {

class Tensor {
public:
  Tensor() = default;

  /// Allocates a zero-filled tensor. Fails with ResourceExhausted when the
  /// tensor cannot fit in memory, instead of crashing.
  static absl::StatusOr<Tensor> allocate(TensorType type);
  /// Wraps memory kept alive by `owner`; `data` must hold type.byteSize() bytes.
  static Tensor alias(TensorType type, std::shared_ptr<const void> owner,
                      const void *data);

  const TensorType &type() const { return type_; }
  DType dtype() const { return type_.dtype; }
  const Shape &shape() const { return type_.shape; }
  int64_t rank() const { return type_.rank(); }
  int64_t numElements() const { return type_.numElements(); }
  int64_t byteSize() const { return type_.byteSize(); }
  bool valid() const { return data_ != nullptr || byteSize() == 0; }

  const void *data() const { return data_; }
  /// Writable access; only for tensors from allocate() (aliases are shared).
  void *mutableData() { return data_; }
  template <class T> const T *dataAs() const {
    return static_cast<const T *>(static_cast<const void *>(data_));
  }
  template <class T> T *mutableDataAs() {
    return static_cast<T *>(static_cast<void *>(data_));
  }

  /// Element access through double/int64, converting from the storage dtype
  /// (f16/bf16 decoded, bool as 0/1).
  double elementAsDouble(int64_t i) const;
  int64_t elementAsInt(int64_t i) const;
  /// Stores with conversion to the dtype: floats round to nearest even;
  /// integers take the value truncated toward zero and saturated to the
  /// type's range (NaN becomes 0); bool stores v != 0.
  void setElementFromDouble(int64_t i, double v);
  void setElementFromInt(int64_t i, int64_t v);

  /// Same type and same bytes.
  bool identical(const Tensor &other) const;
  /// Same type, same layout; a new buffer with the bytes copied.
  absl::StatusOr<Tensor> clone() const;
  /// The same bytes seen with another shape of equal element count.
  Tensor reshaped(Shape shape) const;

private:
  TensorType type_;
  std::shared_ptr<const void> owner_;
  uint8_t *data_ = nullptr;
};

/// Bytes of physical memory, used to reject tensors that cannot fit.
int64_t physicalMemoryBytes();

} // namespace tcpu

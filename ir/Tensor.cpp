//===- Tensor.cpp - Host tensors -------------------------------------------===//
#include "ir/Tensor.h"

#include "absl/status/status.h"

#include <cmath>
#include <limits>
#include <new>
#include <unistd.h>

namespace tcpu {

int64_t physicalMemoryBytes() {
  long pages = sysconf(_SC_PHYS_PAGES);
  long pageSize = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || pageSize <= 0)
    return std::numeric_limits<int64_t>::max();
  return static_cast<int64_t>(pages) * pageSize;
}

absl::StatusOr<Tensor> Tensor::allocate(TensorType type) {
  std::optional<int64_t> n = checkedNumElements(type.shape);
  int64_t elemSize = dtypeSize(type.dtype);
  if (!n || *n > std::numeric_limits<int64_t>::max() / elemSize)
    return absl::ResourceExhaustedError("tensor " + type.str() +
                                        " has more bytes than int64 can count");
  int64_t bytes = *n * elemSize;
  if (bytes > physicalMemoryBytes())
    return absl::ResourceExhaustedError(
        "tensor " + type.str() + " needs " + std::to_string(bytes) +
        " bytes, more than this machine's memory (" +
        std::to_string(physicalMemoryBytes()) + " bytes)");
  Tensor t;
  t.type_ = std::move(type);
  uint8_t *mem = new (std::nothrow) uint8_t[bytes ? bytes : 1]();
  if (!mem)
    return absl::ResourceExhaustedError("cannot allocate " +
                                        std::to_string(bytes) +
                                        " bytes for tensor " + t.type_.str());
  t.owner_ = std::shared_ptr<const void>(mem, [](const void *p) {
    delete[] static_cast<const uint8_t *>(p);
  });
  t.data_ = mem;
  return t;
}

Tensor Tensor::alias(TensorType type, std::shared_ptr<const void> owner,
                     const void *data) {
  Tensor t;
  t.type_ = std::move(type);
  t.owner_ = std::move(owner);
  t.data_ = const_cast<uint8_t *>(static_cast<const uint8_t *>(data));
  return t;
}

double Tensor::elementAsDouble(int64_t i) const {
  switch (dtype()) {
  case DType::F32:
    return dataAs<float>()[i];
  case DType::F16:
    return halfToFloat(dataAs<uint16_t>()[i]);
  case DType::BF16:
    return bfloat16ToFloat(dataAs<uint16_t>()[i]);
  case DType::I8:
    return dataAs<int8_t>()[i];
  case DType::U8:
    return dataAs<uint8_t>()[i];
  case DType::I32:
    return dataAs<int32_t>()[i];
  case DType::I64:
    return static_cast<double>(dataAs<int64_t>()[i]);
  case DType::Bool:
    return dataAs<uint8_t>()[i] ? 1.0 : 0.0;
  }
  return 0;
}

int64_t Tensor::elementAsInt(int64_t i) const {
  switch (dtype()) {
  case DType::I8:
    return dataAs<int8_t>()[i];
  case DType::U8:
    return dataAs<uint8_t>()[i];
  case DType::I32:
    return dataAs<int32_t>()[i];
  case DType::I64:
    return dataAs<int64_t>()[i];
  case DType::Bool:
    return dataAs<uint8_t>()[i] ? 1 : 0;
  default: {
    double d = elementAsDouble(i);
    if (std::isnan(d))
      return 0;
    if (d >= 9.2233720368547758e18)
      return std::numeric_limits<int64_t>::max();
    if (d <= -9.2233720368547758e18)
      return std::numeric_limits<int64_t>::min();
    return static_cast<int64_t>(d);
  }
  }
}

namespace {
template <class T> T saturate(int64_t v) {
  if (v < static_cast<int64_t>(std::numeric_limits<T>::min()))
    return std::numeric_limits<T>::min();
  if (v > static_cast<int64_t>(std::numeric_limits<T>::max()))
    return std::numeric_limits<T>::max();
  return static_cast<T>(v);
}
} // namespace

void Tensor::setElementFromDouble(int64_t i, double v) {
  switch (dtype()) {
  case DType::F32:
    mutableDataAs<float>()[i] = static_cast<float>(v);
    return;
  case DType::F16:
    mutableDataAs<uint16_t>()[i] = floatToHalf(static_cast<float>(v));
    return;
  case DType::BF16:
    mutableDataAs<uint16_t>()[i] = floatToBFloat16(static_cast<float>(v));
    return;
  case DType::Bool:
    mutableDataAs<uint8_t>()[i] = v != 0;
    return;
  default: {
    int64_t iv;
    if (std::isnan(v))
      iv = 0;
    else if (v >= 9.2233720368547758e18)
      iv = std::numeric_limits<int64_t>::max();
    else if (v <= -9.2233720368547758e18)
      iv = std::numeric_limits<int64_t>::min();
    else
      iv = static_cast<int64_t>(v);
    setElementFromInt(i, iv);
    return;
  }
  }
}

void Tensor::setElementFromInt(int64_t i, int64_t v) {
  switch (dtype()) {
  case DType::I8:
    mutableDataAs<int8_t>()[i] = saturate<int8_t>(v);
    return;
  case DType::U8:
    mutableDataAs<uint8_t>()[i] = saturate<uint8_t>(v);
    return;
  case DType::I32:
    mutableDataAs<int32_t>()[i] = saturate<int32_t>(v);
    return;
  case DType::I64:
    mutableDataAs<int64_t>()[i] = v;
    return;
  case DType::Bool:
    mutableDataAs<uint8_t>()[i] = v != 0;
    return;
  default:
    setElementFromDouble(i, static_cast<double>(v));
    return;
  }
}

bool Tensor::identical(const Tensor &other) const {
  return type_ == other.type_ &&
         (byteSize() == 0 || std::memcmp(data_, other.data_, byteSize()) == 0);
}

absl::StatusOr<Tensor> Tensor::clone() const {
  absl::StatusOr<Tensor> t = allocate(type_);
  if (t.ok() && byteSize())
    std::memcpy(t->data_, data_, byteSize());
  return t;
}

Tensor Tensor::reshaped(Shape shape) const {
  Tensor t = *this;
  t.type_.shape = std::move(shape);
  return t;
}

} // namespace tcpu

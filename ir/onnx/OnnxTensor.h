//===- OnnxTensor.h - ONNX data types and TensorProto decoding --*- C++ -*-===//
//
// Internal to tcpu_onnx. Maps ONNX element types to tcpu dtypes and turns a
// TensorProto into a Tensor: raw_data (little-endian) and the typed fields
// are checked against the shape before any byte is read; external data is
// memory-mapped (one mapping per file, shared by its tensors), never copied.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Tensor.h"
#include "ir/Types.h"

#include "absl/status/statusor.h"

#include <onnx/onnx_pb.h>

#include <map>
#include <memory>
#include <optional>
#include <string>

namespace tcpu::onnximport {

/// "FLOAT", "DOUBLE", "FLOAT8E4M3FN", ... or "<number>" for unknown values.
std::string onnxTypeName(int32_t elemType);

/// The tcpu dtype of an ONNX element type; an error "unsupported data type
/// DOUBLE for <what>" otherwise.
absl::StatusOr<DType> mapElemType(int32_t elemType, const std::string &what);

/// Memory-mapped external data files, keyed by canonical path. Mappings stay
/// alive as long as a tensor aliases them.
class ExternalFiles {
public:
  explicit ExternalFiles(std::string baseDir) : baseDir_(std::move(baseDir)) {}

  /// The bytes [offset, offset + length) of `location` (relative to the base
  /// directory), as an owner and a pointer. Rejects absolute paths and
  /// locations that leave the base directory.
  struct Span {
    std::shared_ptr<const void> owner;
    const uint8_t *data = nullptr;
  };
  absl::StatusOr<Span> map(const std::string &location, int64_t offset,
                           int64_t length, const std::string &what);

  const std::string &baseDir() const { return baseDir_; }

private:
  struct Mapping;
  std::string baseDir_;
  std::map<std::string, std::shared_ptr<Mapping>> files_;
};

/// Decodes `t`. `what` names the tensor in errors ("initializer 'w'").
/// `owner` keeps the proto's raw_data alive so large tensors can alias it
/// instead of being copied (nullptr: always copy).
absl::StatusOr<Tensor> decodeTensor(const onnx::TensorProto &t,
                                    const std::string &what,
                                    ExternalFiles &external,
                                    std::shared_ptr<const void> owner);

} // namespace tcpu::onnximport

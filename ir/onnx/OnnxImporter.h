//===- OnnxImporter.h - Import ONNX models into the tcpu IR -----*- C++ -*-===//
//
// Turns an ONNX ModelProto (as exported by torch.onnx.export, opsets 10 to
// 25 of the default domain) into a verified tcpu Graph with static shapes.
// Shape arithmetic (Shape -> Gather -> Unsqueeze -> Concat -> Reshape, ...)
// is folded at import. Weights stored in external data files are memory-
// mapped, not copied. Input and output names and their order are kept.
//
// Errors are Status values naming the file, the node (name and op type) and
// the reason; a model with unsupported content fails with ONE error listing
// every unsupported op type with its node names and the opset.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"
#include "ir/Tensor.h"

#include "absl/status/statusor.h"

#include <map>
#include <memory>
#include <string>

namespace tcpu {

struct OnnxImportOptions {
  /// Shapes for inputs whose ONNX shape has symbolic or unknown dims
  /// (e.g. {"input", {1, 3, 224, 224}}). Without it such an input is an error
  /// that names the input and the dim.
  std::map<std::string, Shape> inputShapes;
  /// Inputs to freeze: each named graph input becomes a constant with this
  /// value (as if it were an initializer) and is no longer a graph input.
  /// Lets inputs the IR needs as attributes (a Reshape's shape, Slice's
  /// starts, ...) be given at import time.
  std::map<std::string, Tensor> constantInputs;
};

/// Imports the model at `path` (external data is looked up next to it).
absl::StatusOr<std::unique_ptr<Graph>>
importOnnxFile(const std::string &path, const OnnxImportOptions &options = {});

/// Imports a serialized ModelProto held in memory; external data is looked up
/// in `baseDir`. `nameForErrors` is used in messages.
absl::StatusOr<std::unique_ptr<Graph>>
importOnnxBytes(std::string_view bytes, const std::string &nameForErrors,
                const std::string &baseDir,
                const OnnxImportOptions &options = {});

/// Reads a serialized TensorProto file (as in the ONNX backend test data).
absl::StatusOr<Tensor> readOnnxTensorFile(const std::string &path);

} // namespace tcpu

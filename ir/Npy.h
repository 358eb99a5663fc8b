//===- Npy.h - NumPy .npy files ---------------------------------*- C++ -*-===//
//
// Reads and writes NumPy's .npy format (version 1.0 to 3.0, little-endian,
// C order) for the dtypes of the IR (bf16 has no NumPy dtype: it is refused).
// Malformed files give an error naming the file and the problem.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Tensor.h"

#include "absl/status/statusor.h"

#include <string>

namespace tcpu {

absl::StatusOr<Tensor> readNpy(const std::string &path);
absl::StatusOr<Tensor> parseNpy(std::string_view bytes,
                                const std::string &nameForErrors);
absl::Status writeNpy(const std::string &path, const Tensor &tensor);
std::string serializeNpy(const Tensor &tensor);

} // namespace tcpu

//===- OpTable.h - Per-op information from Ops.def --------------*- C++ -*-===//
//
// OpKind enumerates Ops.def; OpInfo is everything the table says about one
// kind: operand and result names, attribute specs, the type inference and the
// reference evaluation functions, and traits. Nothing else lists ops.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Attributes.h"
#include "ir/Types.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tcpu {

class Tensor;

enum class OpKind : uint16_t {
#define OP(Kind, ...) Kind,
#include "ir/Ops.def"
};

inline constexpr int kNumOpKinds = 0
#define OP(Kind, ...) +1
#include "ir/Ops.def"
    ;

enum OpTrait : unsigned {
  kNoTraits = 0,
  kPure = 1u << 0,        // no side effects: may be folded, CSE'd, removed
  kElementwise = 1u << 1, // out[i] depends on operands at i (after broadcast)
  kCommutative = 1u << 2, // the two operands may be swapped
};

struct OperandSpec {
  std::string name;
  bool optional = false;
  bool variadic = false;
};

struct AttrSpec {
  std::string name;
  AttrKind kind;
  bool required = false;
  std::optional<AttrValue> defaultValue; // absent: optional without default
};

/// What type inference sees: operand types (nullptr for an absent optional
/// operand) and the op's attributes with defaults filled in. It fills
/// `results` or returns an error whose message names the problem and shows
/// the types involved; the caller adds the location.
struct InferContext {
  const struct OpInfo &info;
  std::vector<const TensorType *> operands;
  const Attributes &attrs;
  std::vector<TensorType> results;

  bool has(size_t i) const { return i < operands.size() && operands[i]; }
  const TensorType &operand(size_t i) const { return *operands[i]; }
};

/// What reference evaluation sees: operand tensors (nullptr when absent), the
/// attributes with defaults filled in, the verified result types, and for
/// `constant` the value.
struct EvalContext {
  const struct OpInfo &info;
  std::vector<const Tensor *> operands;
  const Attributes &attrs;
  const std::vector<TensorType> &resultTypes;
  const Tensor *constantValue = nullptr;

  bool has(size_t i) const { return i < operands.size() && operands[i]; }
  const Tensor &operand(size_t i) const { return *operands[i]; }
};

using InferFn = absl::Status (*)(InferContext &ctx);
using EvalFn = absl::StatusOr<std::vector<Tensor>> (*)(const EvalContext &ctx);

struct OpInfo {
  OpKind kind;
  std::string_view mnemonic;
  std::vector<OperandSpec> operands;
  std::vector<std::string> results;
  std::vector<AttrSpec> attrs;
  InferFn infer;
  EvalFn eval;
  unsigned traits;

  int minOperands() const;
  /// -1 when the last operand is variadic.
  int maxOperands() const;
  int numResults() const { return static_cast<int>(results.size()); }
  bool hasTrait(OpTrait t) const { return (traits & t) != 0; }
  const AttrSpec *findAttr(std::string_view name) const;
};

const OpInfo &opInfo(OpKind kind);
const OpInfo *lookupOp(std::string_view mnemonic);
/// Every op, in table order.
const std::vector<OpInfo> &allOps();

/// "" when `count` operands suit the op, else the problem, e.g.
/// "'add' takes 2 operands, got 1".
std::string checkOperandCount(const OpInfo &info, int count);

/// Checks `attrs` against the op's specs (unknown names, wrong kinds,
/// missing required ones) and fills in defaults. Each problem is one string.
std::vector<std::string> normalizeAttributes(const OpInfo &info,
                                             Attributes &attrs);

// Declarations of every inference and evaluation function named in Ops.def.
#define OP(Kind, Method, Mnemonic, Operands, Results, Attrs, Infer, Eval,     \
           Traits)                                                             \
  absl::Status Infer(InferContext &ctx);                                       \
  absl::StatusOr<std::vector<Tensor>> Eval(const EvalContext &ctx);
#include "ir/Ops.def"

} // namespace tcpu

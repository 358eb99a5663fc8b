//===- ImportContext.h - State shared by the ONNX op converters -*- C++ -*-===//
//
// Internal to tcpu_onnx. An Importer holds the graph being built and the map
// from ONNX value names to IR values; a NodeContext is what one converter
// sees: the node's inputs as IR values, its attributes, and `emit`, which
// creates an IR op at the node's location with type inference and folds it
// into a constant right away when all its operands are (small) constants. So
// shape arithmetic disappears as it is imported, and inputs the IR takes as
// attributes (Reshape's shape, Slice's starts, ...) are read with
// constInts(), which names the node and the input when they are not
// constant.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"
#include "ir/onnx/OnnxTensor.h"

#include "absl/status/statusor.h"

#include <onnx/onnx_pb.h>

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace tcpu::onnximport {

class Importer {
public:
  Importer(Graph &graph, std::string fileName, std::string baseDir,
           std::shared_ptr<const onnx::ModelProto> model)
      : graph(graph), fileName(std::move(fileName)),
        external(std::move(baseDir)), model(std::move(model)) {}

  Graph &graph;
  std::string fileName;
  ExternalFiles external;
  std::shared_ptr<const onnx::ModelProto> model;
  int64_t opset = 0;

  /// ONNX value name -> IR value (graph inputs, node outputs, initializers
  /// once used).
  std::unordered_map<std::string, Value *> values;
  /// Initializers not yet turned into constants.
  std::unordered_map<std::string, const onnx::TensorProto *> initializers;
  /// How often each ONNX value name is read (node inputs, graph outputs).
  std::unordered_map<std::string, int> uses;

  /// The value of `name`: created from its initializer on first use, nullptr
  /// if unknown. Errors come from decoding the initializer.
  absl::StatusOr<Value *> lookup(const std::string &name);

  /// A constant op holding `t`.
  Value *constant(Tensor t, std::string name = "", Location loc = {});
};

class NodeContext {
public:
  NodeContext(Importer &imp, const onnx::NodeProto &node, int index);

  Importer &imp;
  const onnx::NodeProto &node;
  Location loc;
  int64_t opset() const { return imp.opset; }

  // ----- Errors ------------------------------------------------------------
  /// "model.onnx:node 'n' (Op): error: message".
  absl::Status error(const std::string &message) const;
  /// The first problem met while reading attributes (kind mismatches);
  /// checked after the converter returns.
  absl::Status attrStatus() const { return attrError_; }

  // ----- Inputs ------------------------------------------------------------
  size_t numInputs() const { return inputs_.size(); }
  /// Input i, nullptr when absent (past the end or named "").
  Value *input(size_t i) const { return i < inputs_.size() ? inputs_[i] : nullptr; }
  bool hasInput(size_t i) const { return input(i) != nullptr; }
  /// Resolves the node's input names; an undefined name is an error.
  absl::Status resolveInputs();
  /// Input i, or an error naming it when it is absent.
  absl::StatusOr<Value *> required(size_t i, const std::string &what) const;

  /// The constant tensor behind a value, or nullptr.
  static const Tensor *constantOf(const Value *v);
  /// Input i as a constant (after folding), or an error naming the node and
  /// the input.
  absl::StatusOr<Tensor> constInput(size_t i, const std::string &what) const;
  /// Input i as a list of integers (a constant of rank 0 or 1).
  absl::StatusOr<std::vector<int64_t>> constInts(size_t i,
                                                 const std::string &what) const;
  /// Input i as one float (a constant with one element).
  absl::StatusOr<double> constScalar(size_t i, const std::string &what) const;

  // ----- Attributes --------------------------------------------------------
  const onnx::AttributeProto *attr(const std::string &name) const;
  bool hasAttr(const std::string &name) const { return attr(name) != nullptr; }
  int64_t getInt(const std::string &name, int64_t fallback = 0);
  double getFloat(const std::string &name, double fallback = 0);
  std::string getString(const std::string &name, std::string fallback = "");
  std::vector<int64_t> getInts(const std::string &name,
                               std::vector<int64_t> fallback = {});
  std::vector<double> getFloats(const std::string &name);
  std::vector<std::string> getStrings(const std::string &name);
  const onnx::TensorProto *getTensor(const std::string &name);

  // ----- Outputs -----------------------------------------------------------
  size_t numOutputs() const { return node.output_size(); }
  /// Whether output i exists and is read by a node or a graph output.
  bool outputUsed(size_t i) const;
  /// Error unless outputs from i on are unused; `what` says what they are.
  absl::Status requireUnusedOutputsFrom(size_t i, const std::string &what) const;
  /// Binds output i's name to `v` (no op: Identity aliases this way).
  void setOutput(size_t i, Value *v);

  // ----- Building ----------------------------------------------------------
  /// Creates an op at the node's location (attributes checked, defaults
  /// filled, result types inferred) and folds it to constants when all its
  /// operands are small constants. Errors name the node.
  absl::StatusOr<std::vector<Value *>>
  emitMulti(OpKind kind, std::vector<Value *> operands, Attributes attrs = {});
  absl::StatusOr<Value *> emit(OpKind kind, std::vector<Value *> operands,
                               Attributes attrs = {});
  /// Shorthands.
  absl::StatusOr<Value *> cast(Value *v, DType to);
  absl::StatusOr<Value *> reshape(Value *v, Shape shape);
  Value *constant(Tensor t);
  Value *scalar(double v, DType dtype);
  Value *ints(const std::vector<int64_t> &v);

private:
  std::vector<Value *> inputs_;
  absl::Status attrError_;
  void attrKindError(const std::string &name, const char *want);
};

/// Converter signature: reads ctx's node, emits ops, binds the outputs.
using ConvertFn = absl::Status (*)(NodeContext &ctx);

/// The converter of a default-domain op type at the given opset, or nullptr
/// when unsupported.
ConvertFn findConverter(const std::string &opType, int64_t opset);

#define TCPU_ONNX_OP(Name, Since, Fn) absl::Status Fn(NodeContext &ctx);
#include "ir/onnx/OnnxOps.def"

/// Early returns for Status and StatusOr.
#define TCPU_TRY(expr)                                                         \
  do {                                                                         \
    if (absl::Status tcpu_try_s = (expr); !tcpu_try_s.ok())                    \
      return tcpu_try_s;                                                       \
  } while (0)
#define TCPU_CONCAT_IMPL(a, b) a##b
#define TCPU_CONCAT(a, b) TCPU_CONCAT_IMPL(a, b)
#define TCPU_ASSIGN_IMPL(tmp, lhs, expr)                                       \
  auto tmp = (expr);                                                           \
  if (!tmp.ok())                                                               \
    return tmp.status();                                                       \
  lhs = std::move(*tmp)
#define TCPU_ASSIGN(lhs, expr)                                                 \
  TCPU_ASSIGN_IMPL(TCPU_CONCAT(tcpu_assign_, __LINE__), lhs, expr)

} // namespace tcpu::onnximport

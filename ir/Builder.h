//===- Builder.h - C++ graph construction with type inference ---*- C++ -*-===//
//
//   GraphBuilder b("mlp");
//   Value *x = b.input("x", {DType::F32, {8, 64}});
//   Value *w = b.constant(weights);
//   absl::StatusOr<Value *> y = b.matmul({x, w});   // f32[8,32], or an error
//   b.output("y", *y);
//   absl::StatusOr<std::unique_ptr<Graph>> g = b.finish();
//
// Every op of the table has a method named in Ops.def. Errors carry the C++
// call site as their location.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"

#include "absl/status/statusor.h"

#include <memory>
#include <source_location>
#include <string>
#include <vector>

namespace tcpu {

class GraphBuilder {
public:
  explicit GraphBuilder(std::string name = "main");

  Value *input(std::string name, TensorType type);
  Value *constant(Tensor value, std::string handle = "");
  /// A rank-0 constant.
  Value *scalar(double value, DType dtype = DType::F32);

  /// Creates an op: checks operands and attributes, fills in attribute
  /// defaults, infers the result types. All results.
  absl::StatusOr<std::vector<Value *>>
  createMulti(OpKind kind, std::vector<Value *> operands, Attributes attrs = {},
              std::source_location where = std::source_location::current());
  /// As createMulti; the first result.
  absl::StatusOr<Value *>
  create(OpKind kind, std::vector<Value *> operands, Attributes attrs = {},
         std::source_location where = std::source_location::current());

#define OP(Kind, Method, ...)                                                  \
  absl::StatusOr<Value *> Method(                                              \
      std::vector<Value *> operands, Attributes attrs = {},                    \
      std::source_location where = std::source_location::current()) {          \
    return create(OpKind::Kind, std::move(operands), std::move(attrs), where); \
  }
#include "ir/Ops.def"

  /// Marks `value` as a graph output named `name`.
  void output(std::string name, Value *value);

  /// Verifies and hands over the graph.
  absl::StatusOr<std::unique_ptr<Graph>> finish();

  Graph &graph() { return *graph_; }

private:
  std::unique_ptr<Graph> graph_;
};

} // namespace tcpu

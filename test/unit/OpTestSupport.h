//===- OpTestSupport.h - Helpers for the op semantics tests -----*- C++ -*-===//
//
// One-op graphs built, verified and interpreted; tensors from literal
// values; value and type expectations (NaN matches NaN).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Builder.h"
#include "ir/Interpreter.h"
#include "ir/Verifier.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace tcpu::optest {

inline constexpr double kInf = std::numeric_limits<double>::infinity();
inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
inline constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
inline constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();

inline Tensor make(DType dt, Shape shape, std::vector<double> values) {
  Tensor t = Tensor::allocate(TensorType(dt, std::move(shape))).value();
  EXPECT_EQ(static_cast<int64_t>(values.size()), t.numElements());
  for (size_t i = 0; i < values.size(); ++i)
    t.setElementFromDouble(i, values[i]);
  return t;
}

inline Tensor makeInt(DType dt, Shape shape, std::vector<int64_t> values) {
  Tensor t = Tensor::allocate(TensorType(dt, std::move(shape))).value();
  EXPECT_EQ(static_cast<int64_t>(values.size()), t.numElements());
  for (size_t i = 0; i < values.size(); ++i)
    t.setElementFromInt(i, values[i]);
  return t;
}

/// Builds a one-op graph (inputs x0, x1, ...), verifies and interprets it.
inline absl::StatusOr<Tensor> run(OpKind kind, std::vector<Tensor> inputs,
                           Attributes attrs = {}) {
  GraphBuilder b("t");
  std::vector<Value *> operands;
  for (size_t i = 0; i < inputs.size(); ++i)
    operands.push_back(b.input("x" + std::to_string(i), inputs[i].type()));
  absl::StatusOr<Value *> v = b.create(kind, operands, attrs);
  if (!v.ok())
    return v.status();
  b.output("y", *v);
  absl::StatusOr<std::unique_ptr<Graph>> g = b.finish();
  if (!g.ok())
    return g.status();
  absl::StatusOr<std::vector<Tensor>> r = interpret(**g, inputs);
  if (!r.ok())
    return r.status();
  return (*r)[0];
}

inline Tensor runOk(OpKind kind, std::vector<Tensor> inputs, Attributes attrs = {}) {
  absl::StatusOr<Tensor> t = run(kind, std::move(inputs), std::move(attrs));
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : Tensor();
}

/// The type-inference error message (no location), or "" when it succeeds.
inline std::string inferError(OpKind kind, std::vector<TensorType> types,
                       Attributes attrs = {}) {
  const OpInfo &info = opInfo(kind);
  std::vector<std::string> problems = normalizeAttributes(info, attrs);
  if (!problems.empty())
    return "attribute problem: " + problems.front();
  std::vector<const TensorType *> ptrs;
  for (const TensorType &t : types)
    ptrs.push_back(&t);
  absl::StatusOr<std::vector<TensorType>> r =
      inferResultTypes(info, ptrs, attrs);
  return r.ok() ? "" : std::string(r.status().message());
}

/// Values equal, NaN matching NaN; |got - want| <= rtol * |want| otherwise.
inline void expectValues(const Tensor &t, const std::vector<double> &want,
                  double rtol = 0) {
  ASSERT_EQ(t.numElements(), static_cast<int64_t>(want.size())) << t.type().str();
  for (size_t i = 0; i < want.size(); ++i) {
    double got = t.elementAsDouble(i);
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got)) << "element " << i << ": got " << got;
    } else if (std::isinf(want[i]) || rtol == 0) {
      EXPECT_EQ(got, want[i]) << "element " << i;
    } else {
      EXPECT_NEAR(got, want[i], rtol * std::fabs(want[i])) << "element " << i;
    }
  }
}

inline void expectInts(const Tensor &t, const std::vector<int64_t> &want) {
  ASSERT_EQ(t.numElements(), static_cast<int64_t>(want.size())) << t.type().str();
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_EQ(t.elementAsInt(i), want[i]) << "element " << i;
}

inline void expectType(const Tensor &t, DType dt, Shape shape) {
  EXPECT_EQ(t.type(), TensorType(dt, std::move(shape)));
}

} // namespace tcpu::optest

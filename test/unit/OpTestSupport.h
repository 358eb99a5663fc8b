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

/// |got - want| <= tol * (1 + |want|) for every element.
inline void expectClose(const Tensor &t, const std::vector<double> &want,
                        double tol = 1e-6) {
  ASSERT_EQ(t.numElements(), static_cast<int64_t>(want.size())) << t.type().str();
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(t.elementAsDouble(static_cast<int64_t>(i)), want[i],
                tol + tol * std::fabs(want[i]))
        << "element " << i;
}

inline std::vector<double> valuesOf(const Tensor &t) {
  std::vector<double> v;
  for (int64_t i = 0; i < t.numElements(); ++i)
    v.push_back(t.elementAsDouble(i));
  return v;
}

inline TensorType f32(Shape s) { return TensorType(DType::F32, std::move(s)); }

inline Tensor makeF32(Shape shape, std::vector<double> values) {
  return make(DType::F32, std::move(shape), std::move(values));
}

/// Inferred result types, or the error (attribute problems included, no
/// location). Operands marked in `absent` are passed as missing.
inline absl::StatusOr<std::vector<TensorType>>
inferTypes(OpKind kind, std::vector<TensorType> types, Attributes attrs = {},
           std::vector<bool> absent = {}) {
  std::vector<const TensorType *> ptrs;
  for (size_t i = 0; i < types.size(); ++i)
    ptrs.push_back(i < absent.size() && absent[i] ? nullptr : &types[i]);
  std::vector<std::string> problems = normalizeAttributes(opInfo(kind), attrs);
  if (!problems.empty())
    return absl::InvalidArgumentError(problems.front());
  return inferResultTypes(opInfo(kind), ptrs, attrs);
}

/// The error message, or "ok: <first type>".
inline std::string errorOf(const absl::StatusOr<std::vector<TensorType>> &r) {
  return r.ok() ? "ok: " + r->front().str() : std::string(r.status().message());
}
/// The first type, or "error: <message>".
inline std::string typeOf(const absl::StatusOr<std::vector<TensorType>> &r) {
  return r.ok() ? r->front().str() : "error: " + std::string(r.status().message());
}
/// Every type, space-separated, or "error: <message>".
inline std::string typesOf(const absl::StatusOr<std::vector<TensorType>> &r) {
  if (!r.ok())
    return "error: " + std::string(r.status().message());
  std::string s;
  for (const TensorType &t : *r)
    s += (s.empty() ? "" : " ") + t.str();
  return s;
}

/// Runs a one-op graph with every result as an output; absent operands are
/// default-constructed Tensors. Failures are test failures (empty result).
inline std::vector<Tensor> runAll(OpKind kind, std::vector<Tensor> operands,
                                  Attributes attrs = {}) {
  GraphBuilder b("t");
  std::vector<Value *> values;
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < operands.size(); ++i) {
    if (!operands[i].valid()) {
      values.push_back(nullptr);
      continue;
    }
    inputs.push_back(operands[i]);
    values.push_back(b.input("in" + std::to_string(i), operands[i].type()));
  }
  auto results = b.createMulti(kind, values, attrs);
  EXPECT_TRUE(results.ok()) << std::string(results.status().message());
  if (!results.ok())
    return {};
  for (size_t i = 0; i < results->size(); ++i)
    b.output("o" + std::to_string(i), (*results)[i]);
  auto g = b.finish();
  EXPECT_TRUE(g.ok()) << std::string(g.status().message());
  if (!g.ok())
    return {};
  auto outs = interpret(**g, inputs);
  EXPECT_TRUE(outs.ok()) << std::string(outs.status().message());
  return outs.ok() ? *outs : std::vector<Tensor>{};
}

inline void expectType(const Tensor &t, DType dt, Shape shape) {
  EXPECT_EQ(t.type(), TensorType(dt, std::move(shape)));
}

} // namespace tcpu::optest

//===- linalg_conv_rnn_case.h - Generated op test cases ---------*- C++ -*-===//
//
// The shape of the cases that gen_linalg_conv_rnn.py writes into
// linalg_cases.h, conv_cases.h and rnn_cases.h: one op, its attributes, its
// operands (absent ones have present=false) and its expected results, f32.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Attributes.h"

#include <cstdint>
#include <vector>

struct DataTensor {
  bool present = false;
  std::vector<int64_t> shape;
  std::vector<float> values;
};

struct DataCase {
  const char *name;
  const char *op;
  tcpu::Attributes attrs;
  std::vector<DataTensor> operands;
  std::vector<DataTensor> results;
};

// ----- Running a case ------------------------------------------------------

#include "ir/Builder.h"
#include "ir/Interpreter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

inline tcpu::Tensor dataTensor(const DataTensor &d) {
  absl::StatusOr<tcpu::Tensor> t =
      tcpu::Tensor::allocate(tcpu::TensorType(tcpu::DType::F32, d.shape));
  EXPECT_TRUE(t.ok());
  EXPECT_EQ(static_cast<size_t>(t->numElements()), d.values.size());
  for (size_t i = 0; i < d.values.size(); ++i)
    t->mutableDataAs<float>()[i] = d.values[i];
  return *t;
}

/// Builds a one-op graph with the case's operands as inputs, interprets it
/// and compares every result with |got - want| <= atol + rtol * |want|.
inline void runDataCase(const DataCase &c, double atol = 1e-6,
                        double rtol = 2e-6) {
  SCOPED_TRACE(c.name);
  const tcpu::OpInfo *info = tcpu::lookupOp(c.op);
  ASSERT_NE(info, nullptr) << c.op;
  tcpu::GraphBuilder b(c.name);
  std::vector<tcpu::Value *> operands;
  std::vector<tcpu::Tensor> inputs;
  for (size_t i = 0; i < c.operands.size(); ++i) {
    if (!c.operands[i].present) {
      operands.push_back(nullptr);
      continue;
    }
    inputs.push_back(dataTensor(c.operands[i]));
    operands.push_back(b.input("in" + std::to_string(i), inputs.back().type()));
  }
  while (!operands.empty() && !operands.back())
    operands.pop_back();
  absl::StatusOr<std::vector<tcpu::Value *>> results =
      b.createMulti(info->kind, operands, c.attrs);
  ASSERT_TRUE(results.ok()) << std::string(results.status().message());
  ASSERT_EQ(results->size(), c.results.size());
  for (size_t i = 0; i < results->size(); ++i) {
    EXPECT_EQ((*results)[i]->type.shape, c.results[i].shape) << "result " << i;
    b.output("out" + std::to_string(i), (*results)[i]);
  }
  absl::StatusOr<std::unique_ptr<tcpu::Graph>> g = b.finish();
  ASSERT_TRUE(g.ok()) << std::string(g.status().message());
  absl::StatusOr<std::vector<tcpu::Tensor>> outs = tcpu::interpret(**g, inputs);
  ASSERT_TRUE(outs.ok()) << std::string(outs.status().message());
  for (size_t r = 0; r < outs->size(); ++r) {
    const tcpu::Tensor &got = (*outs)[r];
    const DataTensor &want = c.results[r];
    ASSERT_EQ(got.shape(), want.shape) << "result " << r;
    int bad = 0;
    for (size_t i = 0; i < want.values.size() && bad < 5; ++i) {
      double gv = got.dataAs<float>()[i], wv = want.values[i];
      if (!(std::fabs(gv - wv) <= atol + rtol * std::fabs(wv))) {
        ADD_FAILURE() << "result " << r << " element " << i << ": got " << gv
                      << ", want " << wv;
        ++bad;
      }
    }
  }
}

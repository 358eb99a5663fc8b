// The C++ builder: type inference, attribute defaults, located errors.
#include "ir/Builder.h"
#include "ir/Interpreter.h"
#include "ir/Verifier.h"

#include <gtest/gtest.h>

namespace tcpu {
namespace {

Tensor filled(TensorType type, std::vector<double> values) {
  Tensor t = Tensor::allocate(std::move(type)).value();
  for (size_t i = 0; i < values.size(); ++i)
    t.setElementFromDouble(static_cast<int64_t>(i), values[i]);
  return t;
}

TEST(Builder, InfersTypesAndRuns) {
  GraphBuilder b("mlp");
  Value *x = b.input("x", TensorType(DType::F32, {2, 3}));
  Value *w = b.constant(filled(TensorType(DType::F32, {3, 2}),
                               {1, 0, 0, 1, 1, 1}));
  absl::StatusOr<Value *> y = b.matmul({x, w});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ((*y)->type.str(), "f32[2,2]");
  absl::StatusOr<Value *> r = b.relu({*y});
  ASSERT_TRUE(r.ok()) << r.status();
  b.output("out", *r);
  absl::StatusOr<std::unique_ptr<Graph>> g = b.finish();
  ASSERT_TRUE(g.ok()) << g.status();

  // x = [[1, -2, 3], [-4, 5, -6]] -> x @ w = [[4, 1], [-10, -1]] -> relu.
  absl::StatusOr<std::vector<Tensor>> out = interpret(
      **g, {filled(TensorType(DType::F32, {2, 3}), {1, -2, 3, -4, 5, -6})});
  ASSERT_TRUE(out.ok()) << out.status();
  std::vector<double> want = {4, 1, 0, 0};
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ((*out)[0].elementAsDouble(i), want[i]) << i;
}

TEST(Builder, ErrorsNameTheCallSite) {
  GraphBuilder b;
  Value *x = b.input("x", TensorType(DType::F32, {8, 64}));
  Value *w = b.input("w", TensorType(DType::F32, {32, 8}));
  int line = __LINE__ + 1;
  absl::StatusOr<Value *> y = b.matmul({x, w});
  ASSERT_FALSE(y.ok());
  std::string msg(y.status().message());
  EXPECT_NE(msg.find("BuilderTest.cpp:" + std::to_string(line) + ":"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("f32[8,64]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("f32[32,8]"), std::string::npos) << msg;
}

TEST(Builder, FillsDefaultsAndRejectsBadAttributes) {
  GraphBuilder b;
  Value *x = b.input("x", TensorType(DType::F32, {2, 5}));
  absl::StatusOr<Value *> s = b.softmax({x});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)->definingOp()->attrs.getInt("axis", 99), -1);

  absl::StatusOr<Value *> bad = b.softmax({x}, {{"axes", int64_t{1}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message())
                .find("'softmax' has no attribute 'axes' (it takes: axis)"),
            std::string::npos)
      << bad.status();

  absl::StatusOr<Value *> kind = b.softmax({x}, {{"axis", std::string("x")}});
  ASSERT_FALSE(kind.ok());
  EXPECT_NE(std::string(kind.status().message())
                .find("attribute 'axis' of 'softmax' must be int, got str"),
            std::string::npos)
      << kind.status();

  absl::StatusOr<Value *> missing = b.cast({x});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(std::string(missing.status().message())
                .find("'cast' needs attribute 'to' (dtype)"),
            std::string::npos)
      << missing.status();
}

TEST(Builder, OperandCountsAreChecked) {
  GraphBuilder b;
  Value *x = b.input("x", TensorType(DType::F32, {2}));
  absl::StatusOr<Value *> r = b.add({x});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message()).find("'add' takes 2 operands, got 1"),
            std::string::npos)
      << r.status();
  absl::StatusOr<Value *> none = b.add({x, nullptr});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(std::string(none.status().message())
                .find("operand 'rhs' of 'add' is required"),
            std::string::npos);
}

TEST(Builder, MultiResultOps) {
  GraphBuilder b;
  Value *x = b.input("x", TensorType(DType::F32, {5, 2, 3}));
  Value *w = b.input("w", TensorType(DType::F32, {1, 16, 3}));
  Value *r = b.input("r", TensorType(DType::F32, {1, 16, 4}));
  absl::StatusOr<std::vector<Value *>> res =
      b.createMulti(OpKind::Lstm, {x, w, r}, {{"hidden_size", int64_t{4}}});
  ASSERT_TRUE(res.ok()) << res.status();
  ASSERT_EQ(res->size(), 3u);
  EXPECT_EQ((*res)[0]->type.str(), "f32[5,1,2,4]");
  EXPECT_EQ((*res)[1]->type.str(), "f32[1,2,4]");
  EXPECT_EQ((*res)[2]->type.str(), "f32[1,2,4]");
}

TEST(Builder, VerifierReportsEveryError) {
  Graph g("two_errors");
  Value *x = g.addInput("x", TensorType(DType::F32, {2, 3}));
  Value *y = g.addInput("y", TensorType(DType::I32, {2, 3}));
  Op *add = g.appendOp(OpKind::Add, {x, y}, {},
                       {TensorType(DType::F32, {2, 3})});
  Op *relu = g.appendOp(OpKind::Relu, {x}, {},
                        {TensorType(DType::F32, {3, 2})});
  g.addOutput("a", add->result());
  g.addOutput("b", relu->result());
  DiagnosticEngine diags;
  EXPECT_FALSE(verifyGraph(g, diags));
  ASSERT_EQ(diags.diagnostics().size(), 2u) << diags.str();
  EXPECT_NE(diags.diagnostics()[0].message.find("different dtypes"),
            std::string::npos)
      << diags.str();
  EXPECT_NE(diags.diagnostics()[1].message.find(
                "'relu' result type f32[3,2] does not match the inferred "
                "type f32[2,3]"),
            std::string::npos)
      << diags.str();
}

TEST(Graph, CloneIsDeepAndKeepsNames) {
  GraphBuilder b("g");
  Value *x = b.input("x", TensorType(DType::F32, {2}));
  absl::StatusOr<Value *> e = b.exp({x});
  ASSERT_TRUE(e.ok());
  (*e)->name = "e";
  b.output("out", *e);
  std::unique_ptr<Graph> g = b.finish().value();
  std::unique_ptr<Graph> c = g->clone();
  ASSERT_EQ(c->ops().size(), 1u);
  Op *op = c->ops().front().get();
  EXPECT_NE(op, g->ops().front().get());
  EXPECT_EQ(op->operand(0), c->inputs()[0]);
  EXPECT_EQ(op->result()->name, "e");
  EXPECT_EQ(c->outputs()[0].value, op->result());
  EXPECT_TRUE(verify(*c).ok());
}

} // namespace
} // namespace tcpu

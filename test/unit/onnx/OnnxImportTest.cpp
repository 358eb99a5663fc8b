//===- OnnxImportTest.cpp - ONNX import ------------------------------------===//
//
// Models are built here with the ONNX protobuf classes (per-opset semantics,
// tensor encodings, error paths) or read from the committed lit inputs
// (test/lit/onnx/Inputs, written by test/onnx/gen_import_tests.py).
//
//===----------------------------------------------------------------------===//
#include "ir/Interpreter.h"
#include "ir/Verifier.h"
#include "ir/onnx/OnnxImporter.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <unistd.h>

using namespace tcpu;

namespace {

std::string inputsDir() {
  return std::string(TCPU_SOURCE_DIR) + "/test/lit/onnx/Inputs";
}

std::string fileBytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string message(const absl::Status &s) { return std::string(s.message()); }

// ----- A tiny model builder --------------------------------------------------------

struct ModelBuilder {
  onnx::ModelProto m;
  onnx::GraphProto *g;

  explicit ModelBuilder(int64_t opset = 13) {
    m.set_ir_version(8);
    auto *o = m.add_opset_import();
    o->set_domain("");
    o->set_version(opset);
    g = m.mutable_graph();
    g->set_name("t");
  }
  void input(const std::string &name, int32_t elem, std::vector<int64_t> dims) {
    auto *vi = g->add_input();
    vi->set_name(name);
    auto *tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem);
    auto *shape = tt->mutable_shape();
    for (int64_t d : dims)
      shape->add_dim()->set_dim_value(d);
  }
  void output(const std::string &name) { g->add_output()->set_name(name); }
  onnx::NodeProto *node(const std::string &type, std::vector<std::string> in,
                        std::vector<std::string> out, const std::string &name = "") {
    auto *n = g->add_node();
    n->set_op_type(type);
    n->set_name(name);
    for (auto &s : in)
      n->add_input(s);
    for (auto &s : out)
      n->add_output(s);
    return n;
  }
  onnx::TensorProto *ints(const std::string &name, std::vector<int64_t> v,
                          bool scalar = false) {
    auto *t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    if (!scalar)
      t->add_dims(static_cast<int64_t>(v.size()));
    for (int64_t x : v)
      t->add_int64_data(x);
    return t;
  }
  onnx::TensorProto *floats(const std::string &name, std::vector<int64_t> dims,
                            std::vector<float> v) {
    auto *t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims)
      t->add_dims(d);
    for (float x : v)
      t->add_float_data(x);
    return t;
  }
  absl::StatusOr<std::unique_ptr<Graph>> import(const OnnxImportOptions &o = {},
                                                const std::string &dir = ".") {
    return importOnnxBytes(m.SerializeAsString(), "m.onnx", dir, o);
  }
};

void setInts(onnx::NodeProto *n, const std::string &name, std::vector<int64_t> v) {
  auto *a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v)
    a->add_ints(x);
}
void setInt(onnx::NodeProto *n, const std::string &name, int64_t v) {
  auto *a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

const Op *firstOp(const Graph &g, OpKind kind) {
  for (const auto &op : g.ops())
    if (op->kind() == kind)
      return op.get();
  return nullptr;
}

int countOps(const Graph &g, OpKind kind) {
  int n = 0;
  for (const auto &op : g.ops())
    n += op->kind() == kind;
  return n;
}

// ----- Names, inputs, initializers ------------------------------------------------------

TEST(OnnxImport, KeepsInputAndOutputNamesAndOrder) {
  ModelBuilder b;
  b.input("zeta", onnx::TensorProto::FLOAT, {2});
  b.input("w", onnx::TensorProto::FLOAT, {2}); // also an initializer: constant
  b.input("alpha", onnx::TensorProto::FLOAT, {2});
  b.floats("w", {2}, {1, 2});
  b.floats("unused", {1}, {7});
  b.node("Add", {"zeta", "w"}, {"s"});
  b.node("Mul", {"s", "alpha"}, {"p"});
  b.output("p");
  b.output("s");
  auto g = b.import();
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_EQ((*g)->inputs().size(), 2u);
  EXPECT_EQ((*g)->inputs()[0]->name, "zeta");
  EXPECT_EQ((*g)->inputs()[1]->name, "alpha");
  ASSERT_EQ((*g)->outputs().size(), 2u);
  EXPECT_EQ((*g)->outputs()[0].name, "p");
  EXPECT_EQ((*g)->outputs()[1].name, "s");
  EXPECT_EQ((*g)->outputs()[1].value->name, "s");
  // The unused initializer is gone; 'w' is the only constant.
  EXPECT_EQ(countOps(**g, OpKind::Constant), 1);
}

TEST(OnnxImport, SymbolicDimsNeedShapes) {
  ModelBuilder b;
  auto *vi = b.g->add_input();
  vi->set_name("x");
  auto *tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_param("batch");
  tt->mutable_shape()->add_dim()->set_dim_value(3);
  b.node("Relu", {"x"}, {"y"});
  b.output("y");
  auto bad = b.import();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(message(bad.status()).find("symbolic dim 'batch'"), std::string::npos)
      << bad.status();
  OnnxImportOptions o;
  o.inputShapes["x"] = {5, 3};
  auto g = b.import(o);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ((*g)->inputs()[0]->type.str(), "f32[5,3]");
  o.inputShapes["x"] = {5, 4};
  EXPECT_FALSE(b.import(o).ok());
}

TEST(OnnxImport, ConstantInputsFreezeShapeInputs) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2, 3});
  b.input("s", onnx::TensorProto::INT64, {2});
  b.node("Reshape", {"x", "s"}, {"y"}, "rs");
  b.output("y");
  auto bad = b.import();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(message(bad.status()).find("node 'rs' (Reshape): error: input 's'"),
            std::string::npos)
      << bad.status();
  Tensor s = Tensor::allocate(TensorType(DType::I64, {2})).value();
  s.setElementFromInt(0, 3);
  s.setElementFromInt(1, -1);
  OnnxImportOptions o;
  o.constantInputs["s"] = s;
  auto g = b.import(o);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ((*g)->inputs().size(), 1u);
  EXPECT_EQ((*g)->outputs()[0].value->type.str(), "f32[3,2]");
}

// ----- Per-opset semantics ---------------------------------------------------------------

TEST(OnnxImport, SqueezeUnsqueezeAxesAttributeBefore13InputAfter) {
  for (int64_t opset : {11, 13}) {
    ModelBuilder b(opset);
    b.input("x", onnx::TensorProto::FLOAT, {3, 1, 2});
    auto *sq = b.node("Squeeze", {"x"}, {"a"});
    auto *un = b.node("Unsqueeze", {"a"}, {"y"});
    if (opset < 13) {
      setInts(sq, "axes", {1});
      setInts(un, "axes", {0, 3});
    } else {
      b.ints("sq_axes", {1});
      b.ints("un_axes", {0, 3});
      sq->add_input("sq_axes");
      un->add_input("un_axes");
    }
    b.output("y");
    auto g = b.import();
    ASSERT_TRUE(g.ok()) << g.status();
    EXPECT_EQ((*g)->outputs()[0].value->type.str(), "f32[1,3,2,1]") << opset;
  }
}

TEST(OnnxImport, ReduceAxesPerOpset) {
  struct Case {
    std::string op;
    int64_t opset;
    bool axesAsInput;
  } cases[] = {{"ReduceSum", 11, false}, {"ReduceSum", 13, true},
               {"ReduceMean", 13, false}, {"ReduceMean", 18, true},
               {"ReduceMax", 17, false},  {"ReduceMax", 18, true}};
  for (const Case &c : cases) {
    ModelBuilder b(c.opset);
    b.input("x", onnx::TensorProto::FLOAT, {2, 3, 4});
    auto *n = b.node(c.op, {"x"}, {"y"});
    if (c.axesAsInput) {
      b.ints("axes", {-1, 0});
      n->add_input("axes");
    } else {
      setInts(n, "axes", {-1, 0});
    }
    setInt(n, "keepdims", 0);
    b.output("y");
    auto g = b.import();
    ASSERT_TRUE(g.ok()) << c.op << " " << c.opset << ": " << g.status();
    EXPECT_EQ((*g)->outputs()[0].value->type.str(), "f32[3]") << c.op << c.opset;
  }
  // noop_with_empty_axes: no axes means identity.
  ModelBuilder b(18);
  b.input("x", onnx::TensorProto::FLOAT, {2, 3});
  setInt(b.node("ReduceMean", {"x"}, {"y"}), "noop_with_empty_axes", 1);
  b.output("y");
  auto g = b.import();
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_TRUE((*g)->outputs()[0].value->isGraphInput());
}

TEST(OnnxImport, ReshapeResolvesZeroAndMinusOne) {
  ModelBuilder b(14);
  b.input("x", onnx::TensorProto::FLOAT, {2, 3, 4});
  b.ints("s", {0, -1});
  b.node("Reshape", {"x", "s"}, {"y"});
  b.output("y");
  auto g = b.import();
  ASSERT_TRUE(g.ok()) << g.status();
  const Op *r = firstOp(**g, OpKind::Reshape);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->attrs.getInts("shape"), (std::vector<int64_t>{2, 12}));
}

TEST(OnnxImport, ReshapeAllowzeroKeepsZeroDims) {
  // allowzero=1: a 0 is a 0-sized dim (ONNX test_reshape_allowzero_reordered).
  ModelBuilder b(14);
  b.input("x", onnx::TensorProto::FLOAT, {0, 3, 4});
  b.ints("s", {3, 4, 0});
  setInt(b.node("Reshape", {"x", "s"}, {"y"}), "allowzero", 1);
  b.output("y");
  auto g = b.import();
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ((*g)->outputs()[0].value->type.str(), "f32[3,4,0]");

  // A -1 next to a 0 could be any size.
  ModelBuilder amb(14);
  amb.input("x", onnx::TensorProto::FLOAT, {0, 3});
  amb.ints("s", {0, -1});
  setInt(amb.node("Reshape", {"x", "s"}, {"y"}, "r"), "allowzero", 1);
  amb.output("y");
  auto bad = amb.import();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(message(bad.status()).find("cannot reshape f32[0,3] to [0,-1]: the -1 "
                                       "is ambiguous when the other dims have a 0"),
            std::string::npos)
      << bad.status();
}

TEST(OnnxImport, LayerNormalizationMeanAndInvStdDev) {
  // Mean and InvStdDev are in the stash type (FLOAT) over [axis, rank), dims
  // kept: x = [[1, 2, 3, 6], [0, 0, 0, 0]] gives mean [3, 0] and variance
  // [3.5, 0], so InvStdDev = 1 / sqrt(var + 0.25) = [0.51639778, 2].
  ModelBuilder b(17);
  b.input("x", onnx::TensorProto::FLOAT16, {2, 1, 4});
  b.input("scale", onnx::TensorProto::FLOAT16, {1, 4});
  auto *n = b.node("LayerNormalization", {"x", "scale"}, {"y", "mean", "inv"});
  setInt(n, "axis", -2);
  auto *eps = n->add_attribute();
  eps->set_name("epsilon");
  eps->set_type(onnx::AttributeProto::FLOAT);
  eps->set_f(0.25f);
  b.output("y");
  b.output("mean");
  b.output("inv");
  auto g = b.import();
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ((*g)->outputs()[0].value->type.str(), "f16[2,1,4]");
  EXPECT_EQ((*g)->outputs()[1].value->type.str(), "f32[2,1,1]");
  EXPECT_EQ((*g)->outputs()[2].value->type.str(), "f32[2,1,1]");
  Tensor x = Tensor::allocate(TensorType(DType::F16, {2, 1, 4})).value();
  Tensor scale = Tensor::allocate(TensorType(DType::F16, {1, 4})).value();
  const double xv[] = {1, 2, 3, 6, 0, 0, 0, 0};
  for (int i = 0; i < 8; ++i)
    x.setElementFromDouble(i, xv[i]);
  for (int i = 0; i < 4; ++i)
    scale.setElementFromDouble(i, 1);
  auto out = interpret(**g, {x, scale});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[1].elementAsDouble(0), 3.0);
  EXPECT_EQ((*out)[1].elementAsDouble(1), 0.0);
  EXPECT_NEAR((*out)[2].elementAsDouble(0), 0.51639778, 1e-7);
  EXPECT_EQ((*out)[2].elementAsDouble(1), 2.0);

  // Unused optional outputs add no ops.
  ModelBuilder plain(17);
  plain.input("x", onnx::TensorProto::FLOAT, {2, 4});
  plain.input("scale", onnx::TensorProto::FLOAT, {4});
  plain.node("LayerNormalization", {"x", "scale"}, {"y", "mean", "inv"});
  plain.output("y");
  auto gp = plain.import();
  ASSERT_TRUE(gp.ok()) << gp.status();
  EXPECT_EQ(countOps(**gp, OpKind::ReduceMean), 0);
}

TEST(OnnxImport, ReduceMaxMinOnBoolOpset20) {
  // any / all: reduced as u8 and cast back.
  ModelBuilder b(20);
  b.input("x", onnx::TensorProto::BOOL, {2, 3});
  b.ints("axes", {1});
  b.node("ReduceMax", {"x", "axes"}, {"any"});
  b.node("ReduceMin", {"x", "axes"}, {"all"});
  b.output("any");
  b.output("all");
  auto g = b.import();
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ((*g)->outputs()[0].value->type.str(), "bool[2,1]");
  Tensor x = Tensor::allocate(TensorType(DType::Bool, {2, 3})).value();
  const int64_t xv[] = {0, 1, 0, 1, 1, 1};
  for (int i = 0; i < 6; ++i)
    x.setElementFromInt(i, xv[i]);
  auto out = interpret(**g, {x});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].elementAsInt(0), 1);
  EXPECT_EQ((*out)[0].elementAsInt(1), 1);
  EXPECT_EQ((*out)[1].elementAsInt(0), 0);
  EXPECT_EQ((*out)[1].elementAsInt(1), 1);
}

TEST(OnnxImport, Opset10ClipAndPadAttributes) {
  ModelBuilder b(10);
  b.input("x", onnx::TensorProto::FLOAT, {2, 3});
  auto *clip = b.node("Clip", {"x"}, {"c"});
  auto *lo = clip->add_attribute();
  lo->set_name("min");
  lo->set_type(onnx::AttributeProto::FLOAT);
  lo->set_f(-1.0f);
  auto *pad = b.node("Pad", {"c"}, {"y"});
  setInts(pad, "pads", {0, 1, 1, 0});
  b.output("y");
  auto g = b.import();
  ASSERT_TRUE(g.ok()) << g.status();
  const Op *c = firstOp(**g, OpKind::Clip);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->attrs.getFloat("min"), -1.0);
  EXPECT_FALSE(c->attrs.has("max"));
  EXPECT_EQ((*g)->outputs()[0].value->type.str(), "f32[3,4]");
}

TEST(OnnxImport, PadWithAxesOpset18) {
  ModelBuilder b(18);
  b.input("x", onnx::TensorProto::FLOAT, {2, 3});
  b.ints("pads", {1, 2});
  b.ints("axes", {-1});
  b.floats("v", {}, {0.5f});
  b.node("Pad", {"x", "pads", "v", "axes"}, {"y"});
  b.output("y");
  auto g = b.import();
  ASSERT_TRUE(g.ok()) << g.status();
  const Op *p = firstOp(**g, OpKind::Pad);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->attrs.getInts("pads"), (std::vector<int64_t>{0, 1, 0, 2}));
  EXPECT_EQ(p->attrs.getFloat("value"), 0.5);
}

TEST(OnnxImport, ShapeArithmeticFoldsToStaticReshape) {
  OnnxImportOptions o;
  o.inputShapes["x"] = {3, 4, 3, 2};
  auto g = importOnnxFile(inputsDir() + "/shape_chain.onnx", o);
  ASSERT_TRUE(g.ok()) << g.status();
  // Only the reshape and the add remain; everything else became constants.
  for (const auto &op : (*g)->ops())
    EXPECT_TRUE(op->kind() == OpKind::Constant || op->kind() == OpKind::Reshape ||
                op->kind() == OpKind::Add)
        << op->mnemonic();
  EXPECT_EQ(firstOp(**g, OpKind::Reshape)->attrs.getInts("shape"),
            (std::vector<int64_t>{3, 12, 2}));
}

// ----- Tensor encodings ----------------------------------------------------------------

TEST(OnnxImport, TypedFieldsAndSizeChecks) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT16, {2});
  auto *h = b.g->add_initializer();
  h->set_name("h");
  h->set_data_type(onnx::TensorProto::FLOAT16);
  h->add_dims(2);
  h->add_int32_data(0x3c00); // 1.0
  h->add_int32_data(0xc000); // -2.0
  b.node("Add", {"x", "h"}, {"y"});
  b.output("y");
  auto g = b.import();
  ASSERT_TRUE(g.ok()) << g.status();
  Tensor x = Tensor::allocate(TensorType(DType::F16, {2})).value();
  auto out = interpret(**g, {x});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].elementAsDouble(0), 1.0);
  EXPECT_EQ((*out)[0].elementAsDouble(1), -2.0);

  h->add_dims(2); // now f16[2,2] with only 2 values
  auto bad = b.import();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(message(bad.status()).find("int32_data has 2 elements, f16[2,2] needs 4"),
            std::string::npos)
      << bad.status();
}

TEST(OnnxImport, NewerDataTypesAreUnsupported) {
  for (int32_t t : {17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 11, 5}) {
    ModelBuilder b;
    b.input("x", t, {2});
    b.node("Identity", {"x"}, {"y"});
    b.output("y");
    auto g = b.import();
    ASSERT_FALSE(g.ok());
    EXPECT_NE(message(g.status()).find("unsupported data type"), std::string::npos)
        << g.status();
    EXPECT_NE(message(g.status()).find("input 'x'"), std::string::npos);
  }
}

TEST(OnnxImport, ReadsTensorFiles) {
  onnx::TensorProto t;
  t.set_data_type(onnx::TensorProto::INT32);
  t.add_dims(3);
  int32_t v[3] = {7, -1, 42};
  t.set_raw_data(std::string(reinterpret_cast<char *>(v), sizeof v));
  std::string path = testing::TempDir() + "/tensor.pb";
  std::ofstream(path, std::ios::binary) << t.SerializeAsString();
  auto r = readOnnxTensorFile(path);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->type().str(), "i32[3]");
  EXPECT_EQ(r->elementAsInt(2), 42);
  t.mutable_raw_data()->resize(8);
  std::ofstream(path, std::ios::binary) << t.SerializeAsString();
  EXPECT_FALSE(readOnnxTensorFile(path).ok());
}

// ----- External data ------------------------------------------------------------------

/// Whether [p, p + n) lies in a mapping of a file whose path ends with `file`.
bool insideMappedFile(const void *p, size_t n, const std::string &file) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  auto addr = reinterpret_cast<uintptr_t>(p);
  while (std::getline(maps, line)) {
    uintptr_t lo, hi;
    if (std::sscanf(line.c_str(), "%lx-%lx", &lo, &hi) != 2)
      continue;
    if (addr >= lo && addr + n <= hi && line.size() >= file.size() &&
        line.compare(line.size() - file.size(), file.size(), file) == 0)
      return true;
  }
  return false;
}

TEST(OnnxImport, ExternalWeightsAreMemoryMapped) {
  auto g = importOnnxFile(inputsDir() + "/external_ok.onnx");
  ASSERT_TRUE(g.ok()) << g.status();
  int mapped = 0;
  for (const auto &op : (*g)->ops()) {
    if (op->kind() != OpKind::Constant)
      continue;
    const Tensor *t = op->constantValue();
    EXPECT_TRUE(insideMappedFile(t->data(), t->byteSize(), "/external.bin"))
        << op->result()->name;
    ++mapped;
  }
  EXPECT_EQ(mapped, 2);
  // And the values are right: w = arange(16)/8, b = [1, 2, 3, 4].
  Tensor x = Tensor::allocate(TensorType(DType::F32, {1, 4})).value();
  x.setElementFromDouble(0, 1);
  auto out = interpret(**g, {x});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].elementAsDouble(0), 1.0);   // w[0][0] + b[0]
  EXPECT_EQ((*out)[0].elementAsDouble(3), 4.375); // w[0][3] + b[3]
}

TEST(OnnxImport, WeightsLargerThanMemoryImportWithoutTouchingPages) {
  // A sparse 16 GiB weights file: the import maps it and reads no page.
  std::string dir = testing::TempDir() + "/onnx_huge";
  std::filesystem::create_directories(dir);
  const int64_t n = int64_t{1} << 32; // f32 elements: 16 GiB
  {
    int fd = ::open((dir + "/huge.bin").c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, n * 4), 0);
    ::close(fd);
  }
  ModelBuilder b;
  b.input("i", onnx::TensorProto::INT64, {1});
  auto *w = b.g->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(n);
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  auto *e = w->add_external_data();
  e->set_key("location");
  e->set_value("huge.bin");
  b.node("Gather", {"w", "i"}, {"y"});
  b.output("y");
  auto g = b.import({}, dir);
  ASSERT_TRUE(g.ok()) << g.status();
  const Tensor *t = firstOp(**g, OpKind::Constant)->constantValue();
  EXPECT_EQ(t->byteSize(), n * 4);
  EXPECT_TRUE(insideMappedFile(t->data(), 4096, "/huge.bin"));
  // No page of the mapping is resident.
  std::vector<unsigned char> resident(1024);
  uintptr_t page = reinterpret_cast<uintptr_t>(t->data()) & ~uintptr_t(4095);
  ASSERT_EQ(::mincore(reinterpret_cast<void *>(page), 1024 * 4096, resident.data()), 0);
  for (unsigned char r : resident)
    EXPECT_EQ(r & 1, 0);
  std::filesystem::remove_all(dir);
}

TEST(OnnxImport, ExternalDataErrorsNameTensorAndFile) {
  struct Case {
    const char *model, *expected;
  } cases[] = {
      {"external_missing.onnx", "initializer 'w': cannot open external data file"},
      {"external_short.onnx", "too short for offset 100 + length 64"},
      {"external_escape.onnx", "leaves the model's folder"},
      {"external_absolute.onnx", "must be a relative path"},
  };
  for (const Case &c : cases) {
    auto g = importOnnxFile(inputsDir() + "/" + c.model);
    ASSERT_FALSE(g.ok()) << c.model;
    EXPECT_NE(message(g.status()).find(c.expected), std::string::npos)
        << g.status();
  }
}

// ----- Errors -----------------------------------------------------------------------------

TEST(OnnxImport, ListsEveryUnsupportedOp) {
  auto g = importOnnxFile(inputsDir() + "/unsupported_ops.onnx");
  ASSERT_FALSE(g.ok());
  EXPECT_NE(message(g.status()).find(
                "unsupported ONNX ops (opset 17): ConvTranspose (nodes 'ct1', "
                "'ct2'), Resize (node 'up'), com.microsoft.FusedGemm (node "
                "'fg'), NonZero (node #5)"),
            std::string::npos)
      << g.status();
}

TEST(OnnxImport, OpsNewerThanTheModelOpsetAreUnsupported) {
  ModelBuilder b(17); // Gelu is opset 20
  b.input("x", onnx::TensorProto::FLOAT, {2});
  b.node("Gelu", {"x"}, {"y"}, "g");
  b.output("y");
  auto g = b.import();
  ASSERT_FALSE(g.ok());
  EXPECT_NE(message(g.status()).find("Gelu (node 'g')"), std::string::npos);
}

TEST(OnnxImport, BadFilesAreErrorsNotCrashes) {
  for (const char *name : {"empty.onnx", "wrong_magic.onnx", "truncated.onnx"}) {
    auto g = importOnnxFile(inputsDir() + "/" + name);
    ASSERT_FALSE(g.ok()) << name;
    EXPECT_NE(message(g.status()).find(name), std::string::npos) << g.status();
  }
  auto dir = importOnnxFile(inputsDir());
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(message(dir.status()).find("is a directory"), std::string::npos);
}

TEST(OnnxImport, MutatedModelsNeverCrash) {
  // Truncations and byte flips of every committed model: each import either
  // succeeds (and verifies) or returns an error.
  std::mt19937 rng(7);
  int cases = 0;
  for (const auto &entry : std::filesystem::directory_iterator(inputsDir())) {
    if (entry.path().extension() != ".onnx")
      continue;
    std::string bytes = fileBytes(entry.path());
    if (bytes.empty())
      continue;
    for (int k = 0; k < 40; ++k) {
      std::string m = bytes;
      if (k < 10) {
        m.resize(rng() % m.size());
      } else {
        for (int f = 0, nf = 1 + rng() % 4; f < nf; ++f)
          m[rng() % m.size()] = static_cast<char>(rng());
      }
      auto g = importOnnxBytes(m, "mutated.onnx", inputsDir());
      if (g.ok())
        EXPECT_TRUE(verify(**g).ok());
      else
        EXPECT_NE(message(g.status()).find("error:"), std::string::npos)
            << g.status();
      ++cases;
    }
  }
  EXPECT_GT(cases, 400);
}

} // namespace

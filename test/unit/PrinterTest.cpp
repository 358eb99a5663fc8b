//===- PrinterTest.cpp - The printer of the text form ---------------------===//
//
// The canonical form on hand-written examples, the choices the printer makes
// (names, handles, inline or blob, splats, defaults), and the round-trip
// property: print(parse(print(g))) == print(g), with the same types,
// attributes, names and constant bytes, including every f16 and bf16 value.
//
//===----------------------------------------------------------------------===//
#include "ir/Builder.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <random>
#include <unordered_map>

namespace tcpu {
namespace {

std::unique_ptr<Graph> parseText(std::string_view text, bool verify = true) {
  ParseOptions options;
  options.verify = verify;
  DiagnosticEngine diags;
  std::unique_ptr<Graph> g = parseGraph(text, options, diags);
  EXPECT_NE(g, nullptr) << diags.str() << "in:\n" << text;
  return g;
}

const Op &opAt(const Graph &g, size_t i) {
  auto it = g.ops().begin();
  std::advance(it, i);
  return **it;
}

/// Structural equality: names, types, attributes, operands, constant bytes.
void expectSameGraph(const Graph &a, const Graph &b) {
  EXPECT_EQ(a.name, b.name);
  ASSERT_EQ(a.inputs().size(), b.inputs().size());
  std::unordered_map<const Value *, const Value *> map;
  for (size_t i = 0; i < a.inputs().size(); ++i) {
    EXPECT_EQ(a.inputs()[i]->name, b.inputs()[i]->name);
    EXPECT_EQ(a.inputs()[i]->type, b.inputs()[i]->type);
    map[a.inputs()[i]] = b.inputs()[i];
  }
  ASSERT_EQ(a.ops().size(), b.ops().size());
  for (auto ia = a.ops().begin(), ib = b.ops().begin(); ia != a.ops().end();
       ++ia, ++ib) {
    const Op &x = **ia, &y = **ib;
    ASSERT_EQ(x.kind(), y.kind());
    Attributes ax = x.attrs;
    normalizeAttributes(x.info(), ax);
    EXPECT_EQ(ax, y.attrs) << x.mnemonic();
    // Trailing absent operands are not printed.
    std::vector<Value *> ox = x.operands;
    while (!ox.empty() && !ox.back())
      ox.pop_back();
    ASSERT_EQ(ox.size(), y.operands.size());
    for (size_t i = 0; i < ox.size(); ++i)
      EXPECT_EQ(ox[i] ? map.at(ox[i]) : nullptr, y.operands[i]);
    ASSERT_EQ(x.numResults(), y.numResults());
    for (size_t i = 0; i < x.numResults(); ++i) {
      EXPECT_EQ(x.result(i)->type, y.result(i)->type);
      map[x.result(i)] = y.result(i);
    }
    if (x.kind() == OpKind::Constant) {
      ASSERT_NE(x.constantValue(), nullptr);
      ASSERT_NE(y.constantValue(), nullptr);
      EXPECT_TRUE(x.constantValue()->identical(*y.constantValue()));
    }
  }
  ASSERT_EQ(a.outputs().size(), b.outputs().size());
  for (size_t i = 0; i < a.outputs().size(); ++i) {
    EXPECT_EQ(a.outputs()[i].name, b.outputs()[i].name);
    EXPECT_EQ(map.at(a.outputs()[i].value), b.outputs()[i].value);
  }
}

/// Prints g, parses it back, compares, prints again; returns the text.
std::string roundTrip(const Graph &g, const PrintOptions &options = {}) {
  std::string first = printGraph(g, options);
  std::unique_ptr<Graph> back = parseText(first);
  if (!back)
    return first;
  expectSameGraph(g, *back);
  EXPECT_EQ(printGraph(*back, options), first);
  return first;
}

/// A canonical text prints back as itself.
void expectCanonical(std::string_view text, const PrintOptions &options = {}) {
  std::unique_ptr<Graph> g = parseText(text);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(printGraph(*g, options), text);
  roundTrip(*g, options);
}

Tensor makeTensor(TensorType type, const void *bytes) {
  absl::StatusOr<Tensor> t = Tensor::allocate(std::move(type));
  EXPECT_TRUE(t.ok());
  if (t->byteSize())
    std::memcpy(t->mutableData(), bytes, t->byteSize());
  return *t;
}

Tensor f32(Shape shape, std::vector<float> v) {
  return makeTensor(TensorType(DType::F32, std::move(shape)), v.data());
}

//===----------------------------------------------------------------------===//
// The canonical form
//===----------------------------------------------------------------------===//

TEST(Printer, CanonicalExamples) {
  expectCanonical(R"(graph @mlp(%x: f32[8,64], %w: f32[64,32], %b: f32[32]) -> f32[8,32] {
  %0 = matmul %x, %w : f32[8,32]
  %1 = add %0, %b : f32[8,32]
  %2 = relu %1 : f32[8,32]
  return %2
}
)");
  // Several outputs, names, quoting, layouts, scalars, none operands,
  // multi-result ops, every attribute kind, sorted attributes.
  expectCanonical(R"(graph @"my net"(%x: f32[1,3,8,8], %seq: f32[5,2,4], %w: f32[1,12,4], %r: f32[1,12,3], %h0: f32[1,2,3], %"in put": i64[]) -> (y: f32[1,3,8,8]<nchw8c>, "h.0 x": f32[1,2,3], out2: f32[5,1,2,3], f32: f32[1,3,8,8], n: i64[]) {
  %0 = max_pool2d %x {ceil_mode = 1, kernel = [3, 3], pads = [1, 1, 1, 1]} : f32[1,3,8,8]
  %"a b" = leaky_relu %0 {alpha = 2.0} : f32[1,3,8,8]<nchw8c>
  %y, %h, %c = lstm %seq, %w, %r, none, %h0 {clip = 1.5, direction = "reverse", hidden_size = 3} : f32[5,1,2,3], f32[1,2,3], f32[1,2,3]
  %1 = cast %x {to = f32} : f32[1,3,8,8]
  return %"a b", %h, %y, %1, %"in put"
}
)",
                  {});
}

TEST(Printer, ShortAndEmptyOutputForms) {
  expectCanonical(R"(graph @g(%x: f32[2]) -> (f32[2], f32[2]) {
  return %x, %x
}
)");
  // Default names out of order are not the short form.
  expectCanonical(R"(graph @g(%x: f32[2]) -> (output1: f32[2], output0: f32[2]) {
  return %x, %x
}
)");
  std::unique_ptr<Graph> g = parseText("graph @g() -> () {\n  return\n}\n",
                                       /*verify=*/false);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(printGraph(*g), "graph @g() -> () {\n  return\n}\n");
}

TEST(Printer, Constants) {
  // Inline constants of every dtype, with extremes; splats; empty.
  expectCanonical(R"(graph @c() -> (a: f32[4], b: f16[3], c: bf16[2], d: i8[3], e: u8[2], f: i32[2], g: i64[2], h: bool[3], s: f32[], t: f32[2,2], z: f32[0], n: f32[4], k: bool[2], m: i64[3]) {
  %a = constant dense<[1.0, -2.5, 0.0, 300.0]> : f32[4]
  %b = constant dense<[0.5, 1.0, -65504.0]> : f16[3]
  %c = constant dense<[1.0, -0.125]> : bf16[2]
  %d = constant dense<[-128, 0, 127]> : i8[3]
  %e = constant dense<[0, 255]> : u8[2]
  %f = constant dense<[-2147483648, 2147483647]> : i32[2]
  %g = constant dense<[-9223372036854775808, 9223372036854775807]> : i64[2]
  %h = constant dense<[true, false, true]> : bool[3]
  %s = constant dense<3.5> : f32[]
  %t = constant dense<-0.0> : f32[2,2]
  %z = constant dense<[]> : f32[0]
  %n = constant dense<[inf, -inf, nan, 0.0]> : f32[4]
  %k = constant dense<true> : bool[2]
  %m = constant dense<-9223372036854775808> : i64[3]
  return %a, %b, %c, %d, %e, %f, %g, %h, %s, %t, %z, %n, %k, %m
}
)");
  // 0.0 and -0.0 are different bits: no splat.
  expectCanonical(R"(graph @g() -> f32[2] {
  %0 = constant dense<[0.0, -0.0]> : f32[2]
  return %0
}
)");
}

TEST(Printer, BlobsKeepHandlesAndShareBytes) {
  expectCanonical(R"(graph @g(%x: f32[4]) -> (w: f32[5,4], i: i32[17], j: i32[17], "k 2": u8[17]) {
  %w = constant @fc.weight : f32[5,4]
  %i = constant @ints : i32[17]
  %j = constant @ints : i32[17]
  %"k 2" = constant @"my handle" : u8[17]
  return %w, %i, %j, %"k 2"
}

blobs {
  @fc.weight = 0x000000000000003F0000803F0000C03F0000004000002040000040400000604000008040000090400000A0400000B0400000C0400000D0400000E0400000F04000000041000008410000104100001841
  @ints = 0x01000000FFFFFFFF070000000100000002000000030000000400000005000000060000000700000008000000090000000A0000000B0000000C0000000D0000000E000000
  @"my handle" = 0x0102030405060708090A0B0C0D0E0F1011
}
)");
}

TEST(Printer, InlineLimitAndOptions) {
  const char *text = R"(graph @g() -> (a: f32[2], b: f32[20]) {
  %a = constant @small : f32[2]
  %b = constant dense<[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0]> : f32[20]
  return %a, %b
}

blobs {
  @small = 0x0000803F00000040
}
)";
  std::unique_ptr<Graph> g = parseText(text);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(opAt(*g, 0).constantHandle, "small");
  // Small blob constants print inline; big inline ones go to a blob with a
  // generated handle.
  std::string blobForm = R"(graph @g() -> (a: f32[2], b: f32[20]) {
  %a = constant dense<[1.0, 2.0]> : f32[2]
  %b = constant @cst0 : f32[20]
  return %a, %b
}

blobs {
  @cst0 = 0x000000000000803F0000004000004040000080400000A0400000C0400000E040000000410000104100002041000030410000404100005041000060410000704100008041000088410000904100009841
}
)";
  EXPECT_EQ(printGraph(*g), blobForm);
  roundTrip(*g);

  PrintOptions inlineAll;
  inlineAll.inlineConstants = true;
  std::string inlined = printGraph(*g, inlineAll);
  EXPECT_NE(inlined.find("%b = constant dense<[0.0, 1.0, 2.0,"),
            std::string::npos);
  EXPECT_EQ(inlined.find("blobs"), std::string::npos);
  roundTrip(*g, inlineAll);

  PrintOptions elide;
  elide.elideBlobs = true;
  std::string elided = printGraph(*g, elide);
  EXPECT_NE(elided.find("%b = constant @cst0 : f32[20]"), std::string::npos);
  EXPECT_EQ(elided.find("blobs"), std::string::npos);

  PrintOptions limit0;
  limit0.inlineElementLimit = 0;
  EXPECT_NE(printGraph(*g, limit0).find("%a = constant @small : f32[2]"),
            std::string::npos);
  roundTrip(*g, limit0);
}

TEST(Printer, HandleCollisions) {
  // Two constants with one handle but different bytes, and an explicit
  // handle that looks generated: every printed handle is unique.
  GraphBuilder b("h");
  std::vector<float> ones(20, 1.0f), twos(20, 2.0f), threes(20, 3.0f);
  Value *c1 = b.constant(f32({20}, ones), "w");
  Value *c2 = b.constant(f32({20}, twos), "w");
  Value *c3 = b.constant(f32({20}, threes), "cst0");
  Value *c4 = b.constant(f32({20}, ones), "");
  Value *c5 = b.constant(f32({20}, ones), "w"); // same bytes: shares @w
  b.output("a", c1);
  b.output("b", c2);
  b.output("c", c3);
  b.output("d", c4);
  b.output("e", c5);
  absl::StatusOr<std::unique_ptr<Graph>> g = b.finish();
  ASSERT_TRUE(g.ok()) << g.status();
  std::string text = roundTrip(**g);
  EXPECT_NE(text.find("constant @w : f32[20]\n  %1 = constant @cst1 : f32[20]\n"
                      "  %2 = constant @cst0 : f32[20]\n"
                      "  %3 = constant @cst2 : f32[20]\n"
                      "  %4 = constant @w : f32[20]\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '@'), 1 + 5 + 4) << text;
}

TEST(Printer, BuilderGraphAndDefaults) {
  GraphBuilder b("built");
  Value *x = b.input("x", {DType::F32, {1, 3, 8, 8}});
  Value *w = b.constant(f32({2, 3, 1, 1}, {1, 2, 3, 4, 5, 6}), "conv.w");
  // Attributes equal to their defaults are left out; others are sorted.
  absl::StatusOr<Value *> conv =
      b.conv2d({x, w, nullptr},
               {{"strides", std::vector<int64_t>{1, 1}},
                {"pads", std::vector<int64_t>{0, 0, 0, 0}},
                {"groups", int64_t{1}}});
  ASSERT_TRUE(conv.ok()) << conv.status();
  absl::StatusOr<Value *> sm =
      b.softmax({*conv}, {{"axis", int64_t{1}}});
  ASSERT_TRUE(sm.ok()) << sm.status();
  (*sm)->name = "probs";
  absl::StatusOr<Value *> lr = b.leakyRelu({*sm}, {{"alpha", int64_t{1}}});
  ASSERT_TRUE(lr.ok()) << lr.status();
  b.output("y", *lr);
  absl::StatusOr<std::unique_ptr<Graph>> g = b.finish();
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(roundTrip(**g), R"(graph @built(%x: f32[1,3,8,8]) -> (y: f32[1,2,8,8]) {
  %0 = constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]> : f32[2,3,1,1]
  %1 = conv2d %x, %0 : f32[1,2,8,8]
  %probs = softmax %1 {axis = 1} : f32[1,2,8,8]
  %2 = leaky_relu %probs {alpha = 1.0} : f32[1,2,8,8]
  return %2
}
)");
}

TEST(Printer, NamesFollowThePrintingRules) {
  // Inputs keep their names (even numbers); unnamed, numeric and colliding
  // result names are numbered in order, skipping the numbers inputs use.
  Graph g("names");
  Value *in0 = g.addInput("1", {DType::F32, {2}});
  Value *in1 = g.addInput("a b", {DType::F32, {2}});
  Op *r0 = g.appendOp(OpKind::Relu, {in0}, {}, {{DType::F32, {2}}});
  Op *r1 = g.appendOp(OpKind::Relu, {r0->result()}, {}, {{DType::F32, {2}}});
  r1->result()->name = "7";
  Op *r2 = g.appendOp(OpKind::Relu, {r1->result()}, {}, {{DType::F32, {2}}});
  r2->result()->name = "a b"; // collides with an input
  Op *r3 = g.appendOp(OpKind::Relu, {in1}, {}, {{DType::F32, {2}}});
  r3->result()->name = "x.y$-z";
  Op *r4 = g.appendOp(OpKind::Relu, {r3->result()}, {}, {{DType::F32, {2}}});
  r4->result()->name = "x.y$-z"; // collides with an earlier result
  g.addOutput("out one", r2->result());
  g.addOutput("output1", r4->result());
  ASSERT_TRUE(verify(g).ok()) << verify(g);
  EXPECT_EQ(roundTrip(g),
            R"(graph @names(%1: f32[2], %"a b": f32[2]) -> ("out one": f32[2], output1: f32[2]) {
  %0 = relu %1 : f32[2]
  %2 = relu %0 : f32[2]
  %3 = relu %2 : f32[2]
  %x.y$-z = relu %"a b" : f32[2]
  %4 = relu %x.y$-z : f32[2]
  return %3, %4
}
)");
}

TEST(Printer, TrailingNoneOperandsAreLeftOut) {
  Graph g("t");
  Value *x = g.addInput("x", {DType::F32, {2, 3}});
  Value *w = g.addInput("w", {DType::F32, {4, 3}});
  Attributes attrs;
  normalizeAttributes(opInfo(OpKind::Linear), attrs);
  Op *op = g.appendOp(OpKind::Linear, {x, w, nullptr}, attrs,
                      {{DType::F32, {2, 4}}});
  g.addOutput("output0", op->result());
  EXPECT_EQ(roundTrip(g), "graph @t(%x: f32[2,3], %w: f32[4,3]) -> f32[2,4] {\n"
                          "  %0 = linear %x, %w : f32[2,4]\n"
                          "  return %0\n}\n");
}

TEST(Printer, StringsWithAnyBytesPrintAsText) {
  Graph g(std::string("g\xff", 2));
  Value *x = g.addInput(std::string("\0\n\"\\\xc3\xa9", 6), {DType::F32, {2}});
  Attributes attrs{{"approximate", std::string("\x01\xff\"")}};
  Op *op = g.appendOp(OpKind::Gelu, {x}, attrs, {{DType::F32, {2}}});
  g.addOutput(std::string("o\x7f", 2), op->result());
  std::string text = printGraph(g);
  int line, col;
  EXPECT_EQ(checkIsText(text, line, col), "") << text;
  ParseOptions options;
  options.verify = false; // "approximate" has a value gelu does not take
  DiagnosticEngine diags;
  std::unique_ptr<Graph> back = parseGraph(text, options, diags);
  ASSERT_NE(back, nullptr) << diags.str();
  EXPECT_EQ(back->name, g.name);
  EXPECT_EQ(back->inputs()[0]->name, x->name);
  EXPECT_EQ(opAt(*back, 0).attrs, attrs);
  EXPECT_EQ(back->outputs()[0].name, g.outputs()[0].name);
  EXPECT_EQ(printGraph(*back), text);
}

//===----------------------------------------------------------------------===//
// Bit-exact floats
//===----------------------------------------------------------------------===//

/// Builds a graph whose one constant holds `bits` as `dtype`, prints it
/// inline, parses it back and returns the bytes.
template <class T>
std::vector<T> throughText(DType dtype, const std::vector<T> &bits) {
  GraphBuilder b("bits");
  Value *c = b.constant(makeTensor(TensorType(dtype, {static_cast<int64_t>(
                                                         bits.size())}),
                                   bits.data()));
  b.output("out", c);
  absl::StatusOr<std::unique_ptr<Graph>> g = b.finish();
  EXPECT_TRUE(g.ok()) << g.status();
  PrintOptions options;
  options.inlineConstants = true;
  std::string text = printGraph(**g, options);
  std::unique_ptr<Graph> back = parseText(text);
  if (!back)
    return {};
  EXPECT_EQ(printGraph(*back, options), text);
  const Tensor *t = opAt(*back, 0).constantValue();
  const T *p = t->dataAs<T>();
  return std::vector<T>(p, p + t->numElements());
}

TEST(Printer, EveryHalfValueRoundTrips) {
  for (DType dtype : {DType::F16, DType::BF16}) {
    std::vector<uint16_t> all(65536);
    for (int i = 0; i < 65536; ++i)
      all[i] = static_cast<uint16_t>(i);
    std::vector<uint16_t> back = throughText(dtype, all);
    ASSERT_EQ(back.size(), all.size());
    int mismatches = 0;
    for (int i = 0; i < 65536; ++i) {
      float f = dtype == DType::F16 ? halfToFloat(all[i])
                                    : bfloat16ToFloat(all[i]);
      if (std::isnan(f)) // payloads need not round-trip, NaN-ness must
        mismatches += !std::isnan(dtype == DType::F16
                                      ? halfToFloat(back[i])
                                      : bfloat16ToFloat(back[i]));
      else
        mismatches += back[i] != all[i];
    }
    EXPECT_EQ(mismatches, 0) << dtypeName(dtype);
  }
}

TEST(Printer, RandomFloatBitsRoundTrip) {
  std::mt19937 rng(7);
  std::vector<float> values;
  for (int i = 0; i < 50000; ++i)
    values.push_back(std::bit_cast<float>(static_cast<uint32_t>(rng())));
  for (float special : {0.0f, -0.0f, std::numeric_limits<float>::max(),
                        std::numeric_limits<float>::lowest(),
                        std::numeric_limits<float>::min(),
                        std::numeric_limits<float>::denorm_min(),
                        -std::numeric_limits<float>::denorm_min(),
                        std::numeric_limits<float>::epsilon(), 0.1f, 1e-5f,
                        16777216.0f, 1e10f})
    values.push_back(special);
  std::vector<float> back = throughText(DType::F32, values);
  ASSERT_EQ(back.size(), values.size());
  int mismatches = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    if (std::isnan(values[i]))
      mismatches += !std::isnan(back[i]);
    else
      mismatches += std::bit_cast<uint32_t>(back[i]) !=
                    std::bit_cast<uint32_t>(values[i]);
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(Printer, FloatAttributesRoundTrip) {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 2000; ++i) {
    double d = std::bit_cast<double>(static_cast<uint64_t>(rng()));
    if (std::isnan(d))
      continue;
    Graph g("f");
    Value *x = g.addInput("x", {DType::F32, {2}});
    Attributes attrs{{"alpha", d}};
    Op *op = g.appendOp(OpKind::LeakyRelu, {x}, attrs, {{DType::F32, {2}}});
    g.addOutput("output0", op->result());
    std::unique_ptr<Graph> back = parseText(printGraph(g));
    ASSERT_NE(back, nullptr);
    EXPECT_EQ(std::bit_cast<uint64_t>(opAt(*back, 0).attrs.getFloat("alpha")),
              std::bit_cast<uint64_t>(d));
  }
}

} // namespace
} // namespace tcpu

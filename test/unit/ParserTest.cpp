//===- ParserTest.cpp - The lexer and parser of the text form -------------===//
//
// What each syntax feature parses to; every error with its exact message and
// line:col; and robustness: every truncation and thousands of byte flips of
// valid inputs must give a graph or diagnostics, never a crash or a hang.
//
//===----------------------------------------------------------------------===//
#include "ir/Lexer.h"
#include "ir/Parser.h"
#include "ir/Printer.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

namespace tcpu {
namespace {

struct Parsed {
  std::unique_ptr<Graph> graph;
  std::string diags;
  bool hasErrors = false;
};

Parsed parse(std::string_view text, bool verify = false, int lineOffset = 0) {
  ParseOptions options;
  options.bufferName = "t.tir";
  options.verify = verify;
  options.lineOffset = lineOffset;
  DiagnosticEngine diags;
  Parsed p;
  p.graph = parseGraph(text, options, diags);
  p.diags = diags.str();
  p.hasErrors = diags.hasErrors();
  return p;
}

/// The diagnostics of a text that must fail to parse.
std::string errors(std::string_view text, bool verify = false) {
  Parsed p = parse(text, verify);
  EXPECT_EQ(p.graph, nullptr) << "parsed although errors were expected";
  EXPECT_TRUE(p.hasErrors);
  return p.diags;
}

std::unique_ptr<Graph> parseOk(std::string_view text, bool verify = false) {
  Parsed p = parse(text, verify);
  EXPECT_NE(p.graph, nullptr) << p.diags;
  EXPECT_EQ(p.diags, "");
  return std::move(p.graph);
}

const Op &opAt(const Graph &g, size_t i) {
  auto it = g.ops().begin();
  std::advance(it, i);
  return **it;
}

//===----------------------------------------------------------------------===//
// Lexer
//===----------------------------------------------------------------------===//

std::vector<Token> lexAll(std::string_view text) {
  Lexer lex(text);
  std::vector<Token> toks;
  while (true) {
    toks.push_back(lex.next());
    if (toks.back().is(TokenKind::Eof) || toks.back().is(TokenKind::Error))
      return toks;
  }
}

TEST(Lexer, TokenKindsAndPositions) {
  auto toks = lexAll("graph @g(%x: f32[1,2]<nchw8c>) -> {\n"
                     "  // comment\n"
                     "\t%a.b$-1 = op -3, 4.5, 1e-05, -inf, inf, \"s\\n\", 0xAB0f\n"
                     "}");
  std::vector<TokenKind> kinds;
  for (const Token &t : toks)
    kinds.push_back(t.kind);
  using K = TokenKind;
  std::vector<TokenKind> expected = {
      K::Identifier, K::Symbol,   K::LParen,   K::ValueName, K::Colon,
      K::Identifier, K::LBracket, K::Integer,  K::Comma,     K::Integer,
      K::RBracket,   K::Less,     K::Identifier, K::Greater, K::RParen,
      K::Arrow,      K::LBrace,   K::ValueName, K::Equal,    K::Identifier,
      K::Integer,    K::Comma,    K::Float,    K::Comma,     K::Float,
      K::Comma,      K::Float,    K::Comma,    K::Identifier, K::Comma,
      K::String,     K::Comma,    K::HexBlob,  K::RBrace,    K::Eof};
  EXPECT_EQ(kinds, expected);
  EXPECT_EQ(toks[1].text, "g");
  EXPECT_EQ(toks[3].text, "x");
  EXPECT_EQ(toks[17].text, "a.b$-1");
  EXPECT_EQ(toks[17].line, 3);
  EXPECT_EQ(toks[17].col, 2); // a tab is one byte
  EXPECT_EQ(toks[20].spelling, "-3");
  EXPECT_EQ(toks[30].text, "s\n");
  EXPECT_EQ(toks[32].spelling, "0xAB0f");
  EXPECT_EQ(toks.back().line, 4);
  EXPECT_EQ(toks.back().col, 2);
}

TEST(Lexer, QuotedNamesAndEscapes) {
  auto toks = lexAll(R"(%"a b" @"x\22y\\z\t" "\00\ff")");
  ASSERT_EQ(toks.size(), 4u);
  EXPECT_EQ(toks[0].text, "a b");
  EXPECT_EQ(toks[1].text, "x\"y\\z\t");
  EXPECT_EQ(toks[2].text, std::string("\0\xff", 2));
}

TEST(Lexer, Errors) {
  struct Case {
    const char *text;
    const char *message;
    int line, col;
  } cases[] = {
      {"\"abc", "unterminated string", 1, 1},
      {"x \"ab\ncd\"", "unterminated string", 1, 3},
      {"\"a\\qb\"", "invalid escape sequence '\\q' in string", 1, 3},
      {"%", "expected a name after '%'", 1, 1},
      {"@ x", "expected a name after '@'", 1, 1},
      {"0x123", "hex blob has an odd number of digits", 1, 1},
      {"0x12g", "invalid hex digit 'g' in hex blob", 1, 5},
      {"12abc", "invalid character 'a' in a number", 1, 3},
      {"1.2.3", "invalid character '.' in a number", 1, 4},
      {"1e+", "expected digits in the exponent of a number", 1, 2},
      {"- 1", "unexpected character '-'", 1, 1},
      {"  #", "unexpected character '#'", 1, 3},
      {"/x", "unexpected character '/'", 1, 1},
      {"\x01", "unexpected character 0x01", 1, 1},
      {"\xc3\xa9", "unexpected character '\xc3\xa9'", 1, 1},
  };
  for (const Case &c : cases) {
    auto toks = lexAll(c.text);
    const Token &t = toks.back();
    EXPECT_EQ(t.kind, TokenKind::Error) << c.text;
    EXPECT_EQ(t.text, c.message) << c.text;
    EXPECT_EQ(t.line, c.line) << c.text;
    EXPECT_EQ(t.col, c.col) << c.text;
  }
}

TEST(Lexer, NeverReadsPastTheEnd) {
  // Each prefix of a token-rich text is lexed from a separate heap copy, so
  // that ASan catches any read past the end.
  std::string text = "graph @\"q\\41\" %x: -inf 1.5e-3 0xAB \"s\\t\" // c\n->";
  for (size_t n = 0; n <= text.size(); ++n) {
    auto copy = std::make_unique<char[]>(n);
    std::memcpy(copy.get(), text.data(), n);
    lexAll(std::string_view(copy.get(), n));
  }
}

TEST(Lexer, NameSpelling) {
  EXPECT_EQ(formatName('%', "x.1$-a"), "%x.1$-a");
  EXPECT_EQ(formatName('%', "a b"), "%\"a b\"");
  EXPECT_EQ(formatName('@', ""), "@\"\"");
  EXPECT_EQ(formatName('%', "q\"\\\n"), "%\"q\\\"\\\\\\0a\"");
  // Valid UTF-8 stays as is; other bytes are escaped.
  EXPECT_EQ(quoteString("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
  EXPECT_EQ(quoteString("\xff\xc3"), "\"\\ff\\c3\"");
  EXPECT_TRUE(isBareIdentifier("out_1.x"));
  EXPECT_FALSE(isBareIdentifier("1x"));
  EXPECT_FALSE(isBareIdentifier("a-b"));
}

//===----------------------------------------------------------------------===//
// checkIsText
//===----------------------------------------------------------------------===//

TEST(CheckIsText, AcceptsTextAndLocatesBadBytes) {
  int line, col;
  EXPECT_EQ(checkIsText("ab\ncd \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", line,
                        col),
            "");
  struct Case {
    std::string text;
    std::string why;
    int line, col;
  } cases[] = {
      {std::string("ab\ncd\0", 6), "NUL byte", 2, 3},
      {"x\xff", "invalid UTF-8 byte 0xff", 1, 2},
      {"\n\n  \x80", "invalid UTF-8 byte 0x80", 3, 3},
      {"\xc3(", "invalid UTF-8 byte 0xc3", 1, 1},          // bad continuation
      {"ok \xc3", "invalid UTF-8 byte 0xc3", 1, 4},         // cut at the end
      {"\xc0\x80", "invalid UTF-8 byte 0xc0", 1, 1},        // overlong
      {"\xe0\x80\x80", "invalid UTF-8 byte 0xe0", 1, 1},    // overlong
      {"\xed\xa0\x80", "invalid UTF-8 byte 0xed", 1, 1},    // surrogate
      {"\xf4\x90\x80\x80", "invalid UTF-8 byte 0xf4", 1, 1}, // > U+10FFFF
      {"\xc3\xa9\xf5", "invalid UTF-8 byte 0xf5", 1, 3},
  };
  for (const Case &c : cases) {
    EXPECT_EQ(checkIsText(c.text, line, col), c.why);
    EXPECT_EQ(line, c.line);
    EXPECT_EQ(col, c.col);
  }
}

TEST(ParserErrors, NotText) {
  EXPECT_EQ(errors("graph @g() -> f32[] {\n  %0 = \xff"),
            "t.tir:2:8: error: input is not text: invalid UTF-8 byte 0xff\n");
  EXPECT_EQ(errors(std::string("graph\0", 6)),
            "t.tir:1:6: error: input is not text: NUL byte\n");
}

//===----------------------------------------------------------------------===//
// What the syntax parses to
//===----------------------------------------------------------------------===//

TEST(Parser, SimpleGraph) {
  auto g = parseOk(R"(// leading comment
graph @mlp(%x: f32[8,64], %w: f32[64,32], %b: f32[32]) -> f32[8,32] {
  %0 = matmul %x, %w : f32[8,32]   // trailing comment
  %1 = add %0, %b : f32[8,32]
  %out = relu %1 : f32[8,32]
  return %out
}
)",
                   /*verify=*/true);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->name, "mlp");
  EXPECT_EQ(g->loc.str(), "t.tir:2:1");
  ASSERT_EQ(g->inputs().size(), 3u);
  EXPECT_EQ(g->inputs()[0]->name, "x");
  EXPECT_EQ(g->inputs()[1]->type, TensorType(DType::F32, {64, 32}));
  ASSERT_EQ(g->ops().size(), 3u);
  const Op &mm = opAt(*g, 0);
  EXPECT_EQ(mm.kind(), OpKind::Matmul);
  EXPECT_EQ(mm.loc.str(), "t.tir:3:8");
  EXPECT_EQ(mm.operands[0], g->inputs()[0]);
  EXPECT_EQ(mm.operands[1], g->inputs()[1]);
  EXPECT_EQ(mm.result()->name, "0");
  const Op &add = opAt(*g, 1);
  EXPECT_EQ(add.operands[0], mm.result());
  EXPECT_EQ(opAt(*g, 2).result()->name, "out");
  ASSERT_EQ(g->outputs().size(), 1u);
  EXPECT_EQ(g->outputs()[0].name, "output0");
  EXPECT_EQ(g->outputs()[0].value, opAt(*g, 2).result());
}

TEST(Parser, OutputForms) {
  auto g = parseOk(R"(graph @g(%x: f32[2]) -> (logits: f32[2], "out.1 x": f32[2], f32: f32[2]) {
  return %x, %x, %x
})");
  ASSERT_NE(g, nullptr);
  ASSERT_EQ(g->outputs().size(), 3u);
  EXPECT_EQ(g->outputs()[0].name, "logits");
  EXPECT_EQ(g->outputs()[1].name, "out.1 x");
  EXPECT_EQ(g->outputs()[2].name, "f32");

  g = parseOk("graph @g(%x: f32[2]) -> (f32[2], i64[]) {\n"
              "  %n = constant dense<3> : i64[]\n  return %x, %n\n}");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->outputs()[0].name, "output0");
  EXPECT_EQ(g->outputs()[1].name, "output1");

  g = parseOk("graph @g() -> () {\n  return\n}");
  ASSERT_NE(g, nullptr);
  EXPECT_TRUE(g->outputs().empty());
  EXPECT_TRUE(g->inputs().empty());
}

TEST(Parser, MultiResultAndNoneOperands) {
  auto g = parseOk(R"(graph @rnn(%x: f32[5,2,4], %w: f32[1,12,4], %r: f32[1,12,3], %h0: f32[1,2,3]) -> (y: f32[5,1,2,3], h: f32[1,2,3], c: f32[1,2,3]) {
  %y, %h, %c = lstm %x, %w, %r, none, %h0 {hidden_size = 3} : f32[5,1,2,3], f32[1,2,3], f32[1,2,3]
  return %y, %h, %c
}
)",
                   /*verify=*/true);
  ASSERT_NE(g, nullptr);
  const Op &lstm = opAt(*g, 0);
  EXPECT_EQ(lstm.kind(), OpKind::Lstm);
  ASSERT_EQ(lstm.operands.size(), 5u);
  EXPECT_EQ(lstm.operands[3], nullptr);
  EXPECT_EQ(lstm.operands[4], g->inputs()[3]);
  ASSERT_EQ(lstm.numResults(), 3u);
  EXPECT_EQ(lstm.result(1)->name, "h");
  EXPECT_EQ(lstm.result(2)->type, TensorType(DType::F32, {1, 2, 3}));
  // Defaults are filled in.
  EXPECT_EQ(lstm.attrs.getString("direction"), "forward");
  EXPECT_EQ(lstm.attrs.getInt("hidden_size"), 3);
  EXPECT_EQ(lstm.attrs.getInt("input_forget", -1), 0);
  EXPECT_FALSE(lstm.attrs.has("clip")); // optional without default
  EXPECT_EQ(g->outputs()[2].value, lstm.result(2));
}

TEST(Parser, AttributeKinds) {
  auto g = parseOk(R"(graph @g(%x: f32[2,3]) -> (a: f32[2,3], b: f32[3,2], c: i32[2,3], d: f32[2,3], e: f32[2,3], f: f32[2,3], g: f32[2,3]) {
  %a = leaky_relu %x {alpha = 2} : f32[2,3]
  %b = transpose %x {perm = [1, 0]} : f32[3,2]
  %c = cast %x {to = i32} : i32[2,3]
  %d = gelu %x {approximate = "t\61nh"} : f32[2,3]
  %e = clip %x {max = inf, min = -inf} : f32[2,3]
  %f = clip %x {min = -1.5e-3} : f32[2,3]
  %g = clip %x {min = nan} : f32[2,3]
  return %a, %b, %c, %d, %e, %f, %g
}
)");
  ASSERT_NE(g, nullptr);
  // An integer for a float attribute becomes a float.
  const AttrValue *alpha = opAt(*g, 0).attrs.get("alpha");
  ASSERT_NE(alpha, nullptr);
  EXPECT_EQ(std::get<double>(*alpha), 2.0);
  EXPECT_EQ(opAt(*g, 1).attrs.getInts("perm"), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(opAt(*g, 2).attrs.getDType("to"), DType::I32);
  EXPECT_EQ(opAt(*g, 3).attrs.getString("approximate"), "tanh");
  EXPECT_EQ(opAt(*g, 4).attrs.getFloat("max"), INFINITY);
  EXPECT_EQ(opAt(*g, 4).attrs.getFloat("min"), -INFINITY);
  EXPECT_EQ(opAt(*g, 5).attrs.getFloat("min"), -1.5e-3);
  EXPECT_FALSE(opAt(*g, 5).attrs.has("max"));
  EXPECT_TRUE(std::isnan(opAt(*g, 6).attrs.getFloat("min")));

  auto e = parseOk("graph @g(%x: f32[2,3]) -> f32[2,3] {\n"
                   "  %0 = squeeze %x {axes = []} : f32[2,3]\n  return %0\n}");
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(opAt(*e, 0).attrs.getInts("axes", {7}).empty());
  // Attribute dictionaries may be empty, and ops may have no operands.
  auto c = parseOk("graph @g() -> f32[2] {\n"
                   "  %0 = concat {axis = 0} : f32[2]\n  return %0\n}");
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(opAt(*c, 0).operands.empty());
  auto r = parseOk("graph @g(%x: f32[2]) -> f32[2] {\n"
                   "  %0 = relu %x {} : f32[2]\n  return %0\n}");
  ASSERT_NE(r, nullptr);
}

TEST(Parser, QuotedNamesLayoutsAndScalars) {
  auto g = parseOk(R"(graph @"my graph"(%"in put": f32[1,8,4,4]<nchw8c>, %s: i64[]) -> ("y\22": f32[1,8,4,4]<nchw8c>) {
  %"a\tb" = relu %"in put" : f32[1,8,4,4]<nchw8c>
  return %"a\tb"
}
)");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->name, "my graph");
  EXPECT_EQ(g->inputs()[0]->name, "in put");
  EXPECT_EQ(g->inputs()[0]->type.layout, "nchw8c");
  EXPECT_EQ(g->inputs()[1]->type, TensorType(DType::I64, {}));
  EXPECT_EQ(opAt(*g, 0).result()->name, "a\tb");
  EXPECT_EQ(g->outputs()[0].name, "y\"");
}

TEST(Parser, ShortOutputAfterStringIsAType) {
  // `-> "name": T` is not the short form; a string must have a name form
  // inside parentheses, so this is a syntax error.
  EXPECT_EQ(errors("graph @g(%x: f32[2]) -> \"y\": f32[2] {\n  return %x\n}"),
            "t.tir:1:25: error: expected a type, got '\"y\"'\n");
}

TEST(Parser, DenseConstantsOfEveryDType) {
  auto g = parseOk(R"(graph @c() -> (a: f32[4], b: f16[3], c: bf16[2], d: i8[3], e: u8[2], f: i32[2], g: i64[2], h: bool[3], s: f32[], t: f32[2,2], z: f32[0], n: f32[3]) {
  %a = constant dense<[1.0, -2.5, 0, 3e2]> : f32[4]
  %b = constant dense<[0.5, 1, -65504.0]> : f16[3]
  %c = constant dense<[1.0, -0.125]> : bf16[2]
  %d = constant dense<[-128, 0, 127]> : i8[3]
  %e = constant dense<[0, 255]> : u8[2]
  %f = constant dense<[-2147483648, 2147483647]> : i32[2]
  %g = constant dense<[-9223372036854775808, 9223372036854775807]> : i64[2]
  %h = constant dense<[true, false, true]> : bool[3]
  %s = constant dense<3.5> : f32[]
  %t = constant dense<-0.0> : f32[2,2]
  %z = constant dense<[]> : f32[0]
  %n = constant dense<[inf, -inf, nan]> : f32[3]
  return %a, %b, %c, %d, %e, %f, %g, %h, %s, %t, %z, %n
}
)",
                   /*verify=*/true);
  ASSERT_NE(g, nullptr);
  auto value = [&](size_t i) -> const Tensor & {
    const Tensor *t = opAt(*g, i).constantValue();
    EXPECT_NE(t, nullptr);
    return *t;
  };
  EXPECT_EQ(value(0).dataAs<float>()[1], -2.5f);
  EXPECT_EQ(value(0).dataAs<float>()[3], 300.0f);
  EXPECT_EQ(value(1).dataAs<uint16_t>()[2], 0xfbff); // -65504 in f16
  EXPECT_EQ(value(1).elementAsDouble(1), 1.0);
  EXPECT_EQ(value(2).elementAsDouble(1), -0.125);
  EXPECT_EQ(value(3).dataAs<int8_t>()[0], -128);
  EXPECT_EQ(value(4).dataAs<uint8_t>()[1], 255);
  EXPECT_EQ(value(5).dataAs<int32_t>()[0], INT32_MIN);
  EXPECT_EQ(value(6).dataAs<int64_t>()[0], INT64_MIN);
  EXPECT_EQ(value(6).dataAs<int64_t>()[1], INT64_MAX);
  EXPECT_EQ(value(7).dataAs<uint8_t>()[0], 1);
  EXPECT_EQ(value(7).dataAs<uint8_t>()[1], 0);
  EXPECT_EQ(value(8).rank(), 0);
  EXPECT_EQ(value(8).dataAs<float>()[0], 3.5f);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(std::bit_cast<uint32_t>(value(9).dataAs<float>()[i]),
              0x80000000u);
  EXPECT_EQ(value(10).numElements(), 0);
  EXPECT_EQ(value(11).dataAs<float>()[0], INFINITY);
  EXPECT_EQ(value(11).dataAs<float>()[1], -INFINITY);
  EXPECT_TRUE(std::isnan(value(11).dataAs<float>()[2]));
  EXPECT_EQ(opAt(*g, 0).constantHandle, "");
}

TEST(Parser, FloatLiteralsAreCorrectlyRounded) {
  // Parsed as f32 directly (not via double): 16777217 rounds to even, and
  // the shortest forms of the extreme floats read back exactly.
  auto g = parseOk("graph @g() -> f32[5] {\n  %0 = constant dense<[16777217, "
                   "3.4028235e+38, 1e-45, 1.1754944e-38, 0.1]> : f32[5]\n"
                   "  return %0\n}");
  ASSERT_NE(g, nullptr);
  const float *f = opAt(*g, 0).constantValue()->dataAs<float>();
  EXPECT_EQ(f[0], 16777216.0f);
  EXPECT_EQ(f[1], std::numeric_limits<float>::max());
  EXPECT_EQ(f[2], std::numeric_limits<float>::denorm_min());
  EXPECT_EQ(f[3], std::numeric_limits<float>::min());
  EXPECT_EQ(f[4], 0.1f);
}

TEST(Parser, BlobsBeforeAndAfterAndShared) {
  auto g = parseOk(R"(blobs {
  @"a handle" = 0x0000803F00000040
}

graph @g() -> (w: f32[2], i: i32[3], j: i32[3], e: u8[0]) {
  %w = constant @"a handle" : f32[2]
  %i = constant @ints : i32[3]
  %j = constant @ints : i32[3]
  %e = constant @empty : u8[0]
  return %w, %i, %j, %e
}

blobs {
  @ints = 0x01000000ffffffff07000000
  @unused = 0x00
}
blobs {
  @empty = 0x
}
)",
                   /*verify=*/true);
  ASSERT_NE(g, nullptr);
  const Op &w = opAt(*g, 0);
  EXPECT_EQ(w.constantHandle, "a handle");
  EXPECT_EQ(w.constantValue()->dataAs<float>()[0], 1.0f);
  EXPECT_EQ(w.constantValue()->dataAs<float>()[1], 2.0f);
  const Tensor &i = *opAt(*g, 1).constantValue();
  EXPECT_EQ(i.dataAs<int32_t>()[1], -1);
  EXPECT_EQ(i.dataAs<int32_t>()[2], 7);
  // Both users of one blob see the same bytes (aliasing one buffer).
  EXPECT_EQ(opAt(*g, 2).constantValue()->data(), i.data());
  EXPECT_EQ(opAt(*g, 3).constantValue()->numElements(), 0);
  EXPECT_TRUE(opAt(*g, 3).constantValue()->valid());
}

TEST(Parser, LineOffsetShiftsEveryLocation) {
  Parsed p = parse("graph @g(%x: f32[2]) -> f32[2] {\n"
                   "  %0 = nope %x : f32[2]\n  return %0\n}",
                   false, 10);
  EXPECT_EQ(p.diags, "t.tir:12:8: error: unknown op 'nope'\n");
  Parsed q = parse("graph @g(%x: f32[2]) -> f32[2] {\n"
                   "  return %x\n}",
                   false, 4);
  ASSERT_NE(q.graph, nullptr);
  EXPECT_EQ(q.graph->loc.str(), "t.tir:5:1");
}

TEST(Parser, VerifierRunsWhenAsked) {
  const char *text = "graph @g(%x: f32[4]) -> f32[3] {\n"
                     "  %0 = relu %x : f32[3]\n  return %0\n}";
  EXPECT_NE(parse(text, /*verify=*/false).graph, nullptr);
  EXPECT_EQ(errors(text, /*verify=*/true),
            "t.tir:2:8: error: 'relu' result type f32[3] does not match the "
            "inferred type f32[4]\n");
}

TEST(Parser, ConvenienceOverloads) {
  absl::StatusOr<std::unique_ptr<Graph>> g =
      parseGraph("graph @g(%x: f32[2]) -> f32[2] {\n  return %x\n}", "a.tir");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ((*g)->name, "g");

  absl::StatusOr<std::unique_ptr<Graph>> bad = parseGraph(
      "graph @g(%x: f32[2]) -> f32[2] {\n  %0 = foo %x : f32[2]\n"
      "  %1 = bar %0 : f32[2]\n  return %1\n}",
      "b.tir");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(bad.status().message()),
            "b.tir:2:8: error: unknown op 'foo'\n"
            "b.tir:3:8: error: unknown op 'bar'");
}

TEST(Parser, ParseGraphFile) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("tcpu-parser-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "g.tir").string();
  {
    std::ofstream out(path, std::ios::binary);
    out << "graph @file(%x: f32[2]) -> f32[2] {\n  %0 = nope %x : f32[2]\n"
           "  return %0\n}\n";
  }
  absl::StatusOr<std::unique_ptr<Graph>> g = parseGraphFile(path);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(std::string(g.status().message()),
            path + ":2:8: error: unknown op 'nope'");
  {
    std::ofstream out(path, std::ios::binary);
    out << "graph @file(%x: f32[2]) -> f32[2] {\n  return %x\n}\n";
  }
  g = parseGraphFile(path);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ((*g)->name, "file");

  std::string missing = (dir / "missing.tir").string();
  g = parseGraphFile(missing);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(g.status().message()).find(missing), std::string::npos);

  g = parseGraphFile(dir.string());
  ASSERT_FALSE(g.ok());
  EXPECT_NE(std::string(g.status().message()).find("is a directory"),
            std::string::npos);
  std::filesystem::remove_all(dir);
}

//===----------------------------------------------------------------------===//
// Errors: exact messages and positions
//===----------------------------------------------------------------------===//

std::string inGraph(std::string body) {
  return "graph @g(%x: f32[2]) -> f32[2] {\n" + body + "}\n";
}

TEST(ParserErrors, SyntaxErrorsStopAtTheFirst) {
  struct Case {
    std::string text;
    std::string diag;
  } cases[] = {
      {"", "t.tir:1:1: error: unexpected end of input, expected 'graph'"},
      {"// only a comment\n",
       "t.tir:2:1: error: unexpected end of input, expected 'graph'"},
      {"grph @g", "t.tir:1:1: error: expected 'graph', got 'grph'"},
      {"graph g()", "t.tir:1:7: error: expected a graph name '@name', got 'g'"},
      {"graph @g(%x f32[2])", "t.tir:1:13: error: expected ':', got 'f32'"},
      {"graph @g(%x: f32[2] %y: f32[2])",
       "t.tir:1:21: error: expected ',' or ')', got '%y'"},
      {"graph @g() f32[2]", "t.tir:1:12: error: expected '->', got 'f32'"},
      {"graph @g() -> f32[2] {\n  %0 = relu %x f32[2]\n",
       "t.tir:2:16: error: expected ':', got 'f32'"},
      {inGraph("  %0 = relu %x : f32[2] garbage\n  return %0\n"),
       "t.tir:2:25: error: expected '%value = ...' or 'return', got 'garbage'"},
      {inGraph("  %0 = relu %x : f32[2]\n"),
       "t.tir:3:1: error: missing return at the end of the graph"},
      {inGraph("  %0 relu %x : f32[2]\n"),
       "t.tir:2:6: error: expected '=' or ',', got 'relu'"},
      {inGraph("  %0 = %x : f32[2]\n"),
       "t.tir:2:8: error: expected an op name, got '%x'"},
      {inGraph("  %0 = relu %x, : f32[2]\n"),
       "t.tir:2:17: error: expected an operand '%name' or 'none', got ':'"},
      {inGraph("  %0 = softmax %x {axis = } : f32[2]\n"),
       "t.tir:2:27: error: expected an attribute value, got '}'"},
      {inGraph("  %0 = softmax %x {axis 1} : f32[2]\n"),
       "t.tir:2:25: error: expected '=', got '1'"},
      {inGraph("  %0 = softmax %x {1 = 1} : f32[2]\n"),
       "t.tir:2:20: error: expected an attribute name, got '1'"},
      {inGraph("  %0 = transpose %x {perm = [1, 0} : f32[2]\n"),
       "t.tir:2:34: error: expected ',' or ']', got '}'"},
      {inGraph("  %0 = transpose %x {perm = [1, 0]] : f32[2]\n"),
       "t.tir:2:35: error: expected ',' or '}', got ']'"},
      {inGraph("  %0 = transpose %x {perm = [[1]]} : f32[2]\n"),
       "t.tir:2:30: error: expected an integer, got '['"},
      {inGraph("  %0 = relu %x : f32\n"),
       "t.tir:3:1: error: expected '[', got '}'"},
      {inGraph("  %0 = relu %x : f32[2\n"),
       "t.tir:3:1: error: expected ',' or ']', got '}'"},
      {inGraph("  %0 = relu %x : f32[a]\n"),
       "t.tir:2:22: error: expected a dimension, got 'a'"},
      {inGraph("  %0 = relu %x : f32[2]<>\n"),
       "t.tir:2:25: error: expected a layout tag, got '>'"},
      {inGraph("  %0 = relu %x : [2]\n"),
       "t.tir:2:18: error: expected a type, got '['"},
      {inGraph("  %0 = constant %x : f32[2]\n"),
       "t.tir:2:17: error: expected '@handle' or 'dense<...>', got '%x'"},
      {inGraph("  %0 = constant dense[1] : f32[2]\n"),
       "t.tir:2:22: error: expected '<', got '['"},
      {inGraph("  %0 = constant dense<[[1]]> : f32[2]\n"),
       "t.tir:2:24: error: expected a number, 'true', 'false', 'inf' or "
       "'nan', got '['"},
      {inGraph("  %0 = constant dense<\"a\"> : f32[2]\n"),
       "t.tir:2:23: error: expected a number, 'true', 'false', 'inf' or "
       "'nan', got '\"a\"'"},
      {inGraph("  %0 = constant dense<[1, 2] : f32[2]\n"),
       "t.tir:2:30: error: expected '>', got ':'"},
      {inGraph("  %0 = gelu %x {approximate = \"a\\qb\"} : f32[2]\n"),
       "t.tir:2:33: error: invalid escape sequence '\\q' in string"},
      {inGraph("  return %x,\n"),
       "t.tir:3:1: error: expected a value '%name', got '}'"},
      {inGraph("  return %x none\n"),
       "t.tir:2:13: error: expected '}', got 'none'"},
      {inGraph("  return %x\n") + "graph @h() -> () {\n  return\n}\n",
       "t.tir:4:1: error: expected 'blobs' or the end of the input, got "
       "'graph' (one graph per buffer; see --split-input-file)"},
      {inGraph("  return %x\n") + "junk",
       "t.tir:4:1: error: expected 'blobs' or the end of the input, got "
       "'junk'"},
      {inGraph("  return %x\n") + "blobs {\n  @w = 0x123\n}\n",
       "t.tir:5:8: error: hex blob has an odd number of digits"},
      {inGraph("  return %x\n") + "blobs {\n  @w 0x12\n}\n",
       "t.tir:5:6: error: expected '=', got a hex blob"},
      {inGraph("  return %x\n") + "blobs {\n  @w = 12\n}\n",
       "t.tir:5:8: error: expected a hex blob '0x...', got '12'"},
      {inGraph("  return %x\n") + "blobs {\n  w = 0x12\n}\n",
       "t.tir:5:3: error: expected '@handle = 0x...' or '}', got 'w'"},
  };
  for (const Case &c : cases)
    EXPECT_EQ(errors(c.text), c.diag + "\n") << c.text;
}

TEST(ParserErrors, TruncatedInputReportsEndOfInput) {
  EXPECT_EQ(errors("graph @g(%x: f32[2,3]) -> f32[2,3] {\n"
                   "  %0 = relu %x : f32[2,3]\n"
                   "  %1 = softmax %0 {axis =\n"),
            "t.tir:4:1: error: unexpected end of input, expected an attribute "
            "value\n");
  EXPECT_EQ(errors("graph @g(%x: f32[2]) -> f32[2] {\n  return %x"),
            "t.tir:2:12: error: unexpected end of input, expected '}'\n");
  EXPECT_EQ(errors("graph @g(%x: f32[2]) -> f32[2] {\n  %0 = gelu %x {"
                   "approximate = \"tan"),
            "t.tir:2:31: error: unterminated string\n");
}

TEST(ParserErrors, UnknownOpAndValues) {
  EXPECT_EQ(errors(inGraph("  %0 = frobnicate %x : f32[2]\n  return %0\n")),
            "t.tir:2:8: error: unknown op 'frobnicate'\n");
  EXPECT_EQ(errors(inGraph("  %0 = add %x, %y : f32[2]\n  return %0\n")),
            "t.tir:2:16: error: use of undefined value '%y'\n");
  EXPECT_EQ(errors(inGraph("  %0 = relu %x : f32[2]\n  return %1\n")),
            "t.tir:3:10: error: use of undefined value '%1'\n");
  EXPECT_EQ(errors(inGraph("  %a = add %x, %b : f32[2]\n"
                           "  %b = relu %x : f32[2]\n  return %a\n")),
            "t.tir:2:16: error: use of undefined value '%b'\n");
  EXPECT_EQ(errors(inGraph("  %0 = relu %\"a b\" : f32[2]\n  return %0\n")),
            "t.tir:2:13: error: use of undefined value '%\"a b\"'\n");
  EXPECT_EQ(errors(inGraph("  %a = relu %x : f32[2]\n"
                           "  %a = exp %x : f32[2]\n  return %a\n")),
            "t.tir:3:3: error: redefinition of value '%a' (first defined at "
            "2:3)\n");
  EXPECT_EQ(errors(inGraph("  %x = relu %x : f32[2]\n  return %x\n")),
            "t.tir:2:3: error: redefinition of value '%x' (first defined at "
            "1:10)\n");
  EXPECT_EQ(errors("graph @g(%x: f32[2], %x: f32[3]) -> f32[2] {\n"
                   "  return %x\n}"),
            "t.tir:1:22: error: redefinition of value '%x' (first defined at "
            "1:10)\n");
  EXPECT_EQ(errors(inGraph("  %a, %a = gru %x {hidden_size = 1} : f32[2], f32[2]\n"
                           "  return %a\n")),
            "t.tir:2:7: error: redefinition of value '%a' (first defined at "
            "2:3)\n");
}

TEST(ParserErrors, Attributes) {
  EXPECT_EQ(errors(inGraph("  %0 = relu %x {alpha = 0.5} : f32[2]\n"
                           "  return %0\n")),
            "t.tir:2:8: error: 'relu' has no attribute 'alpha' (it takes "
            "none)\n");
  EXPECT_EQ(errors(inGraph("  %0 = softmax %x {dim = 1, axis = \"x\"} : "
                           "f32[2]\n  return %0\n")),
            "t.tir:2:8: error: attribute 'axis' of 'softmax' must be int, "
            "got str \"x\"\n"
            "t.tir:2:8: error: 'softmax' has no attribute 'dim' (it takes: "
            "axis)\n");
  EXPECT_EQ(errors(inGraph("  %0 = reshape %x : f32[2]\n  return %0\n")),
            "t.tir:2:8: error: 'reshape' needs attribute 'shape' (ints)\n");
  EXPECT_EQ(errors(inGraph("  %0 = softmax %x {axis = 0, axis = 1} : f32[2]\n"
                           "  return %0\n")),
            "t.tir:2:30: error: attribute 'axis' is given twice\n");
  EXPECT_EQ(errors(inGraph("  %0 = transpose %x {perm = [1.5, 0]} : f32[2]\n"
                           "  return %0\n")),
            "t.tir:2:30: error: expected an integer in an integer list, got "
            "'1.5'\n");
  EXPECT_EQ(errors(inGraph("  %0 = gelu %x {approximate = tanh} : f32[2]\n"
                           "  return %0\n")),
            "t.tir:2:31: error: invalid attribute value 'tanh' (not a dtype; "
            "strings are written in quotes)\n");
  EXPECT_EQ(errors(inGraph("  %0 = softmax %x {axis = 9223372036854775808} : "
                           "f32[2]\n  return %0\n")),
            "t.tir:2:27: error: integer literal 9223372036854775808 is out of "
            "range\n");
  EXPECT_EQ(errors(inGraph("  %0 = clip %x {min = 1e999} : f32[2]\n"
                           "  return %0\n")),
            "t.tir:2:23: error: float literal 1e999 is out of range\n");
}

TEST(ParserErrors, ResultCounts) {
  EXPECT_EQ(errors(inGraph("  %a, %b = gru %x {hidden_size = 1} : f32[2]\n  return %a\n")),
            "t.tir:2:12: error: 2 results but 1 type\n");
  EXPECT_EQ(errors(inGraph("  %a, %b = exp %x : f32[2], f32[2]\n"
                           "  return %a\n")),
            "t.tir:2:12: error: 'exp' has 1 result, got 2\n");
}

TEST(ParserErrors, Types) {
  EXPECT_EQ(errors("graph @g(%x: f31[2]) -> f32[2] {\n  return %x\n}"),
            "t.tir:1:14: error: unknown dtype 'f31'\n");
  EXPECT_EQ(errors(inGraph("  %0 = relu %x : float32[2]\n  return %0\n")),
            "t.tir:2:18: error: unknown dtype 'float32'\n");
  EXPECT_EQ(errors("graph @g(%x: f32[1,1,1,1,1,1,1]) -> f32[1] {\n"
                   "  return %x\n}"),
            "t.tir:1:14: error: rank 7 of f32[1,1,1,1,1,1,1] exceeds the "
            "maximum rank 6\n");
  EXPECT_EQ(errors("graph @g(%x: f32[2,-3]) -> f32[2] {\n  return %x\n}"),
            "t.tir:1:20: error: negative dimension -3\n");
  EXPECT_EQ(errors("graph @g(%x: f32[99999999999999999999]) -> f32[2] {\n"
                   "  return %x\n}"),
            "t.tir:1:18: error: integer literal 99999999999999999999 is out "
            "of range\n");
  EXPECT_EQ(errors("graph @g(%x: f32[4611686018427387904]) -> f32[2] {\n"
                   "  return %x\n}"),
            "t.tir:1:14: error: the byte size of f32[4611686018427387904] "
            "overflows int64\n");
  // A very long shape gets a short message.
  std::string dims = "1";
  for (int i = 0; i < 100000; ++i)
    dims += ",1";
  EXPECT_EQ(errors("graph @g(%x: f32[" + dims + "]) -> f32[2] {\n"
                   "  return %x\n}"),
            "t.tir:1:14: error: rank 100001 exceeds the maximum rank 6\n");
}

TEST(ParserErrors, Constants) {
  EXPECT_EQ(errors("graph @g() -> f32[2] {\n  %0 = constant @nope : f32[2]\n"
                   "  return %0\n}"),
            "t.tir:2:17: error: unknown constant handle '@nope'\n");
  EXPECT_EQ(errors("graph @g() -> f32[4] {\n  %0 = constant @w : f32[4]\n"
                   "  return %0\n}\nblobs {\n  @w = 0x0000803F00000040\n}\n"),
            "t.tir:2:17: error: blob '@w' has 8 bytes, f32[4] needs 16\n");
  EXPECT_EQ(errors("graph @g() -> u8[1] {\n  %0 = constant @w : u8[1]\n"
                   "  return %0\n}\nblobs {\n  @w = 0x01\n  @w = 0x02\n}\n"),
            "t.tir:7:3: error: blob '@w' is defined twice (first at 6:3)\n");
  EXPECT_EQ(errors("graph @g() -> f32[4] {\n"
                   "  %0 = constant dense<[1.0, 2.0, 3.0]> : f32[4]\n"
                   "  return %0\n}"),
            "t.tir:2:17: error: dense literal has 3 elements, f32[4] needs 4\n");
  struct Case {
    const char *literal;
    const char *type;
    const char *diag;
  } cases[] = {
      {"[1, 300]", "i8[2]", "2:27: error: value 300 is out of range for i8"},
      {"[-1]", "u8[1]", "2:24: error: value -1 is out of range for u8"},
      {"[2147483648]", "i32[1]",
       "2:24: error: value 2147483648 is out of range for i32"},
      {"[9223372036854775808]", "i64[1]",
       "2:24: error: value 9223372036854775808 is out of range for i64"},
      {"[1.5, 2]", "i32[2]",
       "2:24: error: expected an integer for dtype i32, got 1.5"},
      {"[inf]", "i32[1]",
       "2:24: error: expected an integer for dtype i32, got inf"},
      {"[1, 0]", "bool[2]",
       "2:24: error: expected 'true' or 'false' for a bool element, got 1"},
      {"[true]", "f32[1]",
       "2:24: error: expected a number for dtype f32, got true"},
      {"[1e39]", "f32[1]", "2:24: error: value 1e39 is out of range for f32"},
      {"[70000]", "f16[1]", "2:24: error: value 70000 is out of range for f16"},
      {"[1e39]", "bf16[1]",
       "2:24: error: value 1e39 is out of range for bf16"},
      {"1e400", "f32[2]", "2:23: error: value 1e400 is out of range for f32"},
  };
  for (const Case &c : cases)
    EXPECT_EQ(errors(std::string("graph @g() -> ") + c.type +
                     " {\n  %0 = constant dense<" + c.literal + "> : " +
                     c.type + "\n  return %0\n}"),
              std::string("t.tir:") + c.diag + "\n")
        << c.literal;
}

TEST(ParserErrors, HugeConstantsFailCleanly) {
  std::string diags = errors("graph @g() -> f32[1000000,1000000,1000000] {\n"
                             "  %0 = constant dense<0.0> : "
                             "f32[1000000,1000000,1000000]\n  return %0\n}");
  EXPECT_NE(diags.find("t.tir:2:8: error: tensor f32[1000000,1000000,1000000]"),
            std::string::npos)
      << diags;
}

TEST(ParserErrors, Return) {
  EXPECT_EQ(errors("graph @g(%x: f32[2]) -> (a: f32[2], b: f32[2]) {\n"
                   "  return %x\n}"),
            "t.tir:2:3: error: return has 1 value, the graph has 2 outputs\n");
  EXPECT_EQ(errors("graph @g(%x: f32[2]) -> f32[3] {\n  return %x\n}"),
            "t.tir:2:10: error: return value 0 (%x) has type f32[2], the "
            "signature says f32[3]\n");
  EXPECT_EQ(errors("graph @g(%x: f32[2]) -> f32[2]<nchw8c> {\n  return %x\n}"),
            "t.tir:2:10: error: return value 0 (%x) has type f32[2], the "
            "signature says f32[2]<nchw8c>\n");
}

TEST(ParserErrors, EveryProblemIsReportedOnce) {
  // Parser errors and verifier errors together, without follow-up errors for
  // the values whose definitions failed.
  EXPECT_EQ(
      errors(R"(graph @g(%x: f32[2], %i: i32[2]) -> (a: f32[2], b: f32[2], c: f32[3], d: f32[2], e: f32[2]) {
  %a = add %x, %u : f32[2]
  %b = exp %i : f32[2]
  %c = relu %x : f32[3]
  %p = nope %x : f32[2]
  %q = relu %p : f32[2]
  %r = relu %q : f32[5]
  %t = relu %x : f33[2]
  %d = relu %t : f32[2]
  %e = mul %x, none : f32[2]
  %w = constant @missing : f32[2]
  %v = add %w, %e : f32[2]
  %s = add %v, %v : f32[7]
  return %a, %b, %c, %d, %e
}
)",
             /*verify=*/true),
      // In source order, although the parser and the verifier find them in
      // two sweeps.
      "t.tir:2:16: error: use of undefined value '%u'\n"
      "t.tir:3:8: error: operand 'x' of 'exp' must have a float type, got "
      "i32[2]\n"
      "t.tir:4:8: error: 'relu' result type f32[3] does not match the "
      "inferred type f32[2]\n"
      "t.tir:5:8: error: unknown op 'nope'\n"
      "t.tir:7:8: error: 'relu' result type f32[5] does not match the "
      "inferred type f32[2]\n"
      "t.tir:8:18: error: unknown dtype 'f33'\n"
      "t.tir:10:8: error: operand 'rhs' of 'mul' is required and cannot be "
      "none\n"
      "t.tir:11:17: error: unknown constant handle '@missing'\n"
      "t.tir:13:8: error: 'add' result type f32[7] does not match the "
      "inferred type f32[2]\n");
}

//===----------------------------------------------------------------------===//
// Robustness
//===----------------------------------------------------------------------===//

const char *kRichText = R"(// A graph with every syntax feature.
blobs {
  @"early blob" = 0x00000000000080BF
}

graph @"rich graph"(%x: f32[1,3,8,8], %seq: f32[5,2,4], %w: f32[1,12,4], %r: f32[1,12,3], %"a b": i64[]) -> (y: f32[1,3,8,8]<nchw8c>, "h.0": f32[1,2,3], f32[2], c: bool[2]) {
  %w1 = constant @fc1.weight : f32[3,3,1,1]
  %b1 = constant dense<[0.5, -1.0e-3, inf]> : f32[3]
  %0 = conv2d %x, %w1, %b1 {dilations = [1, 1], groups = 1} : f32[1,3,8,8]
  %1 = leaky_relu %0 {alpha = 2} : f32[1,3,8,8]<nchw8c>
  %y, %h, %c = lstm %seq, %w, %r, none, none, none {direction = "forward", hidden_size = 3} : f32[5,1,2,3], f32[1,2,3], f32[1,2,3]
  %s = constant dense<-7> : f32[2]
  %e = constant @"early blob" : f32[2]
  %m = max %s, %e : f32[2]
  %k = constant dense<[true, false]> : bool[2]
  %h16 = constant dense<[0.5, 65504, -0.0]> : f16[3]
  %i = constant dense<[-9223372036854775808, 9223372036854775807]> : i64[2]
  %z = cast %h16 {to = f32} : f32[3]
  return %1, %h, %m, %k
}

blobs {
  @fc1.weight = 0x0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F
}
)";

TEST(ParserRobustness, RichTextParses) {
  Parsed p = parse(kRichText);
  EXPECT_NE(p.graph, nullptr) << p.diags;
  EXPECT_EQ(p.diags, "");
}

/// Parses `text` copied into a buffer of exactly its size (so ASan sees any
/// overrun); the parse must succeed or say why.
void parseMustNotCrash(std::string_view text, bool verify) {
  auto copy = std::make_unique<char[]>(text.size() + 1);
  std::memcpy(copy.get(), text.data(), text.size());
  Parsed p = parse(std::string_view(copy.get(), text.size()), verify);
  if (!p.graph)
    ASSERT_TRUE(p.hasErrors) << "failed without an error:\n" << text;
  else
    printGraph(*p.graph); // whatever parsed also prints
}

TEST(ParserRobustness, EveryTruncation) {
  std::string text = kRichText;
  for (size_t n = 0; n <= text.size(); ++n)
    parseMustNotCrash(std::string_view(text).substr(0, n), n % 2 == 0);
}

TEST(ParserRobustness, RandomByteFlips) {
  std::string text = kRichText;
  std::mt19937 rng(12345);
  const char interesting[] = "%@\"\\{}[]()<>,:=-0x9e.\n/ abz";
  for (int iter = 0; iter < 4000; ++iter) {
    std::string t = text;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t pos = rng() % t.size();
      switch (rng() % 4) {
      case 0:
        t[pos] = static_cast<char>(rng() % 256);
        break;
      case 1:
        t[pos] = interesting[rng() % (sizeof interesting - 1)];
        break;
      case 2:
        t.erase(pos, 1 + rng() % 8);
        break;
      default:
        t.insert(pos, 1, interesting[rng() % (sizeof interesting - 1)]);
        break;
      }
      if (t.empty())
        t = "x";
    }
    parseMustNotCrash(t, iter % 2 == 0);
  }
}

TEST(ParserRobustness, LongAndDeepInputs) {
  // Deep nesting is a flat syntax error, not a recursion.
  EXPECT_EQ(errors(inGraph("  %0 = transpose %x {perm = " +
                           std::string(200000, '[') + "\n")),
            "t.tir:2:30: error: expected an integer, got '['\n");
  // A long chain of ops parses in linear time.
  std::string text = "graph @chain(%v0: f32[2]) -> f32[2] {\n";
  const int n = 50000;
  for (int i = 1; i <= n; ++i)
    text += "  %v" + std::to_string(i) + " = relu %v" + std::to_string(i - 1) +
            " : f32[2]\n";
  text += "  return %v" + std::to_string(n) + "\n}\n";
  auto g = parseOk(text, /*verify=*/true);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->ops().size(), static_cast<size_t>(n));
  // A long literal and a long blob.
  std::string lit = "graph @g() -> (a: i32[100000], b: u8[100000]) {\n"
                    "  %a = constant dense<[";
  for (int i = 0; i < 100000; ++i)
    lit += (i ? ", " : "") + std::to_string(i - 50000);
  lit += "]> : i32[100000]\n  %b = constant @b : u8[100000]\n"
         "  return %a, %b\n}\nblobs {\n  @b = 0x" +
         std::string(200000, 'A') + "\n}\n";
  auto l = parseOk(lit, /*verify=*/true);
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(opAt(*l, 0).constantValue()->dataAs<int32_t>()[99999], 49999);
  EXPECT_EQ(opAt(*l, 1).constantValue()->dataAs<uint8_t>()[99999], 0xAA);
  // Many errors are all reported, each once.
  std::string bad = "graph @g(%x: f32[2]) -> f32[2] {\n";
  for (int i = 0; i < 1000; ++i)
    bad += "  %a" + std::to_string(i) + " = relu %undefined : f32[2]\n";
  bad += "  return %x\n}\n";
  Parsed p = parse(bad, true);
  EXPECT_EQ(p.graph, nullptr);
  EXPECT_EQ(std::count(p.diags.begin(), p.diags.end(), '\n'), 1000);
}

} // namespace
} // namespace tcpu

//===- Parser.cpp - Text form of the IR: parsing --------------------------===//
//
// A hand-written recursive-descent parser over the flat grammar of
// ir/TextFormat.md. Nothing recurses deeper than a constant depth (a fused
// body is one level of statements, and bodies do not nest), so no input can
// overflow the stack; every loop consumes a token, so none hangs.
//
// Syntax errors stop the parse. Semantic errors are reported and parsing
// goes on; an op with such an error ("poisoned") is kept out of the graph and
// its results become placeholder graph inputs of the declared types, so that
// the verifier can still check every other op without a cascade of follow-up
// errors. The graph is only handed out when there were no errors at all.
//
//===----------------------------------------------------------------------===//
#include "ir/Parser.h"

#include "ir/Lexer.h"
#include "ir/Verifier.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

namespace tcpu {

std::string checkIsText(std::string_view text, int &line, int &col) {
  line = 1;
  col = 1;
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == 0)
      return "NUL byte";
    if (c == '\n') {
      ++line;
      col = 1;
      ++i;
      continue;
    }
    size_t n = 1;
    if (c >= 0x80) {
      auto at = [&](size_t k) -> unsigned {
        return i + k < text.size() ? static_cast<unsigned char>(text[i + k])
                                   : 0u;
      };
      auto cont = [&](size_t k) { return (at(k) & 0xc0u) == 0x80u; };
      n = 0;
      if (c >= 0xc2 && c <= 0xdf && cont(1)) {
        n = 2;
      } else if (c >= 0xe0 && c <= 0xef) {
        unsigned lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
        if (at(1) >= lo && at(1) <= hi && cont(2))
          n = 3;
      } else if (c >= 0xf0 && c <= 0xf4) {
        unsigned lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
        if (at(1) >= lo && at(1) <= hi && cont(2) && cont(3))
          n = 4;
      }
      if (n == 0) {
        static const char *digits = "0123456789abcdef";
        return std::string("invalid UTF-8 byte 0x") + digits[c >> 4] +
               digits[c & 15];
      }
    }
    i += n;
    col += static_cast<int>(n);
  }
  return "";
}

namespace {

/// A value name as written, with where it was written.
struct NameRef {
  std::string name;
  Location loc;
};

/// An operand as written: a value name or `none`.
struct OperandRef {
  bool none = false;
  NameRef ref;
};

/// One element of a dense<...> literal, converted once the type is known.
struct DenseElement {
  TokenKind kind;
  std::string_view spelling;
  Location loc;
};

struct DenseLiteral {
  Location loc;
  bool splat = false;
  std::vector<DenseElement> elements;
};

struct DeclaredOutput {
  std::string name;
  std::optional<TensorType> type;
  Location loc;
};

struct Blob {
  std::shared_ptr<std::vector<uint8_t>> bytes;
  Location loc;
};

struct PendingConstant {
  Op *op;
  std::string handle;
  Location loc;
};

/// "6:3", the line and column of a location.
std::string lineCol(const Location &loc) {
  return std::to_string(loc.line) + ":" + std::to_string(loc.col);
}

std::string plural(int64_t n, const char *word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

class Parser {
public:
  Parser(std::string_view text, const ParseOptions &options,
         DiagnosticEngine &diags)
      : text_(text), lex_(text), options_(options), diags_(diags),
        file_(std::make_shared<const std::string>(options.bufferName)) {}

  std::unique_ptr<Graph> run();

private:
  // Tokens.
  void advance() { tok_ = lex_.next(); }
  Token peekNext() const {
    Lexer copy = lex_;
    return copy.next();
  }
  Location locOf(const Token &t) const {
    return Location(file_, t.line + options_.lineOffset, t.col);
  }

  // Errors. Syntax errors return false so callers can unwind with `return`.
  bool syntaxError(const Token &at, std::string message) {
    diags_.error(locOf(at), std::move(message));
    return false;
  }
  /// "expected X, got Y" at the current token (or the lexer's own error).
  bool expected(std::string_view what) {
    if (tok_.is(TokenKind::Error))
      return syntaxError(tok_, tok_.text);
    if (tok_.is(TokenKind::Eof))
      return syntaxError(tok_, "unexpected end of input, expected " +
                                   std::string(what));
    return syntaxError(tok_, "expected " + std::string(what) + ", got " +
                                 describeToken(tok_));
  }
  void error(const Location &loc, std::string message) {
    diags_.error(loc, std::move(message));
    hadErrors_ = true;
  }
  bool consume(TokenKind kind, std::string_view what) {
    if (!tok_.is(kind))
      return expected(what);
    advance();
    return true;
  }
  bool consumeIf(TokenKind kind) {
    if (!tok_.is(kind))
      return false;
    advance();
    return true;
  }

  // Grammar.
  bool parseGraphDef();
  bool parseSignature();
  bool parseOutputs();
  bool parseStatement();
  bool parseBody(const Location &loc, std::shared_ptr<Graph> &body, bool &ok);
  bool parseReturn();
  bool parseBlobs();
  bool parseType(std::optional<TensorType> &out);
  bool parseAttrDict(Attributes &attrs, bool &ok);
  bool parseAttrValue(std::optional<AttrValue> &out);
  bool parseDense(DenseLiteral &out);

  // Semantics.
  std::optional<int64_t> parseInt(const Token &t);
  std::optional<Tensor> buildDense(const DenseLiteral &lit,
                                   const TensorType &type,
                                   const Location &opLoc);
  bool convertElement(const DenseElement &e, DType dtype, Tensor &t,
                      int64_t index);
  void defineValue(const NameRef &ref, Value *v);
  Value *resolve(const NameRef &ref, bool &poisoned);
  Value *placeholder(const TensorType &type);
  void resolveConstants();

  std::string_view text_;
  Lexer lex_;
  Token tok_;
  const ParseOptions &options_;
  DiagnosticEngine &diags_;
  std::shared_ptr<const std::string> file_;
  bool hadErrors_ = false;

  std::unique_ptr<Graph> graph_;
  /// Defined values; nullptr for one whose definition had an error (its uses
  /// are skipped silently).
  struct ValueDef {
    Value *value;
    Location loc;
  };
  std::unordered_map<std::string, ValueDef> values_;
  std::vector<DeclaredOutput> outputs_;
  std::unordered_map<std::string, Blob> blobs_;
  std::vector<PendingConstant> pending_;
  std::unordered_set<std::string> inputNames_;
  int placeholderCount_ = 0;
  /// Parsing the statements of a fused body (their own scope).
  bool inBody_ = false;
};

std::unique_ptr<Graph> Parser::run() {
  int line = 1, col = 1;
  if (std::string why = checkIsText(text_, line, col); !why.empty()) {
    diags_.error(Location(file_, line + options_.lineOffset, col),
                 "input is not text: " + why);
    return nullptr;
  }
  advance();
  while (true) {
    if (tok_.isKeyword("graph")) {
      if (graph_) {
        syntaxError(tok_, "expected 'blobs' or the end of the input, got "
                          "'graph' (one graph per buffer; see "
                          "--split-input-file)");
        return nullptr;
      }
      if (!parseGraphDef())
        return nullptr;
    } else if (tok_.isKeyword("blobs")) {
      if (!parseBlobs())
        return nullptr;
    } else if (tok_.is(TokenKind::Eof) && graph_) {
      break;
    } else {
      expected(graph_ ? "'blobs' or the end of the input" : "'graph'");
      return nullptr;
    }
  }
  resolveConstants();
  if (hadErrors_) {
    // The graph holds every op that parsed cleanly, with placeholders for the
    // rest: verifying it finds the remaining problems without follow-ups.
    if (options_.verify)
      verifyGraph(*graph_, diags_);
    return nullptr;
  }
  if (options_.verify && !verifyGraph(*graph_, diags_))
    return nullptr;
  return std::move(graph_);
}

//===----------------------------------------------------------------------===//
// Graph structure
//===----------------------------------------------------------------------===//

bool Parser::parseGraphDef() {
  Location graphLoc = locOf(tok_);
  advance(); // graph
  if (!tok_.is(TokenKind::Symbol))
    return expected("a graph name '@name'");
  graph_ = std::make_unique<Graph>(tok_.text);
  graph_->loc = graphLoc;
  advance();
  if (!parseSignature() || !consume(TokenKind::Arrow, "'->'") ||
      !parseOutputs() || !consume(TokenKind::LBrace, "'{'"))
    return false;
  while (true) {
    if (tok_.isKeyword("return")) {
      if (!parseReturn())
        return false;
      return consume(TokenKind::RBrace, "'}'");
    }
    if (tok_.is(TokenKind::RBrace))
      return syntaxError(tok_, "missing return at the end of the graph");
    if (!tok_.is(TokenKind::ValueName))
      return expected("'%value = ...' or 'return'");
    if (!parseStatement())
      return false;
  }
}

bool Parser::parseSignature() {
  if (!consume(TokenKind::LParen, "'('"))
    return false;
  if (consumeIf(TokenKind::RParen))
    return true;
  // Inputs are added in order; names are checked first so that a duplicate
  // does not also show up as the verifier's "input name used twice".
  struct Input {
    NameRef ref;
    std::optional<TensorType> type;
  };
  do {
    if (!tok_.is(TokenKind::ValueName))
      return expected("an input '%name'");
    NameRef ref{tok_.text, locOf(tok_)};
    advance();
    std::optional<TensorType> type;
    if (!consume(TokenKind::Colon, "':'") || !parseType(type))
      return false;
    auto it = values_.find(ref.name);
    if (it != values_.end()) {
      defineValue(ref, nullptr); // reports the redefinition
      continue;
    }
    Value *v = nullptr;
    if (type) {
      v = graph_->addInput(ref.name, *type);
      inputNames_.insert(ref.name);
    }
    defineValue(ref, v);
  } while (consumeIf(TokenKind::Comma));
  return consume(TokenKind::RParen, "',' or ')'");
}

bool Parser::parseOutputs() {
  if (!tok_.is(TokenKind::LParen)) {
    // The short form: one unnamed output.
    Location loc = locOf(tok_);
    std::optional<TensorType> type;
    if (!parseType(type))
      return false;
    outputs_.push_back({"output0", type, loc});
    return true;
  }
  advance();
  if (consumeIf(TokenKind::RParen))
    return true;
  do {
    DeclaredOutput out;
    out.loc = locOf(tok_);
    bool named = tok_.is(TokenKind::String) ||
                 (tok_.is(TokenKind::Identifier) &&
                  peekNext().is(TokenKind::Colon));
    if (named) {
      out.name = tok_.is(TokenKind::String) ? tok_.text
                                            : std::string(tok_.spelling);
      advance();
      if (!consume(TokenKind::Colon, "':'"))
        return false;
    } else {
      out.name = "output" + std::to_string(outputs_.size());
    }
    if (!parseType(out.type))
      return false;
    outputs_.push_back(std::move(out));
  } while (consumeIf(TokenKind::Comma));
  return consume(TokenKind::RParen, "',' or ')'");
}

bool Parser::parseReturn() {
  Location returnLoc = locOf(tok_);
  advance(); // return
  std::vector<NameRef> refs;
  if (tok_.is(TokenKind::ValueName)) {
    do {
      if (!tok_.is(TokenKind::ValueName))
        return expected("a value '%name'");
      refs.push_back({tok_.text, locOf(tok_)});
      advance();
    } while (consumeIf(TokenKind::Comma));
  }
  if (refs.size() != outputs_.size())
    error(returnLoc, "return has " + plural(refs.size(), "value") +
                         ", the graph has " +
                         plural(outputs_.size(), "output"));
  for (size_t i = 0; i < outputs_.size(); ++i) {
    const DeclaredOutput &out = outputs_[i];
    Value *v = nullptr;
    if (i < refs.size()) {
      bool poisoned = false;
      v = resolve(refs[i], poisoned);
      if (v && out.type && v->type != *out.type) {
        error(refs[i].loc, "return value " + std::to_string(i) + " (" +
                               formatName('%', refs[i].name) + ") has type " +
                               v->type.str() + ", the signature says " +
                               out.type->str());
        v = nullptr;
      }
    }
    if (!v)
      v = placeholder(out.type.value_or(TensorType(DType::F32, {})));
    graph_->addOutput(out.name, v);
  }
  for (size_t i = outputs_.size(); i < refs.size(); ++i) {
    bool poisoned = false;
    resolve(refs[i], poisoned); // reports an undefined value
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

bool Parser::parseStatement() {
  std::vector<NameRef> results;
  do {
    if (!tok_.is(TokenKind::ValueName))
      return expected("a result '%name'");
    results.push_back({tok_.text, locOf(tok_)});
    advance();
  } while (consumeIf(TokenKind::Comma));
  if (!consume(TokenKind::Equal, "'=' or ','"))
    return false;
  if (!tok_.is(TokenKind::Identifier))
    return expected("an op name");
  std::string mnemonic(tok_.spelling);
  Location opLoc = locOf(tok_);
  advance();

  const OpInfo *info = lookupOp(mnemonic);
  bool poisoned = false;
  if (!info) {
    error(opLoc, "unknown op '" + mnemonic + "'");
    poisoned = true;
  }
  bool isConstant = mnemonic == "constant";

  // Operands, or the payload of a constant.
  std::vector<OperandRef> operandRefs;
  std::optional<NameRef> handle;
  std::optional<DenseLiteral> dense;
  if (isConstant) {
    if (tok_.is(TokenKind::Symbol)) {
      handle = NameRef{tok_.text, locOf(tok_)};
      advance();
    } else if (tok_.isKeyword("dense")) {
      dense.emplace();
      if (!parseDense(*dense))
        return false;
    } else {
      return expected("'@handle' or 'dense<...>'");
    }
  } else if (tok_.is(TokenKind::ValueName) || tok_.isKeyword("none")) {
    do {
      OperandRef o;
      if (tok_.isKeyword("none")) {
        o.none = true;
      } else if (tok_.is(TokenKind::ValueName)) {
        o.ref = {tok_.text, locOf(tok_)};
      } else {
        return expected("an operand '%name' or 'none'");
      }
      operandRefs.push_back(std::move(o));
      advance();
    } while (consumeIf(TokenKind::Comma));
  }

  Attributes attrs;
  if (tok_.is(TokenKind::LBrace)) {
    bool attrsOk = true;
    if (!parseAttrDict(attrs, attrsOk))
      return false;
    poisoned |= !attrsOk;
  }
  // Graph attributes (fused bodies): `name(%a: TYPE, ...) { ... }`.
  while (tok_.is(TokenKind::Identifier) && peekNext().is(TokenKind::LParen)) {
    if (inBody_)
      return syntaxError(tok_, "a fused body cannot hold another body");
    std::string name(tok_.spelling);
    Location nameLoc = locOf(tok_);
    advance();
    std::shared_ptr<Graph> body;
    bool bodyOk = true;
    if (!parseBody(nameLoc, body, bodyOk))
      return false;
    if (!bodyOk) {
      // Reported already; an empty graph keeps "needs attribute" quiet.
      poisoned = true;
      if (!attrs.has(name))
        attrs.set(name, GraphAttr{});
    } else if (attrs.has(name)) {
      error(nameLoc, "attribute '" + name + "' is given twice");
      poisoned = true;
    } else {
      attrs.set(name, GraphAttr{std::move(body)});
    }
  }
  if (isConstant && inBody_) {
    error(opLoc, "a fused body holds no constants; pass them as operands");
    poisoned = true;
  }

  if (!consume(TokenKind::Colon, "':'"))
    return false;
  std::vector<std::optional<TensorType>> types;
  do {
    types.emplace_back();
    if (!parseType(types.back()))
      return false;
  } while (consumeIf(TokenKind::Comma));

  // Semantic checks. Each problem is reported; any makes the op poisoned.
  if (info) {
    for (std::string &problem : normalizeAttributes(*info, attrs)) {
      error(opLoc, std::move(problem));
      poisoned = true;
    }
  }
  bool typesValid = true;
  for (const auto &t : types)
    typesValid &= t.has_value();
  poisoned |= !typesValid;
  if (types.size() != results.size()) {
    error(opLoc, plural(results.size(), "result") + " but " +
                     plural(types.size(), "type"));
    poisoned = true;
  } else if (info && info->numResults() != static_cast<int>(results.size())) {
    // Worded as the verifier words it.
    error(opLoc, "'" + mnemonic + "' has " +
                     plural(info->numResults(), "result") + ", got " +
                     std::to_string(results.size()));
    poisoned = true;
  }

  std::vector<Value *> operands;
  for (const OperandRef &o : operandRefs)
    operands.push_back(o.none ? nullptr : resolve(o.ref, poisoned));

  std::optional<Tensor> denseValue;
  if (dense && !poisoned) {
    denseValue = buildDense(*dense, *types[0], opLoc);
    poisoned |= !denseValue.has_value();
  }

  std::vector<Value *> defined(results.size(), nullptr);
  if (!poisoned) {
    std::vector<TensorType> resultTypes;
    for (const auto &t : types)
      resultTypes.push_back(*t);
    Op *op = graph_->appendOp(info->kind, std::move(operands),
                              std::move(attrs), std::move(resultTypes), opLoc);
    for (size_t i = 0; i < results.size(); ++i)
      defined[i] = op->result(i);
    if (denseValue)
      op->setConstantValue(std::move(*denseValue));
    if (handle) {
      op->constantHandle = handle->name;
      pending_.push_back({op, handle->name, handle->loc});
    }
  } else {
    // Results keep their declared types, as placeholders.
    for (size_t i = 0; i < results.size(); ++i)
      if (i < types.size() && types[i])
        defined[i] = placeholder(*types[i]);
  }
  // Placeholders keep their unique names so that the verifier does not see
  // duplicate input names.
  for (size_t i = 0; i < results.size(); ++i) {
    if (defined[i] && !poisoned)
      defined[i]->name = results[i].name;
    defineValue(results[i], defined[i]);
  }
  return true;
}

bool Parser::parseBody(const Location &loc, std::shared_ptr<Graph> &body,
                       bool &ok) {
  // The body is a graph of its own: its own values, inputs and placeholders.
  // The outer state is set aside and restored however the body ends.
  std::unique_ptr<Graph> outerGraph = std::move(graph_);
  auto outerValues = std::move(values_);
  auto outerInputNames = std::move(inputNames_);
  bool outerErrors = hadErrors_;
  graph_ = std::make_unique<Graph>("body");
  graph_->loc = loc;
  values_.clear();
  inputNames_.clear();
  hadErrors_ = false;
  inBody_ = true;
  auto restore = [&] {
    inBody_ = false;
    body = std::move(graph_);
    graph_ = std::move(outerGraph);
    values_ = std::move(outerValues);
    inputNames_ = std::move(outerInputNames);
    ok = !hadErrors_;
    hadErrors_ |= outerErrors;
  };

  bool syntaxOk = parseSignature() && consume(TokenKind::LBrace, "'{'");
  while (syntaxOk) {
    if (tok_.isKeyword("return")) {
      Location returnLoc = locOf(tok_);
      advance();
      std::vector<NameRef> refs;
      while (tok_.is(TokenKind::ValueName)) {
        refs.push_back({tok_.text, locOf(tok_)});
        advance();
        if (!consumeIf(TokenKind::Comma))
          break;
      }
      if (refs.empty()) {
        syntaxOk = expected("a value '%name'");
        break;
      }
      if (refs.size() != 1)
        error(returnLoc, "a body returns one value, got " +
                             std::to_string(refs.size()));
      for (size_t i = 0; i < refs.size(); ++i) {
        bool poisoned = false;
        Value *v = resolve(refs[i], poisoned);
        if (i == 0)
          graph_->addOutput("output0",
                            v ? v : placeholder(TensorType(DType::F32, {})));
      }
      syntaxOk = consume(TokenKind::RBrace, "'}'");
      break;
    }
    if (tok_.is(TokenKind::RBrace)) {
      syntaxOk = syntaxError(tok_, "missing return at the end of the body");
      break;
    }
    if (!tok_.is(TokenKind::ValueName)) {
      syntaxOk = expected("'%value = ...' or 'return'");
      break;
    }
    syntaxOk = parseStatement();
  }
  bool bodyErrors = hadErrors_;
  restore();
  if (!syntaxOk)
    return false;
  // Report what else is wrong inside a body that had errors, as the parser
  // does for the whole graph; the op holding it is then dropped.
  if (bodyErrors && options_.verify)
    verifyGraph(*body, diags_);
  return true;
}

bool Parser::parseAttrDict(Attributes &attrs, bool &ok) {
  advance(); // {
  if (consumeIf(TokenKind::RBrace))
    return true;
  do {
    if (!tok_.is(TokenKind::Identifier))
      return expected("an attribute name");
    std::string name(tok_.spelling);
    Location nameLoc = locOf(tok_);
    advance();
    if (!consume(TokenKind::Equal, "'='"))
      return false;
    std::optional<AttrValue> value;
    if (!parseAttrValue(value))
      return false;
    if (!value) {
      ok = false;
    } else if (attrs.has(name)) {
      error(nameLoc, "attribute '" + name + "' is given twice");
      ok = false;
    } else {
      attrs.set(name, std::move(*value));
    }
  } while (consumeIf(TokenKind::Comma));
  return consume(TokenKind::RBrace, "',' or '}'");
}

bool Parser::parseAttrValue(std::optional<AttrValue> &out) {
  Token t = tok_;
  switch (t.kind) {
  case TokenKind::Integer:
    advance();
    if (std::optional<int64_t> v = parseInt(t))
      out = *v;
    return true;
  case TokenKind::Float: {
    advance();
    if (t.spelling == "-inf") {
      out = -std::numeric_limits<double>::infinity();
      return true;
    }
    double d = 0;
    auto res = std::from_chars(t.spelling.data(),
                               t.spelling.data() + t.spelling.size(), d);
    if (res.ec != std::errc() ||
        res.ptr != t.spelling.data() + t.spelling.size())
      error(locOf(t), "float literal " + std::string(t.spelling.substr(0, 40)) +
                          " is out of range");
    else
      out = d;
    return true;
  }
  case TokenKind::String:
    advance();
    out = t.text;
    return true;
  case TokenKind::Identifier:
    advance();
    if (t.spelling == "inf")
      out = std::numeric_limits<double>::infinity();
    else if (t.spelling == "nan")
      out = std::numeric_limits<double>::quiet_NaN();
    else if (std::optional<DType> d = parseDType(t.spelling))
      out = *d;
    else
      error(locOf(t), "invalid attribute value '" + std::string(t.spelling) +
                          "' (not a dtype; strings are written in quotes)");
    return true;
  case TokenKind::LBracket: {
    advance();
    std::vector<int64_t> list;
    bool ok = true;
    if (!tok_.is(TokenKind::RBracket)) {
      do {
        if (tok_.is(TokenKind::Integer)) {
          std::optional<int64_t> v = parseInt(tok_);
          ok &= v.has_value();
          list.push_back(v.value_or(0));
        } else if (tok_.is(TokenKind::Float)) {
          error(locOf(tok_), "expected an integer in an integer list, got " +
                                 describeToken(tok_));
          ok = false;
        } else {
          return expected("an integer");
        }
        advance();
      } while (consumeIf(TokenKind::Comma));
    }
    if (!consume(TokenKind::RBracket, "',' or ']'"))
      return false;
    if (ok)
      out = std::move(list);
    return true;
  }
  default:
    return expected("an attribute value");
  }
}

bool Parser::parseDense(DenseLiteral &out) {
  out.loc = locOf(tok_);
  advance(); // dense
  if (!consume(TokenKind::Less, "'<'"))
    return false;
  auto element = [&]() {
    bool ok = tok_.is(TokenKind::Integer) || tok_.is(TokenKind::Float) ||
              tok_.isKeyword("true") || tok_.isKeyword("false") ||
              tok_.isKeyword("inf") || tok_.isKeyword("nan");
    if (!ok)
      return expected("a number, 'true', 'false', 'inf' or 'nan'");
    out.elements.push_back({tok_.kind, tok_.spelling, locOf(tok_)});
    advance();
    return true;
  };
  if (consumeIf(TokenKind::LBracket)) {
    if (!tok_.is(TokenKind::RBracket)) {
      do {
        if (!element())
          return false;
      } while (consumeIf(TokenKind::Comma));
    }
    if (!consume(TokenKind::RBracket, "',' or ']'"))
      return false;
  } else {
    out.splat = true;
    if (!element())
      return false;
  }
  return consume(TokenKind::Greater, "'>'");
}

bool Parser::parseType(std::optional<TensorType> &out) {
  out.reset();
  if (!tok_.is(TokenKind::Identifier))
    return expected("a type");
  Token dtypeTok = tok_;
  std::optional<DType> dtype = parseDType(tok_.spelling);
  bool ok = true;
  if (!dtype) {
    error(locOf(tok_), "unknown dtype '" + std::string(tok_.spelling) + "'");
    ok = false;
  }
  advance();
  if (!consume(TokenKind::LBracket, "'['"))
    return false;
  Shape shape;
  if (!tok_.is(TokenKind::RBracket)) {
    do {
      if (!tok_.is(TokenKind::Integer))
        return expected("a dimension");
      std::optional<int64_t> d = parseInt(tok_);
      if (!d) {
        ok = false;
      } else if (*d < 0) {
        error(locOf(tok_), "negative dimension " + std::to_string(*d));
        ok = false;
      }
      shape.push_back(d.value_or(0));
      advance();
    } while (consumeIf(TokenKind::Comma));
  }
  if (!consume(TokenKind::RBracket, "',' or ']'"))
    return false;
  std::string layout;
  if (consumeIf(TokenKind::Less)) {
    if (!tok_.is(TokenKind::Identifier))
      return expected("a layout tag");
    layout = std::string(tok_.spelling);
    advance();
    if (!consume(TokenKind::Greater, "'>'"))
      return false;
  }
  if (!ok)
    return true;
  if (shape.size() > 64) { // too long to show the type in the message
    error(locOf(dtypeTok), "rank " + std::to_string(shape.size()) +
                               " exceeds the maximum rank " +
                               std::to_string(kMaxRank));
    return true;
  }
  TensorType type(*dtype, std::move(shape), std::move(layout));
  if (std::string why = checkTensorType(type); !why.empty()) {
    error(locOf(dtypeTok), why);
    return true;
  }
  out = std::move(type);
  return true;
}

//===----------------------------------------------------------------------===//
// Blobs
//===----------------------------------------------------------------------===//

bool Parser::parseBlobs() {
  advance(); // blobs
  if (!consume(TokenKind::LBrace, "'{'"))
    return false;
  while (!consumeIf(TokenKind::RBrace)) {
    if (!tok_.is(TokenKind::Symbol))
      return expected("'@handle = 0x...' or '}'");
    NameRef ref{tok_.text, locOf(tok_)};
    advance();
    if (!consume(TokenKind::Equal, "'='"))
      return false;
    if (!tok_.is(TokenKind::HexBlob))
      return expected("a hex blob '0x...'");
    std::string_view hex = tok_.spelling.substr(2);
    auto bytes = std::make_shared<std::vector<uint8_t>>(hex.size() / 2);
    auto nibble = [](char c) -> uint8_t {
      if (c >= '0' && c <= '9')
        return c - '0';
      if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
      return c - 'A' + 10;
    };
    for (size_t i = 0; i < bytes->size(); ++i)
      (*bytes)[i] = static_cast<uint8_t>(nibble(hex[2 * i]) << 4 |
                                         nibble(hex[2 * i + 1]));
    advance();
    auto [it, inserted] = blobs_.try_emplace(ref.name, Blob{bytes, ref.loc});
    if (!inserted) {
      error(ref.loc, "blob '" + formatName('@', ref.name) +
                         "' is defined twice (first at " +
                         lineCol(it->second.loc) + ")");
    }
  }
  return true;
}

void Parser::resolveConstants() {
  for (const PendingConstant &p : pending_) {
    Value *result = p.op->result(0);
    const TensorType &type = result->type;
    auto it = blobs_.find(p.handle);
    std::string problem;
    if (it == blobs_.end()) {
      problem = "unknown constant handle '" + formatName('@', p.handle) + "'";
    } else if (static_cast<int64_t>(it->second.bytes->size()) !=
               type.byteSize()) {
      problem = "blob '" + formatName('@', p.handle) + "' has " +
                plural(it->second.bytes->size(), "byte") + ", " + type.str() +
                " needs " + std::to_string(type.byteSize());
    } else if (type.dtype == DType::Bool) {
      // Any other byte would print back as true and change the bytes.
      const auto &bytes = *it->second.bytes;
      for (size_t i = 0; i < bytes.size() && problem.empty(); ++i)
        if (static_cast<uint8_t>(bytes[i]) > 1)
          problem = "blob '" + formatName('@', p.handle) + "' holds byte " +
                    std::to_string(static_cast<uint8_t>(bytes[i])) +
                    " at offset " + std::to_string(i) +
                    "; bool elements must be 0 or 1";
    }
    if (problem.empty()) {
      const auto &bytes = it->second.bytes;
      std::shared_ptr<const void> owner(bytes, bytes->data());
      p.op->setConstantValue(Tensor::alias(type, owner, bytes->data()));
      continue;
    }
    error(p.loc, problem);
    // Take the op out of the graph; its uses see a placeholder instead.
    Value *stand = placeholder(type);
    graph_->replaceAllUsesWith(result, stand);
    graph_->erase(p.op);
  }
}

//===----------------------------------------------------------------------===//
// Values and literals
//===----------------------------------------------------------------------===//

void Parser::defineValue(const NameRef &ref, Value *v) {
  auto [it, inserted] = values_.try_emplace(ref.name, ValueDef{v, ref.loc});
  if (inserted)
    return;
  std::string name = formatName('%', ref.name);
  // The first definition is named in the message rather than in a note, so
  // that one diagnostic stands for one problem.
  error(ref.loc, "redefinition of value '" + name + "' (first defined at " +
                     lineCol(it->second.loc) + ")");
}

Value *Parser::resolve(const NameRef &ref, bool &poisoned) {
  auto it = values_.find(ref.name);
  if (it == values_.end()) {
    error(ref.loc,
          "use of undefined value '" + formatName('%', ref.name) + "'");
    poisoned = true;
    return nullptr;
  }
  if (!it->second.value)
    poisoned = true; // its definition already had an error
  return it->second.value;
}

Value *Parser::placeholder(const TensorType &type) {
  std::string name;
  do {
    name = "\x01placeholder" + std::to_string(placeholderCount_++);
  } while (inputNames_.count(name));
  return graph_->addInput(name, type);
}

std::optional<int64_t> Parser::parseInt(const Token &t) {
  int64_t v = 0;
  const char *end = t.spelling.data() + t.spelling.size();
  auto res = std::from_chars(t.spelling.data(), end, v);
  if (res.ec != std::errc() || res.ptr != end) {
    error(locOf(t), "integer literal " + std::string(t.spelling.substr(0, 40)) +
                        " is out of range");
    return std::nullopt;
  }
  return v;
}

bool Parser::convertElement(const DenseElement &e, DType dtype, Tensor &t,
                            int64_t index) {
  std::string what(e.spelling.substr(0, 40));
  std::string dt(dtypeName(dtype));
  if (dtype == DType::Bool) {
    if (e.spelling != "true" && e.spelling != "false") {
      error(e.loc, "expected 'true' or 'false' for a bool element, got " + what);
      return false;
    }
    t.setElementFromInt(index, e.spelling == "true");
    return true;
  }
  if (isInteger(dtype)) {
    if (e.kind != TokenKind::Integer) {
      error(e.loc, "expected an integer for dtype " + dt + ", got " + what);
      return false;
    }
    int64_t v = 0;
    const char *end = e.spelling.data() + e.spelling.size();
    auto res = std::from_chars(e.spelling.data(), end, v);
    bool fits = res.ec == std::errc() && res.ptr == end;
    if (fits && dtype == DType::I8)
      fits = v >= -128 && v <= 127;
    if (fits && dtype == DType::U8)
      fits = v >= 0 && v <= 255;
    if (fits && dtype == DType::I32)
      fits = v >= std::numeric_limits<int32_t>::min() &&
             v <= std::numeric_limits<int32_t>::max();
    if (!fits) {
      error(e.loc, "value " + what + " is out of range for " + dt);
      return false;
    }
    t.setElementFromInt(index, v);
    return true;
  }
  // Floating point: integers, floats, inf, -inf, nan.
  float f = 0;
  if (e.spelling == "inf") {
    f = std::numeric_limits<float>::infinity();
  } else if (e.spelling == "-inf") {
    f = -std::numeric_limits<float>::infinity();
  } else if (e.spelling == "nan") {
    f = std::numeric_limits<float>::quiet_NaN();
  } else if (e.kind == TokenKind::Integer || e.kind == TokenKind::Float) {
    const char *end = e.spelling.data() + e.spelling.size();
    auto res = std::from_chars(e.spelling.data(), end, f);
    if (res.ec != std::errc() || res.ptr != end) {
      error(e.loc, "value " + what + " is out of range for " + dt);
      return false;
    }
  } else {
    error(e.loc, "expected a number for dtype " + dt + ", got " + what);
    return false;
  }
  t.setElementFromDouble(index, f);
  if (std::isfinite(f) && std::isinf(t.elementAsDouble(index))) {
    error(e.loc, "value " + what + " is out of range for " + dt);
    return false;
  }
  return true;
}

std::optional<Tensor> Parser::buildDense(const DenseLiteral &lit,
                                         const TensorType &type,
                                         const Location &opLoc) {
  int64_t n = type.numElements();
  if (!lit.splat && static_cast<int64_t>(lit.elements.size()) != n) {
    error(lit.loc, "dense literal has " +
                       plural(lit.elements.size(), "element") + ", " +
                       type.str() + " needs " + std::to_string(n));
    return std::nullopt;
  }
  absl::StatusOr<Tensor> t = Tensor::allocate(type);
  if (!t.ok()) {
    error(opLoc, std::string(t.status().message()));
    return std::nullopt;
  }
  if (lit.splat) {
    if (n == 0)
      return std::move(*t);
    if (!convertElement(lit.elements[0], type.dtype, *t, 0))
      return std::nullopt;
    int64_t size = dtypeSize(type.dtype);
    auto *data = static_cast<uint8_t *>(t->mutableData());
    for (int64_t i = 1; i < n; ++i)
      std::memcpy(data + i * size, data, size);
    return std::move(*t);
  }
  for (int64_t i = 0; i < n; ++i)
    if (!convertElement(lit.elements[i], type.dtype, *t, i))
      return std::nullopt; // one error per literal is enough
  return std::move(*t);
}

} // namespace

std::unique_ptr<Graph> parseGraph(std::string_view text,
                                  const ParseOptions &options,
                                  DiagnosticEngine &diags) {
  Parser parser(text, options, diags);
  return parser.run();
}

absl::StatusOr<std::unique_ptr<Graph>> parseGraph(std::string_view text,
                                                  std::string bufferName) {
  ParseOptions options;
  options.bufferName = std::move(bufferName);
  DiagnosticEngine diags;
  std::unique_ptr<Graph> g = parseGraph(text, options, diags);
  if (!g) {
    absl::Status s = diags.toStatus();
    return s.ok() ? absl::InternalError("parse failed without a diagnostic")
                  : s;
  }
  return g;
}

absl::StatusOr<std::unique_ptr<Graph>> parseGraphFile(const std::string &path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return absl::InvalidArgumentError("cannot read '" + path +
                                      "': it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return absl::NotFoundError("cannot open '" + path +
                               "': " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad())
    return absl::DataLossError("cannot read '" + path + "'");
  return parseGraph(ss.str(), path);
}

} // namespace tcpu

//===- Lexer.h - Tokens of the IR text form ---------------------*- C++ -*-===//
//
// Splits the text form (ir/TextFormat.md) into tokens with 1-based line and
// byte-column positions. The lexer never reads past the end of its buffer and
// never fails hard: a malformed token comes back as an Error token whose text
// is the message and whose position is the offending byte.
//
// Also holds the spelling rules for names shared by the parser and printer.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tcpu {

enum class TokenKind : uint8_t {
  Eof,
  Error,      // text: the message
  Identifier, // [A-Za-z_][A-Za-z0-9_.]*: mnemonics, keywords, dtypes, inf, nan
  ValueName,  // %name or %"name"; text: the name without % and quotes
  Symbol,     // @name or @"name"; text: the name without @ and quotes
  Integer,    // -?[0-9]+ (spelling only; the parser converts)
  Float,      // -?[0-9]+.[0-9]*(e..)?, -?[0-9]+e.., -inf
  String,     // "..."; text: the decoded contents
  HexBlob,    // 0x[0-9A-Fa-f]* with an even digit count; spelling includes 0x
  LParen,
  RParen,
  LBrace,
  RBrace,
  LBracket,
  RBracket,
  Less,
  Greater,
  Comma,
  Colon,
  Equal,
  Arrow, // ->
};

struct Token {
  TokenKind kind = TokenKind::Eof;
  /// The raw bytes of the token in the buffer (empty for Eof).
  std::string_view spelling;
  /// Decoded name or string contents, or the message of an Error token.
  std::string text;
  /// 1-based; columns count bytes.
  int line = 1;
  int col = 1;

  bool is(TokenKind k) const { return kind == k; }
  /// An identifier spelled exactly `kw`.
  bool isKeyword(std::string_view kw) const {
    return kind == TokenKind::Identifier && spelling == kw;
  }
};

class Lexer {
public:
  explicit Lexer(std::string_view buffer) : buf_(buffer) {}

  /// The next token; Eof (repeatedly) at the end, Error on a malformed token.
  /// Copying a Lexer is cheap, which gives arbitrary lookahead.
  Token next();

private:
  char peek(size_t ahead = 0) const {
    return pos_ + ahead < buf_.size() ? buf_[pos_ + ahead] : '\0';
  }
  bool atEnd(size_t ahead = 0) const { return pos_ + ahead >= buf_.size(); }
  void bump();
  void skipWhitespaceAndComments();
  Token make(TokenKind kind, size_t start, int line, int col) const;
  Token error(std::string message, int line, int col) const;
  Token lexNumber(size_t start, int line, int col);
  Token lexName(TokenKind kind, size_t start, int line, int col);
  /// Lexes "..." starting at the quote; on success fills `out`.
  bool lexQuoted(std::string &out, Token &err);

  std::string_view buf_;
  size_t pos_ = 0;
  int line_ = 1;
  int col_ = 1;
};

/// A short human-readable spelling of a token for "got ..." in messages.
std::string describeToken(const Token &tok);

/// Characters allowed in a bare %value or @symbol name: [A-Za-z0-9_.$-].
bool isNameChar(char c);
/// A non-empty string of name characters: prints without quotes.
bool isBareName(std::string_view s);
/// [A-Za-z_][A-Za-z0-9_.]*: a bare identifier (output names).
bool isBareIdentifier(std::string_view s);
/// "..." with \" \\ and \XX escapes for control bytes and for bytes that are
/// not part of valid UTF-8, so the result is always valid text that the lexer
/// decodes back to `s`.
std::string quoteString(std::string_view s);
/// `sigil` + name, quoted when needed: %x, @fc1.weight, %"my value".
std::string formatName(char sigil, std::string_view name);

} // namespace tcpu

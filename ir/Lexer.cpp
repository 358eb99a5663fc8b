//===- Lexer.cpp - Tokens of the IR text form -----------------------------===//
//
// Every read goes through peek(), which returns '\0' past the end, so no
// token can read out of bounds however the input is cut.
//
//===----------------------------------------------------------------------===//
#include "ir/Lexer.h"

namespace tcpu {

namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool isHexDigit(char c) {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
int hexValue(char c) {
  if (isDigit(c))
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return c - 'A' + 10;
}
bool isIdentStart(char c) { return isAlpha(c) || c == '_'; }
bool isIdentChar(char c) { return isAlpha(c) || isDigit(c) || c == '_' || c == '.'; }

std::string hexByte(unsigned char c) {
  static const char *digits = "0123456789abcdef";
  return std::string("0x") + digits[c >> 4] + digits[c & 15];
}

/// Length of the valid UTF-8 sequence starting at s[i], or 0 if the bytes
/// there are not one.
size_t utf8SequenceLength(std::string_view s, size_t i) {
  auto at = [&](size_t k) -> unsigned {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u;
  };
  unsigned c = at(0);
  auto cont = [&](size_t k) { return (at(k) & 0xc0u) == 0x80u; };
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf)
    return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    unsigned lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    return at(1) >= lo && at(1) <= hi && cont(2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    unsigned lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    return at(1) >= lo && at(1) <= hi && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

} // namespace

bool isNameChar(char c) {
  return isAlpha(c) || isDigit(c) || c == '_' || c == '.' || c == '$' ||
         c == '-';
}

bool isBareName(std::string_view s) {
  if (s.empty())
    return false;
  for (char c : s)
    if (!isNameChar(c))
      return false;
  return true;
}

bool isBareIdentifier(std::string_view s) {
  if (s.empty() || !isIdentStart(s[0]))
    return false;
  for (char c : s)
    if (!isIdentChar(c))
      return false;
  return true;
}

std::string quoteString(std::string_view s) {
  static const char *digits = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20 || c == 0x7f) {
      out += '\\';
      out += digits[c >> 4];
      out += digits[c & 15];
      ++i;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else if (size_t n = utf8SequenceLength(s, i)) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += '\\';
      out += digits[c >> 4];
      out += digits[c & 15];
      ++i;
    }
  }
  return out + "\"";
}

std::string formatName(char sigil, std::string_view name) {
  std::string out(1, sigil);
  if (isBareName(name))
    out.append(name);
  else
    out += quoteString(name);
  return out;
}

std::string describeToken(const Token &tok) {
  switch (tok.kind) {
  case TokenKind::Eof:
    return "end of input";
  case TokenKind::Error:
    return "an invalid token";
  case TokenKind::HexBlob:
    return "a hex blob";
  default:
    break;
  }
  constexpr size_t kMax = 40;
  std::string s(tok.spelling.substr(0, kMax));
  if (tok.spelling.size() > kMax)
    s += "...";
  return "'" + s + "'";
}

void Lexer::bump() {
  if (pos_ >= buf_.size())
    return;
  if (buf_[pos_] == '\n') {
    ++line_;
    col_ = 1;
  } else {
    ++col_;
  }
  ++pos_;
}

void Lexer::skipWhitespaceAndComments() {
  while (!atEnd()) {
    char c = peek();
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      bump();
    } else if (c == '/' && peek(1) == '/') {
      while (!atEnd() && peek() != '\n')
        bump();
    } else {
      return;
    }
  }
}

Token Lexer::make(TokenKind kind, size_t start, int line, int col) const {
  Token t;
  t.kind = kind;
  t.spelling = buf_.substr(start, pos_ - start);
  t.line = line;
  t.col = col;
  return t;
}

Token Lexer::error(std::string message, int line, int col) const {
  Token t;
  t.kind = TokenKind::Error;
  t.text = std::move(message);
  t.line = line;
  t.col = col;
  return t;
}

Token Lexer::next() {
  skipWhitespaceAndComments();
  size_t start = pos_;
  int line = line_, col = col_;
  if (atEnd())
    return make(TokenKind::Eof, start, line, col);

  char c = peek();
  auto single = [&](TokenKind k) {
    bump();
    return make(k, start, line, col);
  };
  switch (c) {
  case '(':
    return single(TokenKind::LParen);
  case ')':
    return single(TokenKind::RParen);
  case '{':
    return single(TokenKind::LBrace);
  case '}':
    return single(TokenKind::RBrace);
  case '[':
    return single(TokenKind::LBracket);
  case ']':
    return single(TokenKind::RBracket);
  case '<':
    return single(TokenKind::Less);
  case '>':
    return single(TokenKind::Greater);
  case ',':
    return single(TokenKind::Comma);
  case ':':
    return single(TokenKind::Colon);
  case '=':
    return single(TokenKind::Equal);
  case '%':
    return lexName(TokenKind::ValueName, start, line, col);
  case '@':
    return lexName(TokenKind::Symbol, start, line, col);
  case '"': {
    Token t;
    std::string text;
    if (!lexQuoted(text, t))
      return t;
    t = make(TokenKind::String, start, line, col);
    t.text = std::move(text);
    return t;
  }
  case '-':
    if (peek(1) == '>') {
      bump();
      bump();
      return make(TokenKind::Arrow, start, line, col);
    }
    if (isDigit(peek(1)))
      return lexNumber(start, line, col);
    if (peek(1) == 'i' && peek(2) == 'n' && peek(3) == 'f' &&
        !isIdentChar(peek(4))) {
      for (int i = 0; i < 4; ++i)
        bump();
      return make(TokenKind::Float, start, line, col);
    }
    return error("unexpected character '-'", line, col);
  default:
    break;
  }
  if (isDigit(c))
    return lexNumber(start, line, col);
  if (isIdentStart(c)) {
    while (isIdentChar(peek()))
      bump();
    return make(TokenKind::Identifier, start, line, col);
  }
  unsigned char u = static_cast<unsigned char>(c);
  if (u >= 0x80) {
    size_t n = utf8SequenceLength(buf_, pos_);
    if (n > 1)
      return error("unexpected character '" +
                       std::string(buf_.substr(pos_, n)) + "'",
                   line, col);
    return error("unexpected byte " + hexByte(u), line, col);
  }
  if (u < 0x20 || u == 0x7f)
    return error("unexpected character " + hexByte(u), line, col);
  return error(std::string("unexpected character '") + c + "'", line, col);
}

Token Lexer::lexNumber(size_t start, int line, int col) {
  bool negative = peek() == '-';
  if (negative)
    bump();
  // Hex blob: 0x followed by hex digits.
  if (!negative && peek() == '0' && peek(1) == 'x') {
    bump();
    bump();
    size_t digits = 0;
    while (isHexDigit(peek())) {
      bump();
      ++digits;
    }
    if (isIdentChar(peek()) || peek() == '$' || peek() == '-')
      return error(std::string("invalid hex digit '") + peek() +
                       "' in hex blob",
                   line_, col_);
    if (digits % 2 != 0)
      return error("hex blob has an odd number of digits", line, col);
    return make(TokenKind::HexBlob, start, line, col);
  }
  bool isFloat = false;
  while (isDigit(peek()))
    bump();
  if (peek() == '.') {
    isFloat = true;
    bump();
    while (isDigit(peek()))
      bump();
  }
  if (peek() == 'e' || peek() == 'E') {
    size_t k = 1;
    if (peek(1) == '+' || peek(1) == '-')
      k = 2;
    if (!isDigit(peek(k)))
      return error("expected digits in the exponent of a number", line_,
                   col_);
    isFloat = true;
    for (size_t i = 0; i < k; ++i)
      bump();
    while (isDigit(peek()))
      bump();
  }
  if (isIdentChar(peek()) || peek() == '$')
    return error(std::string("invalid character '") + peek() +
                     "' in a number",
                 line_, col_);
  return make(isFloat ? TokenKind::Float : TokenKind::Integer, start, line,
              col);
}

Token Lexer::lexName(TokenKind kind, size_t start, int line, int col) {
  bump(); // the sigil
  if (peek() == '"') {
    std::string text;
    Token err;
    if (!lexQuoted(text, err))
      return err;
    Token t = make(kind, start, line, col);
    t.text = std::move(text);
    return t;
  }
  size_t nameStart = pos_;
  while (!atEnd() && isNameChar(peek()))
    bump();
  if (pos_ == nameStart)
    return error(std::string("expected a name after '") + buf_[start] + "'",
                 line, col);
  Token t = make(kind, start, line, col);
  t.text = std::string(buf_.substr(nameStart, pos_ - nameStart));
  return t;
}

bool Lexer::lexQuoted(std::string &out, Token &err) {
  int line = line_, col = col_;
  bump(); // the opening quote
  while (true) {
    if (atEnd() || peek() == '\n') {
      err = error("unterminated string", line, col);
      return false;
    }
    char c = peek();
    if (c == '"') {
      bump();
      return true;
    }
    if (c != '\\') {
      out += c;
      bump();
      continue;
    }
    int escLine = line_, escCol = col_;
    char e = peek(1);
    if (e == '"' || e == '\\') {
      out += e;
    } else if (e == 'n') {
      out += '\n';
    } else if (e == 't') {
      out += '\t';
    } else if (isHexDigit(e) && isHexDigit(peek(2))) {
      out += static_cast<char>(hexValue(e) * 16 + hexValue(peek(2)));
      bump();
    } else {
      std::string seq = "\\";
      if (e >= 0x20 && e < 0x7f)
        seq += e;
      err = error("invalid escape sequence '" + seq + "' in string", escLine, escCol);
      return false;
    }
    bump();
    bump();
  }
}

} // namespace tcpu

//===- Npy.cpp - NumPy .npy files -----------------------------------------===//
//
// Format (numpy/lib/format.py): the magic "\x93NUMPY", a major and a minor
// version byte, the header length (uint16 little-endian in version 1.0,
// uint32 in 2.0 and 3.0), then the header: a Python dict literal with exactly
// the keys 'descr', 'fortran_order' and 'shape', padded with spaces and ended
// by '\n'. The raw C-order element bytes follow.
//
// Every size read from the file is checked before it is used: the parser only
// ever looks at bytes inside `bytes`, and allocates only once the data is
// known to be present.
//
//===----------------------------------------------------------------------===//
#include "ir/Npy.h"

#include "absl/status/status.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <variant>

namespace tcpu {

namespace {

constexpr std::string_view kMagic = "\x93NUMPY";

absl::Status npyError(const std::string &name, const std::string &what) {
  return absl::InvalidArgumentError("npy file '" + name + "': " + what);
}

// ----- a parser for the header's Python literal ---------------------------

/// The subset of Python literals a header can hold: str, int, bool/None,
/// and tuples or lists of those.
struct PyValue {
  enum Kind { Str, Int, True, False, None, Tuple, List } kind = None;
  std::string str;
  int64_t integer = 0;
  std::vector<PyValue> items;
};

class HeaderParser {
public:
  explicit HeaderParser(std::string_view text) : text_(text) {}

  /// Parses "{key: value, ...}" and nothing else (trailing whitespace ok).
  absl::Status parseDict(std::vector<std::pair<std::string, PyValue>> &out) {
    skipSpace();
    if (!eat('{'))
      return fail("expected '{'");
    skipSpace();
    while (!eat('}')) {
      PyValue key;
      if (absl::Status s = parseValue(key, 0); !s.ok())
        return s;
      if (key.kind != PyValue::Str)
        return fail("dict keys must be strings");
      skipSpace();
      if (!eat(':'))
        return fail("expected ':' after key '" + key.str + "'");
      PyValue value;
      if (absl::Status s = parseValue(value, 0); !s.ok())
        return s;
      out.emplace_back(key.str, std::move(value));
      skipSpace();
      if (eat(','))
        skipSpace();
      else if (peek() != '}')
        return fail("expected ',' or '}'");
    }
    skipSpace();
    if (pos_ != text_.size())
      return fail("unexpected text after the dict");
    return absl::OkStatus();
  }

private:
  absl::Status fail(const std::string &what) const {
    return absl::InvalidArgumentError("garbled header at offset " +
                                      std::to_string(pos_) + ": " + what);
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool eat(char c) {
    if (peek() != c || pos_ >= text_.size())
      return false;
    ++pos_;
    return true;
  }
  void skipSpace() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' ||
            text_[pos_] == '\r'))
      ++pos_;
  }
  bool eatWord(std::string_view w) {
    if (text_.substr(pos_, w.size()) != w)
      return false;
    pos_ += w.size();
    return true;
  }

  absl::Status parseValue(PyValue &v, int depth) {
    // Nesting only happens in structured dtypes (which are refused anyway);
    // the limit keeps "((((..." from exhausting the stack.
    if (depth > 8)
      return fail("nested too deeply");
    skipSpace();
    char c = peek();
    if (c == '\'' || c == '"') {
      ++pos_;
      size_t end = text_.find(c, pos_);
      if (end == std::string_view::npos)
        return fail("unterminated string");
      v.kind = PyValue::Str;
      v.str = std::string(text_.substr(pos_, end - pos_));
      if (v.str.find('\\') != std::string::npos)
        return fail("escapes in strings are not supported");
      pos_ = end + 1;
      return absl::OkStatus();
    }
    if (c == '(' || c == '[') {
      char close = c == '(' ? ')' : ']';
      ++pos_;
      v.kind = c == '(' ? PyValue::Tuple : PyValue::List;
      skipSpace();
      while (!eat(close)) {
        PyValue item;
        if (absl::Status s = parseValue(item, depth + 1); !s.ok())
          return s;
        v.items.push_back(std::move(item));
        skipSpace();
        if (eat(','))
          skipSpace();
        else if (peek() != close)
          return fail(std::string("expected ',' or '") + close + "'");
      }
      return absl::OkStatus();
    }
    if (c == '-' || c == '+' || (c >= '0' && c <= '9')) {
      const char *first = text_.data() + pos_;
      const char *last = text_.data() + text_.size();
      if (*first == '+')
        ++first;
      auto [ptr, ec] = std::from_chars(first, last, v.integer);
      if (ec == std::errc::result_out_of_range)
        return fail("integer out of range");
      if (ec != std::errc())
        return fail("bad integer");
      pos_ = static_cast<size_t>(ptr - text_.data());
      eat('L'); // Python 2 long literals, as very old numpy wrote them
      v.kind = PyValue::Int;
      return absl::OkStatus();
    }
    if (eatWord("True")) {
      v.kind = PyValue::True;
      return absl::OkStatus();
    }
    if (eatWord("False")) {
      v.kind = PyValue::False;
      return absl::OkStatus();
    }
    if (eatWord("None")) {
      v.kind = PyValue::None;
      return absl::OkStatus();
    }
    return fail("unexpected character");
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// ----- dtypes ---------------------------------------------------------------

/// The descr numpy writes for a dtype; bf16 has none.
std::optional<std::string> descrOf(DType t) {
  switch (t) {
  case DType::F32:
    return "<f4";
  case DType::F16:
    return "<f2";
  case DType::I8:
    return "|i1";
  case DType::U8:
    return "|u1";
  case DType::I32:
    return "<i4";
  case DType::I64:
    return "<i8";
  case DType::Bool:
    return "|b1";
  case DType::BF16:
    return std::nullopt;
  }
  return std::nullopt;
}

/// Maps a descr to a dtype. Multi-byte types must be little-endian ('<');
/// single-byte ones may carry any byte-order mark, as it means nothing.
absl::StatusOr<DType> dtypeOfDescr(const std::string &descr,
                                   const std::string &name) {
  static constexpr std::string_view kSupported =
      "supported: <f4, <f2, |i1, |u1, <i4, <i8, |b1";
  if (descr.size() >= 2) {
    char order = descr[0];
    std::string_view code = std::string_view(descr).substr(1);
    bool anyOrder = order == '<' || order == '|' || order == '>' ||
                    order == '=';
    if (anyOrder && (code == "i1" || code == "u1" || code == "b1"))
      return code == "i1" ? DType::I8 : code == "u1" ? DType::U8 : DType::Bool;
    static const std::pair<std::string_view, DType> kMulti[] = {
        {"f4", DType::F32}, {"f2", DType::F16}, {"i4", DType::I32},
        {"i8", DType::I64}};
    for (auto [c, t] : kMulti) {
      if (code != c)
        continue;
      if (order == '<')
        return t;
      if (order == '>')
        return npyError(name, "dtype '" + descr +
                                  "' is big-endian; only little-endian data "
                                  "is supported");
    }
  }
  return npyError(name, "dtype '" + descr + "' is not supported (" +
                            std::string(kSupported) + ")");
}

std::string shapeTupleString(const Shape &shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1)
    s += ",";
  return s + ")";
}

uint32_t readLE(std::string_view bytes, size_t at, int n) {
  uint32_t v = 0;
  for (int i = n - 1; i >= 0; --i)
    v = (v << 8) | static_cast<uint8_t>(bytes[at + i]);
  return v;
}

} // namespace

absl::StatusOr<Tensor> parseNpy(std::string_view bytes,
                                const std::string &name) {
  if (bytes.size() < kMagic.size() + 2 ||
      bytes.substr(0, kMagic.size()) != kMagic)
    return npyError(name, "not a .npy file (bad magic)");
  int major = static_cast<uint8_t>(bytes[6]);
  int minor = static_cast<uint8_t>(bytes[7]);
  if ((major != 1 && major != 2 && major != 3) || minor != 0)
    return npyError(name, "unsupported .npy version " + std::to_string(major) +
                              "." + std::to_string(minor) +
                              " (supported: 1.0, 2.0, 3.0)");
  size_t lenBytes = major == 1 ? 2 : 4;
  size_t headerStart = 8 + lenBytes;
  if (bytes.size() < headerStart)
    return npyError(name, "truncated before the header length");
  uint64_t headerLen = readLE(bytes, 8, static_cast<int>(lenBytes));
  if (headerLen > bytes.size() - headerStart)
    return npyError(name, "truncated header: it claims " +
                              std::to_string(headerLen) + " bytes, the file has " +
                              std::to_string(bytes.size() - headerStart) +
                              " after the header length");
  std::string_view header = bytes.substr(headerStart, headerLen);

  std::vector<std::pair<std::string, PyValue>> dict;
  if (absl::Status s = HeaderParser(header).parseDict(dict); !s.ok())
    return npyError(name, std::string(s.message()));
  const PyValue *descr = nullptr, *fortran = nullptr, *shapeVal = nullptr;
  for (const auto &[key, value] : dict) {
    const PyValue **slot = key == "descr"           ? &descr
                           : key == "fortran_order" ? &fortran
                           : key == "shape"         ? &shapeVal
                                                    : nullptr;
    if (!slot)
      return npyError(name, "unexpected header key '" + key + "'");
    if (*slot)
      return npyError(name, "header key '" + key + "' appears twice");
    *slot = &value;
  }
  for (auto [key, v] : {std::pair{"descr", descr},
                        std::pair{"fortran_order", fortran},
                        std::pair{"shape", shapeVal}})
    if (!v)
      return npyError(name, std::string("header has no '") + key + "' key");

  if (descr->kind != PyValue::Str)
    return npyError(name, "structured dtypes are not supported ('descr' is "
                          "not a string)");
  absl::StatusOr<DType> dtype = dtypeOfDescr(descr->str, name);
  if (!dtype.ok())
    return dtype.status();
  if (fortran->kind == PyValue::True)
    return npyError(name, "fortran_order True is not supported (dtype '" +
                              descr->str + "'); save a C-order array");
  if (fortran->kind != PyValue::False)
    return npyError(name, "'fortran_order' must be True or False");

  if (shapeVal->kind != PyValue::Tuple)
    return npyError(name, "'shape' must be a tuple");
  if (shapeVal->items.size() > static_cast<size_t>(kMaxRank))
    return npyError(name, "rank " + std::to_string(shapeVal->items.size()) +
                              " exceeds the maximum rank " +
                              std::to_string(kMaxRank));
  Shape shape;
  for (const PyValue &d : shapeVal->items) {
    if (d.kind != PyValue::Int)
      return npyError(name, "'shape' must hold integers");
    shape.push_back(d.integer);
  }
  for (int64_t d : shape)
    if (d < 0)
      return npyError(name, "negative dimension " + std::to_string(d) +
                                " in shape " + shapeTupleString(shape));
  TensorType type(*dtype, shape);
  std::optional<int64_t> count = checkedNumElements(shape);
  int64_t es = dtypeSize(*dtype);
  if (!count || *count > std::numeric_limits<int64_t>::max() / es)
    return npyError(name, "shape " + shapeTupleString(shape) +
                              " has more bytes than int64 can count");
  uint64_t need = static_cast<uint64_t>(*count * es);
  std::string_view data = bytes.substr(headerStart + headerLen);
  if (data.size() < need)
    return npyError(name, "data is truncated: shape " +
                              shapeTupleString(shape) + " of '" + descr->str +
                              "' needs " + std::to_string(need) +
                              " bytes, the file has " +
                              std::to_string(data.size()));
  if (data.size() > need)
    return npyError(name, "extra bytes after the data: shape " +
                              shapeTupleString(shape) + " of '" + descr->str +
                              "' needs " + std::to_string(need) +
                              " bytes, the file has " +
                              std::to_string(data.size()));
  absl::StatusOr<Tensor> t = Tensor::allocate(type);
  if (!t.ok())
    return npyError(name, std::string(t.status().message()));
  if (need)
    std::memcpy(t->mutableData(), data.data(), need);
  if (*dtype == DType::Bool) {
    // Tensors hold bools as 0/1; numpy may hold any nonzero byte as True.
    uint8_t *p = t->mutableDataAs<uint8_t>();
    for (uint64_t i = 0; i < need; ++i)
      p[i] = p[i] != 0;
  }
  return t;
}

absl::StatusOr<Tensor> readNpy(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return absl::NotFoundError("cannot open npy file '" + path +
                               "': " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad())
    return absl::DataLossError("cannot read npy file '" + path + "'");
  std::string bytes = std::move(ss).str();
  return parseNpy(bytes, path);
}

std::string serializeNpy(const Tensor &tensor) {
  std::optional<std::string> descr = descrOf(tensor.dtype());
  if (!descr || !tensor.type().isPlain() || !tensor.valid())
    return "";
  std::string header = "{'descr': '" + *descr +
                       "', 'fortran_order': False, 'shape': " +
                       shapeTupleString(tensor.shape()) + ", }";
  // As numpy: pad with spaces so that magic + version + length + header +
  // '\n' is a multiple of 64, keeping the data aligned.
  size_t used = kMagic.size() + 2 + 2 + header.size() + 1;
  header.append((64 - used % 64) % 64, ' ');
  header += '\n';
  std::string out(kMagic);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>((header.size() >> 8) & 0xff);
  out += header;
  out.append(static_cast<const char *>(tensor.data()),
             static_cast<size_t>(tensor.byteSize()));
  return out;
}

absl::Status writeNpy(const std::string &path, const Tensor &tensor) {
  if (!descrOf(tensor.dtype()))
    return absl::InvalidArgumentError(
        "cannot write '" + path + "': " + tensor.type().str() +
        " has no NumPy dtype (bf16 is not a NumPy type); cast it first");
  if (!tensor.type().isPlain())
    return absl::InvalidArgumentError("cannot write '" + path + "': " +
                                      tensor.type().str() +
                                      " is not in the plain layout");
  if (!tensor.valid())
    return absl::InvalidArgumentError("cannot write '" + path +
                                      "': the tensor has no data");
  std::string bytes = serializeNpy(tensor);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out)
    return absl::PermissionDeniedError("cannot open '" + path +
                                       "' for writing: " + std::strerror(errno));
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out)
    return absl::DataLossError("cannot write '" + path + "'");
  return absl::OkStatus();
}

} // namespace tcpu

//===- OpTable.cpp - Per-op information from Ops.def ----------------------===//
//
// Builds the OpInfo table from Ops.def, parsing the operand and attribute
// spec strings once. A malformed spec is a bug in Ops.def, caught by the
// first test that touches the table.
//
//===----------------------------------------------------------------------===//
#include "ir/OpTable.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <unordered_map>

namespace tcpu {

namespace {

std::string strip(std::string_view s) {
  size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string_view::npos ? "" : std::string(s.substr(b, e - b + 1));
}
template <class T> bool parseNumber(std::string_view s, T *out) {
  auto res = std::from_chars(s.data(), s.data() + s.size(), *out);
  return res.ec == std::errc() && res.ptr == s.data() + s.size();
}
bool consumeSuffix(std::string &s, std::string_view suffix) {
  if (s.size() < suffix.size() || s.compare(s.size() - suffix.size(), suffix.size(), suffix) != 0)
    return false;
  s.resize(s.size() - suffix.size());
  return true;
}

[[noreturn]] void specBug(std::string_view op, std::string_view what) {
  std::fprintf(stderr, "tcpu: bad spec in Ops.def for '%.*s': %.*s\n",
               static_cast<int>(op.size()), op.data(),
               static_cast<int>(what.size()), what.data());
  std::abort();
}

/// Splits on commas that are not inside brackets.
std::vector<std::string> splitTopLevel(std::string_view s) {
  std::vector<std::string> parts;
  int depth = 0;
  bool inString = false;
  std::string cur;
  for (char c : s) {
    if (c == '"')
      inString = !inString;
    if (!inString && c == '[')
      ++depth;
    if (!inString && c == ']')
      --depth;
    if (!inString && depth == 0 && c == ',') {
      parts.emplace_back(strip(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  std::string last(strip(cur));
  if (!last.empty() || !parts.empty())
    parts.push_back(last);
  return parts;
}

AttrValue parseDefault(std::string_view op, AttrKind kind,
                       std::string_view text) {
  switch (kind) {
  case AttrKind::Int: {
    int64_t v;
    if (!parseNumber(text, &v))
      specBug(op, text);
    return v;
  }
  case AttrKind::Float: {
    double v;
    if (!parseNumber(text, &v))
      specBug(op, text);
    return v;
  }
  case AttrKind::String:
    if (text.size() < 2 || text.front() != '"' || text.back() != '"')
      specBug(op, text);
    return std::string(text.substr(1, text.size() - 2));
  case AttrKind::Ints: {
    if (text.size() < 2 || text.front() != '[' || text.back() != ']')
      specBug(op, text);
    std::vector<int64_t> l;
    for (const std::string &p : splitTopLevel(text.substr(1, text.size() - 2))) {
      int64_t v;
      if (!parseNumber(p, &v))
        specBug(op, text);
      l.push_back(v);
    }
    return l;
  }
  case AttrKind::DType: {
    std::optional<DType> t = parseDType(text);
    if (!t)
      specBug(op, text);
    return *t;
  }
  case AttrKind::Graph: // graphs have no default
    break;
  }
  specBug(op, text);
}

std::vector<AttrSpec> parseAttrSpecs(std::string_view op,
                                     std::string_view spec) {
  std::vector<AttrSpec> out;
  for (const std::string &item : splitTopLevel(spec)) {
    AttrSpec a;
    size_t colon = item.find(':');
    if (colon == std::string::npos)
      specBug(op, item);
    a.name = item.substr(0, colon);
    std::string rest = item.substr(colon + 1);
    std::string kindText = rest, defaultText;
    bool optional = false;
    if (size_t eq = rest.find('='); eq != std::string::npos) {
      kindText = rest.substr(0, eq);
      defaultText = rest.substr(eq + 1);
    } else if (!rest.empty() && rest.back() == '?') {
      kindText = rest.substr(0, rest.size() - 1);
      optional = true;
    }
    static const std::pair<std::string_view, AttrKind> kinds[] = {
        {"int", AttrKind::Int},   {"float", AttrKind::Float},
        {"str", AttrKind::String}, {"ints", AttrKind::Ints},
        {"dtype", AttrKind::DType}, {"graph", AttrKind::Graph}};
    bool found = false;
    for (auto [name, kind] : kinds)
      if (name == kindText) {
        a.kind = kind;
        found = true;
      }
    if (!found)
      specBug(op, item);
    if (!defaultText.empty())
      a.defaultValue = parseDefault(op, a.kind, defaultText);
    a.required = defaultText.empty() && !optional;
    out.push_back(std::move(a));
  }
  return out;
}

std::vector<OperandSpec> parseOperandSpecs(std::string_view op,
                                           std::string_view spec) {
  std::vector<OperandSpec> out;
  for (std::string item : splitTopLevel(spec)) {
    OperandSpec o;
    if (consumeSuffix(item, "..."))
      o.variadic = true;
    else if (consumeSuffix(item, "?"))
      o.optional = true;
    if (item.empty())
      specBug(op, spec);
    o.name = item;
    out.push_back(std::move(o));
  }
  for (size_t i = 0; i + 1 < out.size(); ++i)
    if (out[i].variadic)
      specBug(op, "only the last operand may be variadic");
  return out;
}

std::vector<OpInfo> buildTable() {
  std::vector<OpInfo> table;
#define OP(Kind, Method, Mnemonic, Operands, Results, Attrs, Infer, Eval,     \
           Traits)                                                             \
  table.push_back(OpInfo{OpKind::Kind, Mnemonic,                               \
                         parseOperandSpecs(Mnemonic, Operands),                \
                         splitTopLevel(Results),     \
                         parseAttrSpecs(Mnemonic, Attrs), &Infer, &Eval,       \
                         static_cast<unsigned>(Traits)});
#include "ir/Ops.def"
  return table;
}

} // namespace

int OpInfo::minOperands() const {
  int n = 0;
  for (const OperandSpec &o : operands)
    if (!o.optional)
      ++n;
  return n;
}

int OpInfo::maxOperands() const {
  if (!operands.empty() && operands.back().variadic)
    return -1;
  return static_cast<int>(operands.size());
}

const AttrSpec *OpInfo::findAttr(std::string_view name) const {
  for (const AttrSpec &a : attrs)
    if (a.name == name)
      return &a;
  return nullptr;
}

const std::vector<OpInfo> &allOps() {
  static const std::vector<OpInfo> table = buildTable();
  return table;
}

const OpInfo &opInfo(OpKind kind) {
  return allOps()[static_cast<size_t>(kind)];
}

const OpInfo *lookupOp(std::string_view mnemonic) {
  static const auto *index = [] {
    auto *m = new std::unordered_map<std::string_view, const OpInfo *>;
    for (const OpInfo &info : allOps())
      (*m)[info.mnemonic] = &info;
    return m;
  }();
  auto it = index->find(mnemonic);
  return it == index->end() ? nullptr : it->second;
}

std::string checkOperandCount(const OpInfo &info, int count) {
  int lo = info.minOperands(), hi = info.maxOperands();
  if (count >= lo && (hi < 0 || count <= hi))
    return "";
  std::string expected = hi < 0      ? "at least " + std::to_string(lo)
                         : lo == hi ? std::to_string(lo)
                                    : std::to_string(lo) + " to " +
                                          std::to_string(hi);
  bool one = hi == 1 || (hi < 0 && lo == 1) || (lo == hi && lo == 1);
  return "'" + std::string(info.mnemonic) + "' takes " + expected +
         (one ? " operand" : " operands") + ", got " + std::to_string(count);
}

std::vector<std::string> normalizeAttributes(const OpInfo &info,
                                             Attributes &attrs) {
  std::vector<std::string> problems;
  for (const auto &[name, value] : attrs) {
    const AttrSpec *spec = info.findAttr(name);
    if (!spec) {
      std::string known;
      for (const AttrSpec &a : info.attrs)
        known += (known.empty() ? "" : ", ") + a.name;
      problems.push_back("'" + std::string(info.mnemonic) +
                         "' has no attribute '" + name + "'" +
                         (known.empty() ? " (it takes none)"
                                        : " (it takes: " + known + ")"));
      continue;
    }
    // An int literal is a fine value for a float attribute.
    if (spec->kind == AttrKind::Float && attrKindOf(value) == AttrKind::Int)
      continue;
    if (attrKindOf(value) != spec->kind)
      problems.push_back("attribute '" + name + "' of '" +
                         std::string(info.mnemonic) + "' must be " +
                         std::string(attrKindName(spec->kind)) + ", got " +
                         std::string(attrKindName(attrKindOf(value))) + " " +
                         attrValueToString(value));
  }
  // Promote int literals given for float attributes.
  for (const AttrSpec &spec : info.attrs) {
    const AttrValue *v = attrs.get(spec.name);
    if (v && spec.kind == AttrKind::Float && attrKindOf(*v) == AttrKind::Int)
      attrs.set(spec.name, static_cast<double>(std::get<int64_t>(*v)));
    if (!v && spec.defaultValue)
      attrs.set(spec.name, *spec.defaultValue);
    if (!v && spec.required)
      problems.push_back("'" + std::string(info.mnemonic) +
                         "' needs attribute '" + spec.name + "' (" +
                         std::string(attrKindName(spec.kind)) + ")");
  }
  return problems;
}

} // namespace tcpu

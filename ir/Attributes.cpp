//===- Attributes.cpp - Typed op attributes -------------------------------===//
#include "ir/Attributes.h"

#include "ir/Graph.h"
#include "ir/Lexer.h"
#include "ir/Printer.h"

#include <charconv>
#include <cmath>

namespace tcpu {

std::string_view attrKindName(AttrKind k) {
  switch (k) {
  case AttrKind::Int:
    return "int";
  case AttrKind::Float:
    return "float";
  case AttrKind::String:
    return "str";
  case AttrKind::Ints:
    return "ints";
  case AttrKind::DType:
    return "dtype";
  case AttrKind::Graph:
    return "graph";
  }
  return "?";
}

bool operator==(const GraphAttr &a, const GraphAttr &b) {
  if (a.graph == b.graph)
    return true;
  return a.graph && b.graph && printBody(*a.graph) == printBody(*b.graph);
}

AttrKind attrKindOf(const AttrValue &v) {
  return static_cast<AttrKind>(v.index());
}

namespace {
template <class F> std::string shortestFloat(F f) {
  if (std::isnan(f))
    return "nan";
  if (std::isinf(f))
    return f < 0 ? "-inf" : "inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, f);
  std::string s(buf, res.ptr);
  // Keep floats distinguishable from ints in the text form.
  if (s.find_first_of(".e") == std::string::npos)
    s += ".0";
  return s;
}
} // namespace

std::string floatLiteral(double d) { return shortestFloat(d); }
std::string floatLiteral(float f) { return shortestFloat(f); }

std::string attrValueToString(const AttrValue &v) {
  switch (attrKindOf(v)) {
  case AttrKind::Int:
    return std::to_string(std::get<int64_t>(v));
  case AttrKind::Float:
    return floatLiteral(std::get<double>(v));
  case AttrKind::String:
    return quoteString(std::get<std::string>(v));
  case AttrKind::Ints: {
    std::string s = "[";
    const auto &l = std::get<std::vector<int64_t>>(v);
    for (size_t i = 0; i < l.size(); ++i)
      s += (i ? ", " : "") + std::to_string(l[i]);
    return s + "]";
  }
  case AttrKind::DType:
    return std::string(dtypeName(std::get<DType>(v)));
  case AttrKind::Graph: {
    const auto &g = std::get<GraphAttr>(v).graph;
    return g ? printBody(*g) : "() {}";
  }
  }
  return "?";
}

const AttrValue *Attributes::get(const std::string &name) const {
  auto it = map_.find(name);
  return it == map_.end() ? nullptr : &it->second;
}

int64_t Attributes::getInt(const std::string &name, int64_t fallback) const {
  const AttrValue *v = get(name);
  return v && std::holds_alternative<int64_t>(*v) ? std::get<int64_t>(*v)
                                                   : fallback;
}
double Attributes::getFloat(const std::string &name, double fallback) const {
  const AttrValue *v = get(name);
  return v && std::holds_alternative<double>(*v) ? std::get<double>(*v)
                                                  : fallback;
}
std::string Attributes::getString(const std::string &name,
                                  const std::string &fallback) const {
  const AttrValue *v = get(name);
  return v && std::holds_alternative<std::string>(*v)
             ? std::get<std::string>(*v)
             : fallback;
}
std::vector<int64_t> Attributes::getInts(const std::string &name,
                                         std::vector<int64_t> fallback) const {
  const AttrValue *v = get(name);
  return v && std::holds_alternative<std::vector<int64_t>>(*v)
             ? std::get<std::vector<int64_t>>(*v)
             : fallback;
}
const Graph *Attributes::getGraph(const std::string &name) const {
  const AttrValue *v = get(name);
  if (v && std::holds_alternative<GraphAttr>(*v))
    return std::get<GraphAttr>(*v).graph.get();
  return nullptr;
}
std::optional<DType> Attributes::getDType(const std::string &name) const {
  const AttrValue *v = get(name);
  if (v && std::holds_alternative<DType>(*v))
    return std::get<DType>(*v);
  return std::nullopt;
}

} // namespace tcpu

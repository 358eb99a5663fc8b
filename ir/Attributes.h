//===- Attributes.h - Typed op attributes -----------------------*- C++ -*-===//
//
// Ops carry named attributes of six kinds: int, float, string, int list,
// dtype and graph (the body of `fused`). Which attributes an op takes, of
// which kind, with which default, is stated once in the op table (Ops.def)
// as a small spec string.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Types.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace tcpu {

class Graph;

/// A nested graph held by an attribute: the body of a `fused` op. Bodies are
/// immutable once built, so copies of an op (Graph::clone) share one.
struct GraphAttr {
  std::shared_ptr<const Graph> graph;
  /// Structural: equal when both print to the same text (CSE relies on it).
  friend bool operator==(const GraphAttr &a, const GraphAttr &b);
};

enum class AttrKind : uint8_t { Int, Float, String, Ints, DType, Graph };
std::string_view attrKindName(AttrKind k);

using AttrValue = std::variant<int64_t, double, std::string,
                               std::vector<int64_t>, DType, GraphAttr>;

AttrKind attrKindOf(const AttrValue &v);
/// The shortest text that reads back to the same value (NaN payloads aside),
/// always recognizable as a float: "1.0", "1e-05", "inf", "-inf", "nan".
std::string floatLiteral(double d);
std::string floatLiteral(float f);

/// Text form as the parser reads it back: 3, 0.5, "tanh", [1, 2], f32.
/// Floats print in the shortest form that reads back to the same double. A
/// graph prints as its body text, `(%a: f32[4]) { ... }` (see
/// ir/TextFormat.md; the printer writes it after the attribute dictionary).
std::string attrValueToString(const AttrValue &v);

/// Attributes of one op, ordered by name so that printing is deterministic.
class Attributes {
public:
  Attributes() = default;
  Attributes(std::initializer_list<std::pair<const std::string, AttrValue>> l)
      : map_(l) {}

  bool has(const std::string &name) const { return map_.count(name) != 0; }
  const AttrValue *get(const std::string &name) const;
  void set(const std::string &name, AttrValue v) { map_[name] = std::move(v); }
  void erase(const std::string &name) { map_.erase(name); }
  bool empty() const { return map_.empty(); }

  /// Typed getters. The verifier has already checked kinds and filled in
  /// defaults, so these are for use after verification; on a missing
  /// attribute or a kind mismatch they return the fallback.
  int64_t getInt(const std::string &name, int64_t fallback = 0) const;
  double getFloat(const std::string &name, double fallback = 0) const;
  std::string getString(const std::string &name,
                        const std::string &fallback = "") const;
  std::vector<int64_t> getInts(const std::string &name,
                               std::vector<int64_t> fallback = {}) const;
  std::optional<DType> getDType(const std::string &name) const;
  /// The graph attribute `name`, or nullptr.
  const Graph *getGraph(const std::string &name) const;

  auto begin() const { return map_.begin(); }
  auto end() const { return map_.end(); }
  size_t size() const { return map_.size(); }

  friend bool operator==(const Attributes &a, const Attributes &b) = default;

private:
  std::map<std::string, AttrValue> map_;
};

} // namespace tcpu

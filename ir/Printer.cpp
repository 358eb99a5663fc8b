//===- Printer.cpp - Text form of the IR: printing ------------------------===//
//
// Prints the canonical text form of ir/TextFormat.md. Every choice here is a
// function of the graph alone (names, handles, splats), so printing a parsed
// printout gives the same text again. The printer never fails: a graph that
// does not verify still prints, as far as it makes sense.
//
//===----------------------------------------------------------------------===//
#include "ir/Printer.h"

#include "ir/Lexer.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

namespace tcpu {

namespace {

bool isPlainNumber(std::string_view s) {
  if (s.empty())
    return false;
  for (char c : s)
    if (c < '0' || c > '9')
      return false;
  return true;
}


std::string elementLiteral(const Tensor &t, int64_t i) {
  switch (t.dtype()) {
  case DType::F32:
    return floatLiteral(t.dataAs<float>()[i]);
  case DType::F16:
  case DType::BF16:
    return floatLiteral(static_cast<float>(t.elementAsDouble(i)));
  case DType::Bool:
    return t.dataAs<uint8_t>()[i] ? "true" : "false";
  default:
    return std::to_string(t.elementAsInt(i));
  }
}

std::string attrLiteral(const AttrValue &v) {
  // Strings go through quoteString so that any bytes print as valid text.
  if (const auto *s = std::get_if<std::string>(&v))
    return quoteString(*s);
  return attrValueToString(v);
}

std::string hexBytes(const void *data, int64_t size) {
  static const char *digits = "0123456789ABCDEF";
  std::string s;
  s.reserve(2 + 2 * static_cast<size_t>(size));
  s += "0x";
  const auto *p = static_cast<const uint8_t *>(data);
  for (int64_t i = 0; i < size; ++i) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}

class Printer {
public:
  Printer(const Graph &g, const PrintOptions &o, int indent = 0)
      : graph_(g), options_(o), indent_(indent) {}
  std::string run();
  std::string runBody();

private:
  std::string nextNumber() {
    std::string s;
    do {
      s = std::to_string(counter_++);
    } while (used_.count(s));
    used_.insert(s);
    return s;
  }
  void nameValue(const Value *v, bool keepAny);
  const std::string &name(const Value *v) {
    auto it = names_.find(v);
    if (it == names_.end()) {
      // A value that is not defined in the graph (a broken graph).
      nameValue(v, false);
      it = names_.find(v);
    }
    return it->second;
  }
  bool printsInline(const Op &op) const;
  void assignHandles();
  void printOp(const Op &op);
  std::string constantPayload(const Op &op);

  const Graph &graph_;
  const PrintOptions &options_;
  /// Spaces before the graph's closing brace (2 more before each op).
  int indent_ = 0;
  std::string out_;
  std::unordered_map<const Value *, std::string> names_;
  std::unordered_set<std::string> used_;
  int64_t counter_ = 0;
  std::unordered_map<const Op *, std::string> handles_;
  /// Blobs to print, in order of first use.
  std::vector<std::pair<std::string, const Tensor *>> blobs_;
};

void Printer::nameValue(const Value *v, bool keepAny) {
  std::string n;
  if (v && !v->name.empty() && !used_.count(v->name) &&
      (keepAny || !isPlainNumber(v->name))) {
    n = formatName('%', v->name);
    used_.insert(v->name);
  } else {
    n = "%" + nextNumber();
  }
  names_[v] = std::move(n);
}

bool Printer::printsInline(const Op &op) const {
  const Tensor *t = op.constantValue();
  if (!t)
    return false;
  return options_.inlineConstants || t->numElements() == 0 ||
         t->numElements() <= options_.inlineElementLimit;
}

void Printer::assignHandles() {
  std::unordered_set<std::string> explicitHandles, taken;
  for (const auto &op : graph_.ops())
    if (op->kind() == OpKind::Constant && !printsInline(*op) &&
        !op->constantHandle.empty())
      explicitHandles.insert(op->constantHandle);
  std::unordered_map<std::string, const Tensor *> byHandle;
  int64_t generated = 0;
  for (const auto &op : graph_.ops()) {
    if (op->kind() != OpKind::Constant || printsInline(*op))
      continue;
    const Tensor *t = op->constantValue();
    const std::string &h = op->constantHandle;
    if (!h.empty()) {
      auto it = byHandle.find(h);
      if (it == byHandle.end()) {
        byHandle[h] = t;
        handles_[op.get()] = h;
        if (t)
          blobs_.push_back({h, t});
        continue;
      }
      // Two constants may share a handle when their bytes are the same.
      const Tensor *other = it->second;
      if (t && other && t->byteSize() == other->byteSize() &&
          (t->data() == other->data() ||
           std::memcmp(t->data(), other->data(), t->byteSize()) == 0)) {
        handles_[op.get()] = h;
        continue;
      }
    }
    std::string name;
    do {
      name = "cst" + std::to_string(generated++);
    } while (explicitHandles.count(name) || byHandle.count(name));
    byHandle[name] = t;
    handles_[op.get()] = name;
    if (t)
      blobs_.push_back({name, t});
  }
}

std::string Printer::constantPayload(const Op &op) {
  const Tensor *t = op.constantValue();
  if (!printsInline(op))
    return formatName('@', handles_[&op]);
  int64_t n = t->numElements();
  if (n == 0)
    return "dense<[]>";
  std::vector<std::string> elems;
  elems.reserve(n);
  // Several equal elements, or the one element of a scalar, print as a
  // splat. Equality is on the printed text, so that NaNs with different
  // payloads print the same way before and after a round trip.
  bool splat = n > 1 || t->rank() == 0;
  for (int64_t i = 0; i < n; ++i) {
    elems.push_back(elementLiteral(*t, i));
    splat = splat && elems[i] == elems[0];
  }
  if (splat)
    return "dense<" + elems[0] + ">";
  std::string s = "dense<[";
  for (int64_t i = 0; i < n; ++i) {
    if (i)
      s += ", ";
    s += elems[i];
  }
  return s + "]>";
}

void Printer::printOp(const Op &op) {
  out_ += std::string(indent_ + 2, ' ');
  std::vector<Value *> results = op.results();
  for (size_t i = 0; i < results.size(); ++i) {
    if (i)
      out_ += ", ";
    nameValue(results[i], false);
    out_ += names_[results[i]];
  }
  out_ += " = ";
  out_ += op.mnemonic();

  if (op.kind() == OpKind::Constant) {
    out_ += " " + constantPayload(op);
  } else {
    size_t count = op.operands.size();
    while (count > 0 && !op.operands[count - 1])
      --count;
    for (size_t i = 0; i < count; ++i) {
      out_ += i ? ", " : " ";
      out_ += op.operands[i] ? name(op.operands[i]) : "none";
    }
  }

  // Defaults filled in (and ints for float attributes promoted) so that
  // equal graphs print equally however their attributes were written.
  Attributes attrs = op.attrs;
  (void)normalizeAttributes(op.info(), attrs);
  std::string dict, bodies;
  for (const auto &[key, value] : attrs) {
    // Graphs (fused bodies) follow the dictionary: `name(%a: T) {...}`.
    if (const auto *g = std::get_if<GraphAttr>(&value)) {
      bodies += " " + key +
                (g->graph ? printBody(*g->graph, indent_ + 2) : "() {}");
      continue;
    }
    const AttrSpec *spec = op.info().findAttr(key);
    if (spec && spec->defaultValue && *spec->defaultValue == value)
      continue;
    if (!dict.empty())
      dict += ", ";
    dict += key + " = " + attrLiteral(value);
  }
  if (!dict.empty())
    out_ += " {" + dict + "}";
  out_ += bodies;

  out_ += " : ";
  for (size_t i = 0; i < results.size(); ++i) {
    if (i)
      out_ += ", ";
    out_ += results[i]->type.str();
  }
  out_ += "\n";
}

std::string Printer::run() {
  for (const Value *in : graph_.inputs())
    nameValue(in, true);
  assignHandles();

  out_ += "graph " + formatName('@', graph_.name) + "(";
  for (size_t i = 0; i < graph_.inputs().size(); ++i) {
    const Value *in = graph_.inputs()[i];
    if (i)
      out_ += ", ";
    out_ += names_[in] + ": " + in->type.str();
  }
  out_ += ") -> ";

  const auto &outputs = graph_.outputs();
  auto outputType = [](const GraphOutput &o) {
    return o.value ? o.value->type.str() : std::string("f32[]");
  };
  bool defaultNames = true;
  for (size_t i = 0; i < outputs.size(); ++i)
    defaultNames &= outputs[i].name == "output" + std::to_string(i);
  if (defaultNames && outputs.size() == 1) {
    out_ += outputType(outputs[0]);
  } else {
    out_ += "(";
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (i)
        out_ += ", ";
      if (!defaultNames)
        out_ += (isBareIdentifier(outputs[i].name)
                     ? outputs[i].name
                     : quoteString(outputs[i].name)) +
                ": ";
      out_ += outputType(outputs[i]);
    }
    out_ += ")";
  }
  out_ += " {\n";

  for (const auto &op : graph_.ops())
    printOp(*op);

  out_ += "  return";
  for (size_t i = 0; i < outputs.size(); ++i) {
    out_ += i ? ", " : " ";
    out_ += outputs[i].value ? name(outputs[i].value) : "%<null>";
  }
  out_ += "\n}\n";

  if (!options_.elideBlobs && !blobs_.empty()) {
    out_ += "\nblobs {\n";
    for (const auto &[handle, tensor] : blobs_)
      out_ += "  " + formatName('@', handle) + " = " +
              hexBytes(tensor->data(), tensor->byteSize()) + "\n";
    out_ += "}\n";
  }
  return std::move(out_);
}

std::string Printer::runBody() {
  out_ += "(";
  for (size_t i = 0; i < graph_.inputs().size(); ++i) {
    const Value *in = graph_.inputs()[i];
    nameValue(in, true);
    out_ += (i ? ", " : "") + names_[in] + ": " + in->type.str();
  }
  out_ += ") {\n";
  for (const auto &op : graph_.ops())
    printOp(*op);
  out_ += std::string(indent_ + 2, ' ') + "return";
  const auto &outputs = graph_.outputs();
  for (size_t i = 0; i < outputs.size(); ++i) {
    out_ += i ? ", " : " ";
    out_ += outputs[i].value ? name(outputs[i].value) : "%<null>";
  }
  out_ += "\n" + std::string(indent_, ' ') + "}";
  return std::move(out_);
}

} // namespace

std::string printGraph(const Graph &graph, const PrintOptions &options) {
  return Printer(graph, options).run();
}

std::string printBody(const Graph &body, int indent) {
  // Bodies have no blobs section of their own: constants print inline.
  PrintOptions options;
  options.inlineConstants = true;
  return Printer(body, options, indent).runBody();
}

} // namespace tcpu

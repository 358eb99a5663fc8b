//===- ImportContext.cpp - State shared by the ONNX op converters ---------===//
#include "ir/onnx/ImportContext.h"

#include "ir/Interpreter.h"
#include "ir/Verifier.h"

#include <charconv>
#include <cstring>

namespace tcpu::onnximport {

namespace {

/// Ops whose operands and results all fit in this many bytes are folded at
/// import. Shape arithmetic is far below it; weight-sized tensors are left to
/// the `fold` pass so that import never reads (or copies) mapped weights.
constexpr int64_t kFoldBytes = 1 << 20;

} // namespace

// ----- Importer -----------------------------------------------------------------

absl::StatusOr<Value *> Importer::lookup(const std::string &name) {
  if (auto it = values.find(name); it != values.end())
    return it->second;
  auto it = initializers.find(name);
  if (it == initializers.end())
    return nullptr;
  std::string what = "initializer '" + name + "'";
  absl::StatusOr<Tensor> t =
      decodeTensor(*it->second, what, external,
                   std::static_pointer_cast<const void>(model));
  if (!t.ok())
    return locatedError(Location::named(fileName), std::string(t.status().message()));
  Value *v = constant(std::move(*t), name,
                      Location::named(fileName + ":" + what));
  initializers.erase(it);
  values[name] = v;
  return v;
}

Value *Importer::constant(Tensor t, std::string name, Location loc) {
  Op *op = graph.appendConstant(std::move(t), name, std::move(loc));
  op->result()->name = std::move(name);
  return op->result();
}

// ----- NodeContext: basics --------------------------------------------------------

NodeContext::NodeContext(Importer &imp, const onnx::NodeProto &node, int index)
    : imp(imp), node(node) {
  std::string where = node.name().empty()
                          ? "node #" + std::to_string(index)
                          : "node '" + node.name() + "'";
  loc = Location::named(imp.fileName + ":" + where + " (" + node.op_type() + ")");
}

absl::Status NodeContext::error(const std::string &message) const {
  return locatedError(loc, message);
}

absl::Status NodeContext::resolveInputs() {
  inputs_.clear();
  for (const std::string &name : node.input()) {
    if (name.empty()) {
      inputs_.push_back(nullptr);
      continue;
    }
    absl::StatusOr<Value *> v = imp.lookup(name);
    if (!v.ok())
      return v.status();
    if (!*v)
      return error("input '" + name +
                   "' is not defined by an earlier node, a graph input or an "
                   "initializer");
    inputs_.push_back(*v);
  }
  return absl::OkStatus();
}

absl::StatusOr<Value *> NodeContext::required(size_t i,
                                              const std::string &what) const {
  if (Value *v = input(i))
    return v;
  return error("input " + std::to_string(i) + " (" + what + ") is required");
}

const Tensor *NodeContext::constantOf(const Value *v) {
  if (!v || !v->definingOp() || v->definingOp()->kind() != OpKind::Constant)
    return nullptr;
  return v->definingOp()->constantValue();
}

absl::StatusOr<Tensor> NodeContext::constInput(size_t i,
                                               const std::string &what) const {
  Value *v = input(i);
  if (!v)
    return error("input " + std::to_string(i) + " (" + what + ") is required");
  if (const Tensor *t = constantOf(v))
    return *t;
  std::string name = i < static_cast<size_t>(node.input_size())
                         ? node.input(static_cast<int>(i))
                         : "";
  return error("input '" + name + "' (" + what +
               ") must be a constant (after folding shape arithmetic) because "
               "the IR takes it as an attribute; it is computed at run time");
}

absl::StatusOr<std::vector<int64_t>>
NodeContext::constInts(size_t i, const std::string &what) const {
  TCPU_ASSIGN(Tensor t, constInput(i, what));
  if (!isInteger(t.dtype()) || t.rank() > 1)
    return error("input '" + node.input(static_cast<int>(i)) + "' (" + what +
                 ") must be an integer scalar or 1-D tensor, got " +
                 t.type().str());
  std::vector<int64_t> v(t.numElements());
  for (int64_t k = 0; k < t.numElements(); ++k)
    v[k] = t.elementAsInt(k);
  return v;
}

absl::StatusOr<double> NodeContext::constScalar(size_t i,
                                                const std::string &what) const {
  TCPU_ASSIGN(Tensor t, constInput(i, what));
  if (t.numElements() != 1)
    return error("input '" + node.input(static_cast<int>(i)) + "' (" + what +
                 ") must have one element, got " + t.type().str());
  return t.elementAsDouble(0);
}

// ----- NodeContext: attributes -------------------------------------------------------

const onnx::AttributeProto *NodeContext::attr(const std::string &name) const {
  for (const onnx::AttributeProto &a : node.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

void NodeContext::attrKindError(const std::string &name, const char *want) {
  if (attrError_.ok())
    attrError_ = error("attribute '" + name + "' must be " + want);
}

int64_t NodeContext::getInt(const std::string &name, int64_t fallback) {
  const onnx::AttributeProto *a = attr(name);
  if (!a)
    return fallback;
  if (a->type() == onnx::AttributeProto::INT ||
      (a->type() == onnx::AttributeProto::UNDEFINED && a->has_i()))
    return a->i();
  attrKindError(name, "an integer");
  return fallback;
}

namespace {
/// ONNX float attributes are f32; take the double with the same shortest
/// decimal form (1e-5f becomes 1e-05, not 9.99999974737875e-06), which is
/// the value the model's author wrote.
double floatAttrToDouble(float f) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, f);
  double d = f;
  if (r.ec == std::errc())
    std::from_chars(buf, r.ptr, d);
  return d;
}
} // namespace

double NodeContext::getFloat(const std::string &name, double fallback) {
  const onnx::AttributeProto *a = attr(name);
  if (!a)
    return fallback;
  if (a->type() == onnx::AttributeProto::FLOAT ||
      (a->type() == onnx::AttributeProto::UNDEFINED && a->has_f()))
    return floatAttrToDouble(a->f());
  if (a->type() == onnx::AttributeProto::INT)
    return static_cast<double>(a->i());
  attrKindError(name, "a float");
  return fallback;
}

std::string NodeContext::getString(const std::string &name,
                                   std::string fallback) {
  const onnx::AttributeProto *a = attr(name);
  if (!a)
    return fallback;
  if (a->type() == onnx::AttributeProto::STRING ||
      (a->type() == onnx::AttributeProto::UNDEFINED && a->has_s()))
    return a->s();
  attrKindError(name, "a string");
  return fallback;
}

std::vector<int64_t> NodeContext::getInts(const std::string &name,
                                          std::vector<int64_t> fallback) {
  const onnx::AttributeProto *a = attr(name);
  if (!a)
    return fallback;
  if (a->type() == onnx::AttributeProto::INTS ||
      a->type() == onnx::AttributeProto::UNDEFINED)
    return std::vector<int64_t>(a->ints().begin(), a->ints().end());
  attrKindError(name, "a list of integers");
  return fallback;
}

std::vector<double> NodeContext::getFloats(const std::string &name) {
  const onnx::AttributeProto *a = attr(name);
  if (!a)
    return {};
  if (a->type() == onnx::AttributeProto::FLOATS ||
      a->type() == onnx::AttributeProto::UNDEFINED) {
    std::vector<double> v;
    for (float f : a->floats())
      v.push_back(floatAttrToDouble(f));
    return v;
  }
  attrKindError(name, "a list of floats");
  return {};
}

std::vector<std::string> NodeContext::getStrings(const std::string &name) {
  const onnx::AttributeProto *a = attr(name);
  if (!a)
    return {};
  if (a->type() == onnx::AttributeProto::STRINGS ||
      a->type() == onnx::AttributeProto::UNDEFINED)
    return std::vector<std::string>(a->strings().begin(), a->strings().end());
  attrKindError(name, "a list of strings");
  return {};
}

const onnx::TensorProto *NodeContext::getTensor(const std::string &name) {
  const onnx::AttributeProto *a = attr(name);
  if (!a)
    return nullptr;
  if (a->type() == onnx::AttributeProto::TENSOR ||
      (a->type() == onnx::AttributeProto::UNDEFINED && a->has_t()))
    return &a->t();
  attrKindError(name, "a tensor");
  return nullptr;
}

// ----- NodeContext: outputs -------------------------------------------------------

bool NodeContext::outputUsed(size_t i) const {
  if (i >= numOutputs())
    return false;
  const std::string &name = node.output(static_cast<int>(i));
  if (name.empty())
    return false;
  auto it = imp.uses.find(name);
  return it != imp.uses.end() && it->second > 0;
}

absl::Status NodeContext::requireUnusedOutputsFrom(size_t i,
                                                   const std::string &what) const {
  for (size_t k = i; k < numOutputs(); ++k)
    if (outputUsed(k))
      return error("output '" + node.output(static_cast<int>(k)) + "' (" +
                   what + ") is not supported");
  return absl::OkStatus();
}

void NodeContext::setOutput(size_t i, Value *v) {
  if (i >= numOutputs())
    return;
  const std::string &name = node.output(static_cast<int>(i));
  if (name.empty())
    return;
  imp.values[name] = v;
  if (v->name.empty() && !v->isGraphInput())
    v->name = name;
}

// ----- NodeContext: building --------------------------------------------------------

absl::StatusOr<std::vector<Value *>>
NodeContext::emitMulti(OpKind kind, std::vector<Value *> operands,
                       Attributes attrs) {
  const OpInfo &info = opInfo(kind);
  std::string mn(info.mnemonic);
  int n = static_cast<int>(operands.size());
  // Trailing absent operands are simply left out.
  while (n > info.minOperands() && !operands[n - 1])
    operands.resize(--n);
  if (n < info.minOperands() || (info.maxOperands() >= 0 && n > info.maxOperands()))
    return error("internal: '" + mn + "' built with " + std::to_string(n) +
                 " operands");
  std::vector<const TensorType *> types;
  bool allConstant = true;
  std::vector<const Tensor *> tensors;
  for (int i = 0; i < n; ++i) {
    const OperandSpec &spec =
        info.operands[std::min<size_t>(i, info.operands.size() - 1)];
    if (!operands[i] && !spec.optional)
      return error("internal: operand '" + spec.name + "' of '" + mn +
                   "' is missing");
    types.push_back(operands[i] ? &operands[i]->type : nullptr);
    const Tensor *t = operands[i] ? constantOf(operands[i]) : nullptr;
    if (operands[i] && (!t || t->byteSize() > kFoldBytes))
      allConstant = false;
    tensors.push_back(t);
  }
  std::vector<std::string> problems = normalizeAttributes(info, attrs);
  if (!problems.empty())
    return error(problems.front());
  absl::StatusOr<std::vector<TensorType>> results =
      inferResultTypes(info, types, attrs);
  if (!results.ok())
    return error(std::string(results.status().message()));
  for (const TensorType &t : *results)
    if (std::string why = checkTensorType(t); !why.empty())
      return error("'" + mn + "' would produce " + t.str() + ": " + why);
  int64_t resultBytes = 0;
  for (const TensorType &t : *results)
    resultBytes += t.byteSize();
  Op *op = imp.graph.appendOp(kind, std::move(operands), std::move(attrs),
                              std::move(*results), loc);
  if (!allConstant || resultBytes > kFoldBytes)
    return op->results();
  absl::StatusOr<std::vector<Tensor>> folded = evaluateOp(*op, tensors);
  if (!folded.ok())
    return op->results(); // e.g. integer division by zero: keep it for run time
  imp.graph.ops().pop_back();
  std::vector<Value *> out;
  for (Tensor &t : *folded)
    out.push_back(imp.constant(std::move(t), "", loc));
  return out;
}

absl::StatusOr<Value *> NodeContext::emit(OpKind kind,
                                          std::vector<Value *> operands,
                                          Attributes attrs) {
  TCPU_ASSIGN(std::vector<Value *> r,
              emitMulti(kind, std::move(operands), std::move(attrs)));
  return r.front();
}

absl::StatusOr<Value *> NodeContext::cast(Value *v, DType to) {
  if (v->type.dtype == to)
    return v;
  return emit(OpKind::Cast, {v}, {{"to", to}});
}

absl::StatusOr<Value *> NodeContext::reshape(Value *v, Shape shape) {
  if (v->type.shape == shape)
    return v;
  return emit(OpKind::Reshape, {v}, {{"shape", std::move(shape)}});
}

Value *NodeContext::constant(Tensor t) {
  return imp.constant(std::move(t), "", loc);
}

Value *NodeContext::scalar(double v, DType dtype) {
  Tensor t = Tensor::allocate(TensorType(dtype, {})).value();
  t.setElementFromDouble(0, v);
  return constant(std::move(t));
}

Value *NodeContext::ints(const std::vector<int64_t> &v) {
  Tensor t =
      Tensor::allocate(TensorType(DType::I64, {static_cast<int64_t>(v.size())}))
          .value();
  for (size_t i = 0; i < v.size(); ++i)
    t.setElementFromInt(static_cast<int64_t>(i), v[i]);
  return constant(std::move(t));
}

// ----- Converter table ------------------------------------------------------------------

namespace {
struct Entry {
  const char *name;
  int64_t since;
  ConvertFn fn;
};
const Entry kEntries[] = {
#define TCPU_ONNX_OP(Name, Since, Fn) {#Name, Since, &Fn},
#include "ir/onnx/OnnxOps.def"
};
} // namespace

ConvertFn findConverter(const std::string &opType, int64_t opset) {
  for (const Entry &e : kEntries)
    if (opType == e.name)
      return opset >= e.since ? e.fn : nullptr;
  return nullptr;
}

} // namespace tcpu::onnximport

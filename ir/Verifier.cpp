//===- Verifier.cpp - Graph verification -----------------------------------===//
#include "ir/Verifier.h"

#include <unordered_set>

namespace tcpu {

std::string checkTensorType(const TensorType &type) {
  if (type.rank() > kMaxRank)
    return "rank " + std::to_string(type.rank()) + " of " + type.str() +
           " exceeds the maximum rank " + std::to_string(kMaxRank);
  for (int64_t d : type.shape)
    if (d < 0)
      return "negative dimension in " + type.str();
  std::optional<int64_t> n = checkedNumElements(type.shape);
  if (!n || *n > std::numeric_limits<int64_t>::max() / dtypeSize(type.dtype))
    return "the byte size of " + type.str() + " overflows int64";
  return "";
}

absl::StatusOr<std::vector<TensorType>>
inferResultTypes(const OpInfo &info,
                 const std::vector<const TensorType *> &operands,
                 const Attributes &attrs) {
  InferContext ctx{info, operands, attrs, {}};
  if (absl::Status s = info.infer(ctx); !s.ok())
    return s;
  if (static_cast<int>(ctx.results.size()) != info.numResults())
    return absl::InternalError("type inference of '" +
                               std::string(info.mnemonic) + "' gave " +
                               std::to_string(ctx.results.size()) +
                               " results, the op table says " +
                               std::to_string(info.numResults()));
  for (const TensorType &t : ctx.results)
    if (std::string why = checkTensorType(t); !why.empty())
      return absl::InvalidArgumentError("result of '" +
                                        std::string(info.mnemonic) +
                                        "': " + why);
  return ctx.results;
}

namespace {

std::string typeList(const std::vector<TensorType> &types) {
  std::string s;
  for (size_t i = 0; i < types.size(); ++i)
    s += (i ? ", " : "") + types[i].str();
  return s;
}

bool verifyGraphAt(const Graph &graph, DiagnosticEngine &diags, int depth);

void verifyOp(const Op &op, const std::unordered_set<const Value *> &defined,
              DiagnosticEngine &diags, int depth) {
  const OpInfo &info = op.info();
  const std::string mn(info.mnemonic);
  bool ok = true;

  int n = static_cast<int>(op.operands.size());
  if (std::string problem = checkOperandCount(info, n); !problem.empty()) {
    diags.error(op.loc, problem);
    ok = false;
  }
  for (int i = 0; i < n; ++i) {
    const Value *v = op.operands[i];
    const OperandSpec &spec =
        info.operands[std::min<size_t>(i, info.operands.size() - 1)];
    if (!v && !spec.optional) {
      diags.error(op.loc, "operand '" + spec.name + "' of '" + mn +
                              "' is required and cannot be none");
      ok = false;
    } else if (v && !defined.count(v)) {
      diags.error(op.loc, "operand '" + spec.name + "' of '" + mn +
                              "' is used before it is defined");
      ok = false;
    }
  }

  Attributes attrs = op.attrs;
  for (std::string &problem : normalizeAttributes(info, attrs)) {
    diags.error(op.loc, problem);
    ok = false;
  }
  // Nested graphs (fused bodies) are verified op by op with their own
  // locations; inference then checks how the body fits the op. Bodies do
  // not nest, so one level is all a valid graph needs (and a deeper one
  // cannot recurse without bound).
  for (const auto &[name, value] : attrs)
    if (const auto *g = std::get_if<GraphAttr>(&value)) {
      if (!g->graph) {
        diags.error(op.loc, "attribute '" + name + "' holds no graph");
        ok = false;
      } else if (depth > 0) {
        diags.error(op.loc, "'" + mn + "' cannot appear in a nested graph");
        ok = false;
      } else if (!verifyGraphAt(*g->graph, diags, depth + 1)) {
        ok = false;
      }
    }

  if (static_cast<int>(op.numResults()) != info.numResults()) {
    diags.error(op.loc, "'" + mn + "' has " + std::to_string(info.numResults()) +
                            (info.numResults() == 1 ? " result" : " results") +
                            ", got " + std::to_string(op.numResults()));
    return;
  }
  std::vector<TensorType> declared;
  for (const Value *r : op.results()) {
    declared.push_back(r->type);
    if (std::string why = checkTensorType(r->type); !why.empty()) {
      diags.error(op.loc, why);
      ok = false;
    }
  }

  if (op.kind() == OpKind::Constant) {
    const Tensor *t = op.constantValue();
    if (!t) {
      diags.error(op.loc, "constant has no value");
    } else if (t->type() != declared[0]) {
      diags.error(op.loc, "constant value of type " + t->type().str() +
                              " does not match its declared type " +
                              declared[0].str());
    }
    return;
  }
  if (!ok)
    return;

  std::vector<const TensorType *> operandTypes;
  for (const Value *v : op.operands)
    operandTypes.push_back(v ? &v->type : nullptr);
  absl::StatusOr<std::vector<TensorType>> inferred =
      inferResultTypes(info, operandTypes, attrs);
  if (!inferred.ok()) {
    diags.error(op.loc, std::string(inferred.status().message()));
    return;
  }
  // Layout tags are chosen by passes after inference; compare the rest.
  std::vector<TensorType> plainDeclared = declared;
  for (size_t i = 0; i < plainDeclared.size(); ++i)
    plainDeclared[i].layout = (*inferred)[i].layout;
  if (plainDeclared != *inferred)
    diags.error(op.loc, "'" + mn + "' result type " + typeList(declared) +
                            " does not match the inferred type " +
                            typeList(*inferred));
}

bool verifyGraphAt(const Graph &graph, DiagnosticEngine &diags, int depth) {
  size_t before = diags.diagnostics().size();
  std::unordered_set<const Value *> defined;
  std::unordered_set<std::string> inputNames;
  for (const Value *in : graph.inputs()) {
    if (std::string why = checkTensorType(in->type); !why.empty())
      diags.error(graph.loc, "input '" + in->name + "': " + why);
    if (!inputNames.insert(in->name).second)
      diags.error(graph.loc, "input name '" + in->name + "' is used twice");
    defined.insert(in);
  }
  for (const auto &op : graph.ops()) {
    verifyOp(*op, defined, diags, depth);
    for (const Value *r : op->results())
      defined.insert(r);
  }
  std::unordered_set<std::string> outputNames;
  if (graph.outputs().empty())
    diags.error(graph.loc, "graph '" + graph.name + "' has no outputs");
  for (const GraphOutput &out : graph.outputs()) {
    if (!out.value || !defined.count(out.value))
      diags.error(graph.loc, "output '" + out.name + "' is not defined");
    if (!outputNames.insert(out.name).second)
      diags.error(graph.loc, "output name '" + out.name + "' is used twice");
  }
  bool hasNewErrors = false;
  for (size_t i = before; i < diags.diagnostics().size(); ++i)
    hasNewErrors |= diags.diagnostics()[i].severity == Severity::Error;
  return !hasNewErrors;
}

} // namespace

bool verifyGraph(const Graph &graph, DiagnosticEngine &diags) {
  return verifyGraphAt(graph, diags, 0);
}

absl::Status verify(const Graph &graph) {
  DiagnosticEngine diags;
  verifyGraph(graph, diags);
  return diags.toStatus();
}

} // namespace tcpu

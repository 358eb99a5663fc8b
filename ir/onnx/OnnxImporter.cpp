//===- OnnxImporter.cpp - Import ONNX models into the tcpu IR -------------===//
//
// The driver: parse the ModelProto, check the opset, list every unsupported
// op at once, make graph inputs, convert the nodes in order (the converters
// live in Onnx*.cpp), bind the outputs, drop dead ops, verify.
//
//===----------------------------------------------------------------------===//
#include "ir/onnx/OnnxImporter.h"

#include "ir/Verifier.h"
#include "ir/onnx/ImportContext.h"

#include <google/protobuf/io/coded_stream.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_set>

namespace tcpu {

using namespace onnximport;

namespace {

constexpr int64_t kMinOpset = 10, kMaxOpset = 25;

bool isDefaultDomain(const std::string &d) {
  return d.empty() || d == "ai.onnx";
}

/// Every node whose op is not supported, grouped by op type in order of
/// first appearance, as one error; OK when there is none.
absl::Status checkSupportedOps(const onnx::GraphProto &g, int64_t opset,
                               const std::string &file) {
  std::vector<std::pair<std::string, std::vector<std::string>>> groups;
  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto &n = g.node(i);
    std::string type = n.op_type();
    if (!isDefaultDomain(n.domain()))
      type = n.domain() + "." + type;
    else if (findConverter(type, opset))
      continue;
    std::string name =
        n.name().empty() ? "#" + std::to_string(i) : "'" + n.name() + "'";
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const auto &p) { return p.first == type; });
    if (it == groups.end())
      groups.push_back({type, {name}});
    else
      it->second.push_back(name);
  }
  if (groups.empty())
    return absl::OkStatus();
  std::string msg = "unsupported ONNX ops (opset " + std::to_string(opset) + "): ";
  for (size_t k = 0; k < groups.size(); ++k) {
    const auto &[type, nodes] = groups[k];
    msg += (k ? ", " : "") + type + (nodes.size() == 1 ? " (node " : " (nodes ");
    for (size_t j = 0; j < nodes.size(); ++j)
      msg += (j ? ", " : "") + nodes[j];
    msg += ")";
  }
  return locatedError(Location::named(file), msg);
}

/// The IR type of a graph input, with symbolic dims filled from options.
absl::StatusOr<TensorType> inputType(const onnx::ValueInfoProto &vi,
                                     const OnnxImportOptions &options,
                                     const std::string &file) {
  Location loc = Location::named(file);
  std::string what = "input '" + vi.name() + "'";
  if (!vi.type().has_tensor_type())
    return locatedError(loc, what + " is not a tensor (sequences, maps and "
                                    "optionals are not supported)");
  const onnx::TypeProto::Tensor &tt = vi.type().tensor_type();
  absl::StatusOr<DType> dtype = mapElemType(tt.elem_type(), what);
  if (!dtype.ok())
    return locatedError(loc, std::string(dtype.status().message()));
  auto given = options.inputShapes.find(vi.name());
  if (!tt.has_shape()) {
    if (given == options.inputShapes.end())
      return locatedError(loc, what + " has no shape; give one with "
                                      "--input-shape " + vi.name() + "=DIMS");
    return TensorType(*dtype, given->second);
  }
  const onnx::TensorShapeProto &sp = tt.shape();
  if (given != options.inputShapes.end()) {
    const Shape &s = given->second;
    if (static_cast<int>(s.size()) != sp.dim_size())
      return locatedError(loc, what + " has rank " + std::to_string(sp.dim_size()) +
                                   ", the given shape " + shapeToString(s) +
                                   " has rank " + std::to_string(s.size()));
    for (int i = 0; i < sp.dim_size(); ++i)
      if (sp.dim(i).has_dim_value() && sp.dim(i).dim_value() != s[i])
        return locatedError(loc, what + ": the given shape " + shapeToString(s) +
                                     " disagrees with the model's dim " +
                                     std::to_string(i) + " = " +
                                     std::to_string(sp.dim(i).dim_value()));
    return TensorType(*dtype, s);
  }
  Shape shape;
  for (int i = 0; i < sp.dim_size(); ++i) {
    const onnx::TensorShapeProto::Dimension &d = sp.dim(i);
    if (d.has_dim_value() && d.dim_value() >= 0) {
      shape.push_back(d.dim_value());
      continue;
    }
    std::string dimName = d.has_dim_param() && !d.dim_param().empty()
                              ? "symbolic dim '" + d.dim_param() + "'"
                              : "unknown dim";
    return locatedError(loc, what + " has a " + dimName + " at position " +
                                 std::to_string(i) +
                                 "; give a static shape with --input-shape " +
                                 vi.name() + "=D0x...xDn");
  }
  return TensorType(*dtype, shape);
}

/// Removes ops whose results are unused (unused initializers, shape branches
/// left over after folding).
void removeDeadOps(Graph &g) {
  std::unordered_map<const Value *, int> uses;
  for (const auto &op : g.ops())
    for (const Value *v : op->operands)
      if (v)
        ++uses[v];
  for (const GraphOutput &o : g.outputs())
    ++uses[o.value];
  auto &ops = g.ops();
  for (auto it = ops.end(); it != ops.begin();) {
    --it;
    bool dead = true;
    for (const Value *r : (*it)->results())
      dead = dead && uses[r] == 0;
    if (!dead)
      continue;
    for (const Value *v : (*it)->operands)
      if (v)
        --uses[v];
    it = ops.erase(it);
  }
}

absl::StatusOr<std::unique_ptr<Graph>>
importModel(std::shared_ptr<const onnx::ModelProto> model,
            const std::string &file, const std::string &baseDir,
            const OnnxImportOptions &options) {
  Location fileLoc = Location::named(file);
  if (!model->has_graph())
    return locatedError(fileLoc, "not an ONNX model (no graph in the protobuf)");
  const onnx::GraphProto &g = model->graph();

  int64_t opset = -1;
  for (const onnx::OperatorSetIdProto &o : model->opset_import())
    if (isDefaultDomain(o.domain()))
      opset = o.version();
  if (opset < 0)
    return locatedError(fileLoc, "the model imports no opset of the default "
                                 "ONNX domain");
  if (opset < kMinOpset || opset > kMaxOpset)
    return locatedError(fileLoc, "opset " + std::to_string(opset) +
                                     " is not supported (supported: " +
                                     std::to_string(kMinOpset) + " to " +
                                     std::to_string(kMaxOpset) + ")");
  if (absl::Status s = checkSupportedOps(g, opset, file); !s.ok())
    return s;
  if (g.sparse_initializer_size() > 0)
    return locatedError(fileLoc, "sparse initializers are not supported ('" +
                                     g.sparse_initializer(0).values().name() +
                                     "')");

  auto graph = std::make_unique<Graph>(g.name().empty() ? "main" : g.name());
  graph->loc = fileLoc;
  Importer imp(*graph, file, baseDir, model);
  imp.opset = opset;
  for (const onnx::TensorProto &t : g.initializer())
    imp.initializers[t.name()] = &t;
  for (const onnx::NodeProto &n : g.node())
    for (const std::string &in : n.input())
      if (!in.empty())
        ++imp.uses[in];
  for (const onnx::ValueInfoProto &o : g.output())
    ++imp.uses[o.name()];

  // Inputs that are also initializers are constants, not inputs.
  std::unordered_set<std::string> seen;
  for (const onnx::ValueInfoProto &vi : g.input()) {
    if (imp.initializers.count(vi.name()))
      continue;
    if (!seen.insert(vi.name()).second)
      return locatedError(fileLoc, "input '" + vi.name() + "' is declared twice");
    if (auto c = options.constantInputs.find(vi.name());
        c != options.constantInputs.end()) {
      imp.values[vi.name()] = imp.constant(
          c->second, vi.name(), Location::named(file + ":input '" + vi.name() + "'"));
      continue;
    }
    absl::StatusOr<TensorType> type = inputType(vi, options, file);
    if (!type.ok())
      return type.status();
    if (std::string why = checkTensorType(*type); !why.empty())
      return locatedError(fileLoc, "input '" + vi.name() + "' " + type->str() +
                                       ": " + why);
    imp.values[vi.name()] = graph->addInput(vi.name(), *type);
  }
  for (const auto &[name, shape] : options.inputShapes)
    if (!seen.count(name))
      return locatedError(fileLoc, "a shape was given for '" + name +
                                       "', which is not an input of the model");
  for (const auto &[name, value] : options.constantInputs)
    if (!seen.count(name))
      return locatedError(fileLoc, "a constant was given for '" + name +
                                       "', which is not an input of the model");

  for (int i = 0; i < g.node_size(); ++i) {
    NodeContext ctx(imp, g.node(i), i);
    if (absl::Status s = ctx.resolveInputs(); !s.ok())
      return s;
    ConvertFn fn = findConverter(g.node(i).op_type(), opset);
    absl::Status s = fn(ctx);
    if (s.ok())
      s = ctx.attrStatus();
    if (!s.ok())
      return s;
    for (size_t k = 0; k < ctx.numOutputs(); ++k) {
      const std::string &name = g.node(i).output(static_cast<int>(k));
      if (!name.empty() && !imp.values.count(name) && ctx.outputUsed(k))
        return ctx.error("internal: output '" + name + "' was not produced");
    }
  }

  if (g.output_size() == 0)
    return locatedError(fileLoc, "the graph has no outputs");
  for (const onnx::ValueInfoProto &o : g.output()) {
    absl::StatusOr<Value *> v = imp.lookup(o.name());
    if (!v.ok())
      return v.status();
    if (!*v)
      return locatedError(fileLoc, "graph output '" + o.name() +
                                       "' is not produced by any node");
    graph->addOutput(o.name(), *v);
  }
  removeDeadOps(*graph);
  if (absl::Status s = verify(*graph); !s.ok())
    return s;
  return graph;
}

absl::StatusOr<std::shared_ptr<onnx::ModelProto>>
parseModel(std::string_view bytes, const std::string &file) {
  Location loc = Location::named(file);
  if (bytes.empty())
    return locatedError(loc, "empty file, not an ONNX model");
  if (bytes.size() > static_cast<size_t>(INT_MAX))
    return locatedError(loc, "the model file is over 2 GB; protobuf cannot "
                             "read it (store the weights as external data)");
  auto model = std::make_shared<onnx::ModelProto>();
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t *>(bytes.data()),
      static_cast<int>(bytes.size()));
  in.SetTotalBytesLimit(INT_MAX);
  if (!model->ParseFromCodedStream(&in) || !in.ConsumedEntireMessage())
    return locatedError(loc, "not a valid ONNX model: the protobuf does not "
                             "parse (truncated or corrupt file?)");
  if (!model->has_graph())
    return locatedError(loc, "not an ONNX model (no graph in the protobuf)");
  return model;
}

absl::StatusOr<std::string> readWholeFile(const std::string &path) {
  Location loc = Location::named(path);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return locatedError(loc, std::string("cannot open file: ") + std::strerror(errno));
  if (S_ISDIR(st.st_mode))
    return locatedError(loc, "is a directory, not an ONNX model file");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return locatedError(loc, std::string("cannot open file: ") + std::strerror(errno));
  std::string data;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      std::string reason = std::strerror(errno);
      ::close(fd);
      return locatedError(loc, "cannot read file: " + reason);
    }
    if (n == 0)
      break;
    data.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return data;
}

std::string dirName(const std::string &path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos)
    return ".";
  if (slash == 0)
    return "/";
  return path.substr(0, slash);
}

} // namespace

absl::StatusOr<std::unique_ptr<Graph>>
importOnnxBytes(std::string_view bytes, const std::string &nameForErrors,
                const std::string &baseDir, const OnnxImportOptions &options) {
  absl::StatusOr<std::shared_ptr<onnx::ModelProto>> model =
      parseModel(bytes, nameForErrors);
  if (!model.ok())
    return model.status();
  return importModel(std::move(*model), nameForErrors, baseDir, options);
}

absl::StatusOr<std::unique_ptr<Graph>>
importOnnxFile(const std::string &path, const OnnxImportOptions &options) {
  absl::StatusOr<std::string> bytes = readWholeFile(path);
  if (!bytes.ok())
    return bytes.status();
  return importOnnxBytes(*bytes, path, dirName(path), options);
}

absl::StatusOr<Tensor> readOnnxTensorFile(const std::string &path) {
  absl::StatusOr<std::string> bytes = readWholeFile(path);
  if (!bytes.ok())
    return bytes.status();
  Location loc = Location::named(path);
  auto proto = std::make_shared<onnx::TensorProto>();
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t *>(bytes->data()),
      static_cast<int>(std::min<size_t>(bytes->size(), INT_MAX)));
  in.SetTotalBytesLimit(INT_MAX);
  if (bytes->empty() || !proto->ParseFromCodedStream(&in) ||
      !in.ConsumedEntireMessage())
    return locatedError(loc, "not a valid serialized ONNX TensorProto");
  ExternalFiles external(dirName(path));
  std::string what = proto->name().empty() ? "tensor" : "tensor '" + proto->name() + "'";
  absl::StatusOr<Tensor> t = decodeTensor(*proto, what, external,
                                          std::static_pointer_cast<const void>(proto));
  if (!t.ok())
    return locatedError(loc, std::string(t.status().message()));
  return t;
}

} // namespace tcpu

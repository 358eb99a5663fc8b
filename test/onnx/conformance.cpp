//===- conformance.cpp - ONNX backend node tests on tcpu -------------------===//
//
//   tcpu-onnx-conformance [--filter SUBSTR] [--verbose] [--engine reference|compiled]
// Runs every single-op case of the ONNX backend node tests (the copy in
// ../shared/onnx-node beside the source tree): import the model, read the
// inputs, run, compare with the expected outputs at the backend tests'
// tolerance (rtol 1e-3, atol 1e-7 for floats; exact for integers and bools;
// NaN matches NaN). Each case is passed, failed (wrong values or an error
// while running) or unsupported (the importer refused an op or a data type).
// Cases listed in conformance_expected_failures.txt may fail; any other
// failure, and any listed case that passes, makes the exit status non-zero.
// Each case runs in a child process, so a crash or a hang fails that case
// only.
//
// The IR has static shapes, so operands such as Reshape's shape or Slice's
// starts must be constants at import. The node tests feed them as graph
// inputs; when the importer says such an input "must be a constant", the
// driver freezes that input to its test value (OnnxImportOptions::
// constantInputs) and imports again, as a real export would have it. Those cases are counted
// separately; --no-freeze turns this off.
//
// --engine compiled runs each case through tcpu::compile (the LLVM JIT) with
// interpreter fallback off, so an op without a lowering fails its case;
// --allow-fallback lets such ops run on the interpreter inside the model.
// --opt-level N runs the graph passes of -ON first (on either engine), so
// that every pass is checked against every case.
//
//===----------------------------------------------------------------------===//
#ifdef TCPU_HAVE_CODEGEN
#include "codegen/Tcpu.h"
#endif
#include "ir/Interpreter.h"
#include "ir/onnx/OnnxImporter.h"
#include "passes/Pipelines.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#ifndef TCPU_SOURCE_DIR
#define TCPU_SOURCE_DIR "."
#endif

using namespace tcpu;
namespace fs = std::filesystem;

namespace {

const char *kUsage = R"(usage: tcpu-onnx-conformance [options]

Runs the ONNX backend node tests (one folder per case with model.onnx and
test_data_set_*/{input,output}_N.pb) and compares with the expected outputs.

options:
  --filter SUBSTR         run only the cases whose name contains SUBSTR
                          (repeatable: a case matching any is run)
  --verbose               one line per case with its result and max error
  --engine NAME           engine to run on: 'reference' (the interpreter,
                          the default) or 'compiled' (the LLVM JIT)
  --allow-fallback        with --engine compiled: let ops without a lowering
                          run on the interpreter (default: such a case fails)
  --opt-level N           run the graph passes of -ON (0 to 3, default 0)
                          before the engine
  --dir DIR               the node tests folder (default: $TCPU_ONNX_NODE_DIR,
                          else $TCPU_SOURCE_DIR/../shared/onnx-node)
  --expected-failures F   list of cases allowed to fail (default:
                          <source>/test/onnx/conformance_expected_failures.txt)
  --tolerances F          per-case tolerances (default:
                          <source>/test/onnx/conformance_tolerances.txt)
  --timeout SECONDS       time limit per case (default 120)
  --no-fork               run the cases in this process (for debuggers)
  --no-freeze             do not freeze inputs that the importer needs as
                          constants (shape, axes, starts, ...) to their test
                          values; such cases then fail
  --help                  show this text

exit status: 0 when every case passes or is listed as an expected failure and
no listed case passes; 1 otherwise; 2 for usage or setup errors.
)";

constexpr double kDefaultRtol = 1e-3;
constexpr double kDefaultAtol = 1e-7;

enum class Outcome { Passed, Failed, Unsupported };

const char *outcomeName(Outcome o) {
  switch (o) {
  case Outcome::Passed:
    return "passed";
  case Outcome::Failed:
    return "failed";
  case Outcome::Unsupported:
    return "unsupported";
  }
  return "?";
}

struct Tolerance {
  double rtol = kDefaultRtol;
  double atol = kDefaultAtol;
  std::string reason; // empty for the default
};

struct CaseResult {
  Outcome outcome = Outcome::Failed;
  std::string message;       // why it failed, or "" when it passed
  double maxAbsError = 0;    // over float outputs
  double maxRelError = 0;    // |got - want| / |want| where want != 0
  int64_t intMismatches = 0; // integer / bool elements that differ
  bool hasFloat = false;
  std::vector<std::string> frozen; // inputs frozen to constants
};

struct Options {
  std::vector<std::string> filters;
  bool verbose = false;
  std::string engine = "reference";
  std::string dir;
  std::string expectedFailures;
  std::string tolerances;
  int timeoutSeconds = 120;
  bool fork = true;
  bool freeze = true;
  bool allowFallback = false;
  int optLevel = 0;
};

/// Runs `graph` on the engine the options name.
absl::StatusOr<std::vector<Tensor>> runOnEngine(const Graph &graph,
                                                const std::vector<Tensor> &inputs,
                                                const Options &o) {
  if (o.engine == "reference") {
    if (o.optLevel == 0)
      return interpret(graph, inputs);
    std::unique_ptr<Graph> optimized = graph.clone();
    if (absl::Status s = optimizeGraph(*optimized, o.optLevel); !s.ok())
      return s;
    return interpret(*optimized, inputs);
  }
#ifndef TCPU_HAVE_CODEGEN
  return absl::UnimplementedError("this build has no compiled engine");
#else
  CompileOptions options;
  options.allowInterpreterFallback = o.allowFallback;
  options.graphOptLevel = o.optLevel;
  absl::StatusOr<std::unique_ptr<CompiledModel>> model = compile(graph, options);
  if (!model.ok())
    return absl::Status(model.status().code(),
                        "compile: " + std::string(model.status().message()));
  return (*model)->run(inputs);
#endif
}

std::string getenvOr(const char *name, const std::string &fallback) {
  const char *v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

std::string lower(std::string s) {
  for (char &c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string oneLine(std::string s) {
  for (char &c : s)
    if (c == '\n' || c == '\r' || c == '\t')
      c = ' ';
  return s;
}

/// The importer reports what it does not support as "unsupported op ..." or
/// "unsupported data type ..."; anything else is a failure.
bool isUnsupportedError(const absl::Status &s) {
  std::string m = lower(std::string(s.message()));
  return m.find("unsupported op") != std::string::npos ||
         m.find("unsupported onnx op") != std::string::npos ||
         m.find("unsupported data type") != std::string::npos;
}

/// The input named by an importer error "input 'NAME' (...) must be a
/// constant ... computed at run time", or "".
std::string inputThatMustBeConstant(const absl::Status &s) {
  std::string m(s.message());
  if (m.find("must be a constant") == std::string::npos ||
      m.find("computed at run time") == std::string::npos)
    return "";
  size_t b = m.find("input '");
  if (b == std::string::npos)
    return "";
  b += 7;
  size_t e = m.find('\'', b);
  return e == std::string::npos ? "" : m.substr(b, e - b);
}

bool readFile(const std::string &path, std::string &out) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return !in.bad();
}

/// Sorted list of DIR/PREFIX<N>.pb by N.
std::vector<std::string> numberedFiles(const fs::path &dir,
                                       const std::string &prefix) {
  std::vector<std::pair<int, std::string>> found;
  std::error_code ec;
  for (const auto &e : fs::directory_iterator(dir, ec)) {
    std::string n = e.path().filename().string();
    if (n.rfind(prefix, 0) != 0 || n.size() < prefix.size() + 4 ||
        n.substr(n.size() - 3) != ".pb")
      continue;
    std::string digits = n.substr(prefix.size(), n.size() - prefix.size() - 3);
    int k = 0;
    auto r = std::from_chars(digits.data(), digits.data() + digits.size(), k);
    if (r.ec == std::errc() && r.ptr == digits.data() + digits.size())
      found.push_back({k, e.path().string()});
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto &[k, p] : found)
    out.push_back(p);
  return out;
}

/// Compares one output; appends to `r` and returns "" or what is wrong.
std::string compareTensor(const std::string &what, const Tensor &got,
                          const Tensor &want, const Tolerance &tol,
                          CaseResult &r) {
  if (got.dtype() != want.dtype() || got.shape() != want.shape())
    return what + ": got " + got.type().str() + ", want " + want.type().str();
  int64_t n = want.numElements();
  if (isFloat(want.dtype())) {
    r.hasFloat = true;
    int64_t bad = 0, firstBad = -1;
    for (int64_t i = 0; i < n; ++i) {
      double g = got.elementAsDouble(i), w = want.elementAsDouble(i);
      if (std::isnan(g) && std::isnan(w))
        continue;
      if (g == w) // equal infinities too
        continue;
      double err = std::fabs(g - w);
      if (std::isnan(err))
        err = INFINITY;
      r.maxAbsError = std::max(r.maxAbsError, err);
      if (w != 0)
        r.maxRelError = std::max(r.maxRelError, err / std::fabs(w));
      if (!(err <= tol.atol + tol.rtol * std::fabs(w))) {
        if (firstBad < 0)
          firstBad = i;
        ++bad;
      }
    }
    if (bad) {
      char buf[256];
      std::snprintf(buf, sizeof buf,
                    "%s: %lld of %lld elements out of tolerance (rtol %g, "
                    "atol %g); first at flat index %lld: got %.9g, want %.9g",
                    what.c_str(), static_cast<long long>(bad),
                    static_cast<long long>(n), tol.rtol, tol.atol,
                    static_cast<long long>(firstBad),
                    got.elementAsDouble(firstBad),
                    want.elementAsDouble(firstBad));
      return buf;
    }
    return "";
  }
  int64_t bad = 0, firstBad = -1;
  for (int64_t i = 0; i < n; ++i)
    if (got.elementAsInt(i) != want.elementAsInt(i)) {
      if (firstBad < 0)
        firstBad = i;
      ++bad;
    }
  r.intMismatches += bad;
  if (bad)
    return what + ": " + std::to_string(bad) + " of " + std::to_string(n) +
           " elements differ; first at flat index " + std::to_string(firstBad) +
           ": got " + std::to_string(got.elementAsInt(firstBad)) + ", want " +
           std::to_string(want.elementAsInt(firstBad));
  return "";
}

/// Imports the case's model; while the importer asks for an input to be a
/// constant, freezes that input to its value in `dataSets` (which must agree)
/// through OnnxImportOptions::constantInputs and imports again.
/// `frozenIndex[k]` tells whether input_k.pb was frozen.
absl::StatusOr<std::unique_ptr<Graph>>
importFreezing(const fs::path &caseDir, const std::vector<fs::path> &dataSets,
               bool freeze, std::vector<std::string> &frozen,
               std::vector<bool> &frozenIndex) {
  std::string modelPath = (caseDir / "model.onnx").string();
  absl::StatusOr<std::unique_ptr<Graph>> graph = importOnnxFile(modelPath);
  if (graph.ok() || !freeze)
    return graph;
  OnnxImportOptions options;
  std::vector<std::string> runtimeInputs; // graph.input minus initializers
  for (int attempt = 0; attempt < 8 && !graph.ok(); ++attempt) {
    std::string name = inputThatMustBeConstant(graph.status());
    if (name.empty() || options.constantInputs.count(name))
      return graph;
    if (attempt == 0) {
      // The .pb files follow graph.input without the initializers.
      std::string bytes;
      onnx::ModelProto model;
      if (!readFile(modelPath, bytes) || !model.ParseFromString(bytes))
        return graph;
      std::set<std::string> inits;
      for (const auto &t : model.graph().initializer())
        inits.insert(t.name());
      for (const auto &vi : model.graph().input())
        if (!inits.count(vi.name()))
          runtimeInputs.push_back(vi.name());
      frozenIndex.assign(runtimeInputs.size(), false);
    }
    auto it = std::find(runtimeInputs.begin(), runtimeInputs.end(), name);
    if (it == runtimeInputs.end())
      return graph; // not a graph input: computed inside the model
    size_t k = static_cast<size_t>(it - runtimeInputs.begin());
    std::string file = "input_" + std::to_string(k) + ".pb", bytes, other;
    if (!readFile((dataSets[0] / file).string(), bytes))
      return graph;
    for (const fs::path &ds : dataSets)
      if (!readFile((ds / file).string(), other) || other != bytes)
        return graph; // the value differs between data sets
    absl::StatusOr<Tensor> value =
        readOnnxTensorFile((dataSets[0] / file).string());
    if (!value.ok())
      return graph;
    options.constantInputs[name] = std::move(*value);
    frozen.push_back(name);
    frozenIndex[k] = true;
    graph = importOnnxFile(modelPath, options);
  }
  return graph;
}

/// Runs one case in this process.
CaseResult runCase(const fs::path &caseDir, const Tolerance &tol,
                   const Options &o) {
  CaseResult r;
  auto fail = [&](Outcome o, std::string msg) {
    r.outcome = o;
    r.message = oneLine(std::move(msg));
    return r;
  };
  std::vector<fs::path> dataSets;
  std::error_code ec;
  for (const auto &e : fs::directory_iterator(caseDir, ec))
    if (e.is_directory() &&
        e.path().filename().string().rfind("test_data_set_", 0) == 0)
      dataSets.push_back(e.path());
  std::sort(dataSets.begin(), dataSets.end());
  if (dataSets.empty())
    return fail(Outcome::Failed, "no test_data_set_* folder");

  std::vector<bool> frozenIndex;
  absl::StatusOr<std::unique_ptr<Graph>> graph =
      importFreezing(caseDir, dataSets, o.freeze, r.frozen, frozenIndex);
  if (!graph.ok())
    return fail(isUnsupportedError(graph.status()) ? Outcome::Unsupported
                                                   : Outcome::Failed,
                "import: " + std::string(graph.status().message()));

  for (const fs::path &ds : dataSets) {
    std::string dsName = ds.filename().string();
    std::vector<std::string> inFiles = numberedFiles(ds, "input_");
    if (!frozenIndex.empty()) {
      std::vector<std::string> kept;
      for (size_t k = 0; k < inFiles.size(); ++k)
        if (k >= frozenIndex.size() || !frozenIndex[k])
          kept.push_back(inFiles[k]);
      inFiles = std::move(kept);
    }
    std::vector<std::string> outFiles = numberedFiles(ds, "output_");
    const auto &graphInputs = (*graph)->inputs();
    if (inFiles.size() != graphInputs.size())
      return fail(Outcome::Failed,
                  dsName + ": " + std::to_string(inFiles.size()) +
                      " input files but the imported graph has " +
                      std::to_string(graphInputs.size()) + " inputs");
    std::vector<Tensor> inputs;
    for (size_t i = 0; i < inFiles.size(); ++i) {
      absl::StatusOr<Tensor> t = readOnnxTensorFile(inFiles[i]);
      if (!t.ok())
        return fail(isUnsupportedError(t.status()) ? Outcome::Unsupported
                                                   : Outcome::Failed,
                    "reading " + fs::path(inFiles[i]).filename().string() +
                        ": " + std::string(t.status().message()));
      inputs.push_back(std::move(*t));
    }
    std::vector<Tensor> expected;
    for (const std::string &f : outFiles) {
      absl::StatusOr<Tensor> t = readOnnxTensorFile(f);
      if (!t.ok())
        return fail(isUnsupportedError(t.status()) ? Outcome::Unsupported
                                                   : Outcome::Failed,
                    "reading " + fs::path(f).filename().string() + ": " +
                        std::string(t.status().message()));
      expected.push_back(std::move(*t));
    }
    absl::StatusOr<std::vector<Tensor>> got = runOnEngine(**graph, inputs, o);
    if (!got.ok())
      return fail(Outcome::Failed,
                  "run: " + std::string(got.status().message()));
    if (got->size() != expected.size())
      return fail(Outcome::Failed,
                  dsName + ": the graph has " + std::to_string(got->size()) +
                      " outputs, the test " + std::to_string(expected.size()));
    std::string firstError;
    for (size_t i = 0; i < expected.size(); ++i) {
      std::string what = "output " + std::to_string(i);
      if (i < (*graph)->outputs().size())
        what += " '" + (*graph)->outputs()[i].name + "'";
      std::string err = compareTensor(what, (*got)[i], expected[i], tol, r);
      if (firstError.empty() && !err.empty())
        firstError = dataSets.size() > 1 ? dsName + ": " + err : err;
    }
    if (!firstError.empty())
      return fail(Outcome::Failed, firstError);
  }
  r.outcome = Outcome::Passed;
  return r;
}

// --- Running a case in a child process --------------------------------------

std::string serialize(const CaseResult &r) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%d %d %.17g %.17g %lld\n",
                static_cast<int>(r.outcome), r.hasFloat ? 1 : 0, r.maxAbsError,
                r.maxRelError, static_cast<long long>(r.intMismatches));
  std::string frozen;
  for (const std::string &f : r.frozen)
    frozen += (frozen.empty() ? "" : ",") + f;
  return buf + oneLine(frozen) + "\n" + r.message;
}

bool deserialize(const std::string &s, CaseResult &r) {
  size_t nl = s.find('\n');
  if (nl == std::string::npos)
    return false;
  int outcome = 0, hasFloat = 0;
  long long mismatches = 0;
  if (std::sscanf(s.substr(0, nl).c_str(), "%d %d %lg %lg %lld", &outcome,
                  &hasFloat, &r.maxAbsError, &r.maxRelError,
                  &mismatches) != 5 ||
      outcome < 0 || outcome > 2)
    return false;
  r.outcome = static_cast<Outcome>(outcome);
  r.hasFloat = hasFloat != 0;
  r.intMismatches = mismatches;
  size_t nl2 = s.find('\n', nl + 1);
  if (nl2 == std::string::npos)
    return false;
  std::string frozen = s.substr(nl + 1, nl2 - nl - 1);
  for (size_t b = 0; b < frozen.size();) {
    size_t e = frozen.find(',', b);
    if (e == std::string::npos)
      e = frozen.size();
    r.frozen.push_back(frozen.substr(b, e - b));
    b = e + 1;
  }
  r.message = s.substr(nl2 + 1);
  return true;
}

CaseResult runCaseInChild(const fs::path &caseDir, const Tolerance &tol,
                          const Options &o) {
  const int timeoutSeconds = o.timeoutSeconds;
  CaseResult r;
  int fds[2];
  if (pipe(fds) != 0) {
    r.message = std::string("pipe: ") + std::strerror(errno);
    return r;
  }
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    r.message = std::string("fork: ") + std::strerror(errno);
    close(fds[0]);
    close(fds[1]);
    return r;
  }
  if (pid == 0) {
    close(fds[0]);
    alarm(static_cast<unsigned>(timeoutSeconds));
    std::string out = serialize(runCase(caseDir, tol, o));
    const char *p = out.data();
    size_t left = out.size();
    while (left > 0) {
      ssize_t w = write(fds[1], p, left);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        _exit(3);
      p += w;
      left -= static_cast<size_t>(w);
    }
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  std::string data;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    data.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    r.message = sig == SIGALRM
                    ? "timed out after " + std::to_string(timeoutSeconds) + " s"
                    : "crashed with signal " + std::to_string(sig) + " (" +
                          strsignal(sig) + ")";
    return r;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !deserialize(data, r)) {
    r = CaseResult();
    r.message = "the child process exited with status " +
                std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
                " without a result";
  }
  return r;
}

// --- Lists -----------------------------------------------------------------

struct ListEntry {
  std::vector<std::string> fields; // leading whitespace-separated words
  std::string rest;                // the remainder of the line
  int line = 0;
};

/// Reads "word word ... rest" lines, skipping blanks and '#' comments; the
/// first `words` words are split off, the rest is kept as is.
bool readList(const std::string &path, int words, std::vector<ListEntry> &out,
              std::string &error) {
  std::ifstream in(path);
  if (!in) {
    error = path + ": error: cannot open file";
    return false;
  }
  std::string line;
  for (int lineNo = 1; std::getline(in, line); ++lineNo) {
    size_t hash = line.find('#');
    if (hash != std::string::npos)
      line = line.substr(0, hash);
    std::istringstream ss(line);
    ListEntry e;
    e.line = lineNo;
    std::string w;
    while (static_cast<int>(e.fields.size()) < words && ss >> w)
      e.fields.push_back(w);
    if (e.fields.empty())
      continue;
    std::getline(ss, e.rest);
    size_t b = e.rest.find_first_not_of(" \t");
    e.rest = b == std::string::npos ? "" : e.rest.substr(b);
    while (!e.rest.empty() && std::isspace(static_cast<unsigned char>(e.rest.back())))
      e.rest.pop_back();
    if (static_cast<int>(e.fields.size()) < words || e.rest.empty()) {
      error = path + ":" + std::to_string(lineNo) +
              ": error: expected " +
              (words == 1 ? std::string("'test_name  reason'")
                          : std::string("'test_name rtol atol  reason'"));
      return false;
    }
    out.push_back(std::move(e));
  }
  return true;
}

bool parseDouble(const std::string &s, double &out) {
  char *end = nullptr;
  errno = 0;
  out = std::strtod(s.c_str(), &end);
  return errno == 0 && end && *end == '\0' && !s.empty() && out >= 0;
}

std::string parseArgs(int argc, char **argv, Options &o, bool &exitNow) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string flag = a.substr(0, a.find('='));
    auto value = [&](std::string &out) -> bool {
      size_t eq = a.find('=');
      if (eq != std::string::npos) {
        out = a.substr(eq + 1);
        return true;
      }
      if (i + 1 >= argc)
        return false;
      out = argv[++i];
      return true;
    };
    std::string v;
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      exitNow = true;
      return "";
    } else if (flag == "--verbose" || flag == "-v") {
      o.verbose = true;
    } else if (flag == "--no-fork") {
      o.fork = false;
    } else if (flag == "--allow-fallback") {
      o.allowFallback = true;
    } else if (flag == "--no-freeze") {
      o.freeze = false;
    } else if (flag == "--filter") {
      if (!value(v))
        return "--filter needs a substring";
      o.filters.push_back(v);
    } else if (flag == "--engine") {
      if (!value(v))
        return "--engine needs a name";
      if (v != "reference" && v != "compiled")
        return "unknown engine '" + v + "' (available: reference, compiled)";
      o.engine = v;
    } else if (flag == "--dir") {
      if (!value(v) || v.empty())
        return "--dir needs a folder";
      o.dir = v;
    } else if (flag == "--expected-failures") {
      if (!value(v) || v.empty())
        return "--expected-failures needs a file";
      o.expectedFailures = v;
    } else if (flag == "--tolerances") {
      if (!value(v) || v.empty())
        return "--tolerances needs a file";
      o.tolerances = v;
    } else if (flag == "--opt-level") {
      if (!value(v) || v.size() != 1 || v[0] < '0' || v[0] > '3')
        return "--opt-level needs 0, 1, 2 or 3";
      o.optLevel = v[0] - '0';
    } else if (flag == "--timeout") {
      int n = 0;
      if (!value(v) ||
          std::from_chars(v.data(), v.data() + v.size(), n).ec != std::errc() ||
          n <= 0)
        return "--timeout needs a positive number of seconds";
      o.timeoutSeconds = n;
    } else {
      return "unknown argument '" + a + "' (see --help)";
    }
  }
  return "";
}

std::string formatErrors(const CaseResult &r) {
  char buf[128];
  if (r.hasFloat)
    std::snprintf(buf, sizeof buf, "max abs error %.3g, max rel error %.3g",
                  r.maxAbsError, r.maxRelError);
  else
    std::snprintf(buf, sizeof buf, "exact");
  std::string s = buf;
  if (r.intMismatches)
    s += ", " + std::to_string(r.intMismatches) + " integer mismatches";
  return s;
}

} // namespace

int main(int argc, char **argv) {
  Options o;
  bool exitNow = false;
  if (std::string err = parseArgs(argc, argv, o, exitNow); !err.empty()) {
    std::fprintf(stderr, "tcpu-onnx-conformance: error: %s\n", err.c_str());
    return 2;
  }
  if (exitNow)
    return 0;

  std::string sourceDir = getenvOr("TCPU_SOURCE_DIR", TCPU_SOURCE_DIR);
  if (o.dir.empty())
    o.dir = getenvOr("TCPU_ONNX_NODE_DIR",
                     (fs::path(sourceDir) / ".." / "shared" / "onnx-node")
                         .lexically_normal()
                         .string());
  if (o.expectedFailures.empty())
    o.expectedFailures =
        (fs::path(sourceDir) / "test/onnx/conformance_expected_failures.txt")
            .string();
  if (o.tolerances.empty())
    o.tolerances =
        (fs::path(sourceDir) / "test/onnx/conformance_tolerances.txt").string();

  // The cases and their op types.
  std::string indexPath = (fs::path(o.dir) / "index.tsv").string();
  std::ifstream index(indexPath);
  if (!index) {
    std::fprintf(stderr,
                 "tcpu-onnx-conformance: error: cannot open '%s' (set "
                 "TCPU_ONNX_NODE_DIR or --dir to the onnx-node folder)\n",
                 indexPath.c_str());
    return 2;
  }
  std::vector<std::pair<std::string, std::string>> cases; // name, op type
  std::set<std::string> known;
  std::string line;
  for (int lineNo = 1; std::getline(index, line); ++lineNo) {
    if (lineNo == 1 && line.rfind("name\t", 0) == 0)
      continue;
    std::istringstream ss(line);
    std::string name, op;
    if (!std::getline(ss, name, '\t') || !std::getline(ss, op, '\t'))
      continue;
    cases.push_back({name, op});
    known.insert(name);
  }

  std::string err;
  std::vector<ListEntry> xfailList, tolList;
  if (!readList(o.expectedFailures, 1, xfailList, err) ||
      !readList(o.tolerances, 3, tolList, err)) {
    std::fprintf(stderr, "%s\n", err.c_str());
    return 2;
  }
  bool listsOk = true;
  std::map<std::string, std::string> xfails; // name -> reason
  for (const ListEntry &e : xfailList) {
    if (!known.count(e.fields[0])) {
      std::fprintf(stderr, "%s:%d: error: unknown case '%s'\n",
                   o.expectedFailures.c_str(), e.line, e.fields[0].c_str());
      listsOk = false;
    }
    xfails[e.fields[0]] = e.rest;
  }
  std::map<std::string, Tolerance> tolerances;
  for (const ListEntry &e : tolList) {
    Tolerance t;
    t.reason = e.rest;
    if (!parseDouble(e.fields[1], t.rtol) || !parseDouble(e.fields[2], t.atol)) {
      std::fprintf(stderr, "%s:%d: error: bad rtol or atol\n",
                   o.tolerances.c_str(), e.line);
      listsOk = false;
    }
    if (!known.count(e.fields[0])) {
      std::fprintf(stderr, "%s:%d: error: unknown case '%s'\n",
                   o.tolerances.c_str(), e.line, e.fields[0].c_str());
      listsOk = false;
    }
    tolerances[e.fields[0]] = t;
  }
  if (!listsOk)
    return 2;

  struct OpCounts {
    int passed = 0, failed = 0, unsupported = 0, xfail = 0, xpass = 0;
  };
  std::map<std::string, OpCounts> byOp;
  int passed = 0, failed = 0, unsupported = 0, expectedFailures = 0;
  int passedFrozen = 0;
  std::vector<std::string> unexpectedPasses, unexpectedFailures;

  std::printf("onnx node tests: %s (engine: %s)\n", o.dir.c_str(),
              o.engine.c_str());
  std::printf("default tolerance: rtol %g, atol %g for floats; exact for "
              "integers and bools\n",
              kDefaultRtol, kDefaultAtol);
  for (const auto &[name, op] : cases) {
    if (!o.filters.empty() &&
        std::none_of(o.filters.begin(), o.filters.end(), [&](const auto &f) {
          return name.find(f) != std::string::npos;
        }))
      continue;
    Tolerance tol;
    auto tit = tolerances.find(name);
    if (tit != tolerances.end()) {
      tol = tit->second;
      std::printf("%s: tolerance rtol %g, atol %g (%s)\n", name.c_str(),
                  tol.rtol, tol.atol, tol.reason.c_str());
    }
    fs::path caseDir = fs::path(o.dir) / name;
    CaseResult r = o.fork ? runCaseInChild(caseDir, tol, o)
                          : runCase(caseDir, tol, o);
    if (r.outcome == Outcome::Passed && !r.frozen.empty())
      ++passedFrozen;
    OpCounts &c = byOp[op];
    auto xit = xfails.find(name);
    bool listed = xit != xfails.end();
    std::string tag;
    if (r.outcome == Outcome::Passed) {
      ++passed;
      ++c.passed;
      if (listed) {
        ++c.xpass;
        unexpectedPasses.push_back(name);
        tag = "UNEXPECTED PASS";
      } else {
        tag = "passed";
      }
    } else if (listed) {
      ++expectedFailures;
      ++c.xfail;
      tag = std::string("expected failure (") + outcomeName(r.outcome) + ")";
    } else {
      if (r.outcome == Outcome::Unsupported) {
        ++unsupported;
        ++c.unsupported;
      } else {
        ++failed;
        ++c.failed;
      }
      unexpectedFailures.push_back(name);
      tag = outcomeName(r.outcome);
    }
    bool unexpected = (r.outcome == Outcome::Passed) == listed;
    if (o.verbose || unexpected) {
      std::string detail = r.outcome == Outcome::Passed || r.hasFloat
                               ? formatErrors(r)
                               : "";
      if (!r.frozen.empty()) {
        std::string f;
        for (const std::string &n : r.frozen)
          f += (f.empty() ? "" : ", ") + n;
        detail += (detail.empty() ? "" : "; ") + ("frozen inputs: " + f);
      }
      if (!r.message.empty())
        detail += (detail.empty() ? "" : "; ") + r.message;
      if (listed && r.outcome != Outcome::Passed)
        detail += " [listed: " + xit->second + "]";
      if (listed && r.outcome == Outcome::Passed)
        detail += " [listed as an expected failure: " + xit->second +
                  "; remove it from the list]";
      std::printf("%-60s %s: %s\n", name.c_str(), tag.c_str(), detail.c_str());
    }
    std::fflush(stdout);
  }

  std::printf("\n%-22s %7s %7s %12s %9s\n", "op_type", "passed", "failed",
              "unsupported", "expected");
  for (const auto &[op, c] : byOp)
    std::printf("%-22s %7d %7d %12d %9d%s\n", op.c_str(), c.passed, c.failed,
                c.unsupported, c.xfail,
                c.xpass ? ("  (" + std::to_string(c.xpass) +
                           " unexpectedly passed)")
                              .c_str()
                        : "");
  std::printf("\n");
  if (!unexpectedFailures.empty()) {
    std::printf("unexpected failures (%zu):", unexpectedFailures.size());
    for (const std::string &n : unexpectedFailures)
      std::printf(" %s", n.c_str());
    std::printf("\n");
  }
  if (!unexpectedPasses.empty()) {
    std::printf("unexpected passes (%zu), remove them from %s:",
                unexpectedPasses.size(), o.expectedFailures.c_str());
    for (const std::string &n : unexpectedPasses)
      std::printf(" %s", n.c_str());
    std::printf("\n");
  }
  if (passedFrozen)
    std::printf("%d of the passed cases ran with inputs that the IR needs as "
                "constants (shape, axes, ...) frozen to their test values\n",
                passedFrozen);
  std::printf("conformance: %d passed, %d failed, %d unsupported, %d expected "
              "failures\n",
              passed, failed, unsupported, expectedFailures);
  return unexpectedFailures.empty() && unexpectedPasses.empty() ? 0 : 1;
}

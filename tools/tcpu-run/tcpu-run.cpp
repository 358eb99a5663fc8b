//===- tcpu-run.cpp - Run a model on .npy inputs ---------------------------===//
//
//   tcpu-run MODEL [--input NAME=FILE.npy]... [--output-dir DIR]
// Runs the model (compiled through LLVM by default, or on the reference
// interpreter), prints a summary of every output, and writes
// DIR/<output name>.npy for each. Inputs not given are filled with seeded
// random values of the right shape and dtype.
//
//===----------------------------------------------------------------------===//
#include "codegen/Tcpu.h"
#include "ir/Interpreter.h"
#include "ir/Npy.h"
#include "passes/FusionUtils.h"
#include "runtime/Threading.h"
#include "tools/ToolSupport.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>

using namespace tcpu;

namespace {

const char *kUsage = R"(usage: tcpu-run MODEL [options]

Runs a model (.tir, or .onnx imported) and prints its outputs.

options:
  --input NAME=FILE.npy   value for the graph input NAME (repeatable); inputs
                          not given get seeded random values: floats uniform
                          in [-1, 1), integers uniform in [0, 10), bools fair
  --output-dir DIR        write DIR/<output name>.npy for every output
  --input-shape NAME=DIMS static shape (e.g. 1x3x224x224) for an ONNX input
                          with symbolic dims (repeatable)
  --seed N                seed for the random inputs (default 0)
  --engine E              compiled (default): LLVM-compiled kernels, with
                          the interpreter for ops not lowered yet;
                          reference: the reference interpreter
  --reference             same as --engine reference
  --check                 run both engines and print, per output, the
                          largest absolute difference
  --threads N             threads for the compiled engine (default: all, or
                          TCPU_NUM_THREADS / OMP_NUM_THREADS)
  -O0, -O1, -O2, -O3      graph optimization level of the compiled engine
                          (default -O3; see tcpu-opt --help): the passes run
                          on a copy, so --check and --reference still see
                          the graph as written
  --pass-remarks          print what the graph passes did and did not do,
                          and why (to stderr)
  --fusion-report         print what the fusion passes (-O3) fused, what
                          they did not and why, and counts (to stderr)
  --benchmark N           after a warm-up run, time N runs and print one
                          JSON line (median_ms, min_ms, iterations, threads,
                          compile_ms, graph_opt_level, graph_pass_ms,
                          lower_ms, llvm_opt_ms, codegen_ms (phases of
                          compile_ms),
                          peak_arena_bytes, naive_bytes, prepacked_bytes
                          (constant GEMM operands packed at compile time),
                          engine, fallback_ops) instead of the outputs
  --profile N             after a warm-up run, run N times timing every step
                          and print the steps by time (ms per run, share,
                          compiled or interpreter), then the time per op
                          kind, instead of the outputs (compiled engine)
  --mtriple=TRIPLE        target triple of the compiled engine (default:
                          this machine's); it must run here (other targets:
                          tcpu-opt --emit=obj)
  --mcpu=CPU              target CPU (default: this machine's), e.g. haswell
                          for AVX2 code on a newer x86 CPU
  --print-limit N         print at most N values per output (default 16;
                          0 prints only names and types)
  --help                  show this text
)";

struct Options {
  std::string model;
  std::map<std::string, std::string> inputs;
  std::string outputDir;
  uint64_t seed = 0;
  int64_t printLimit = 16;
  OnnxImportOptions onnx;
  std::string engine = "compiled";
  bool check = false;
  int64_t threads = 0;
  int64_t benchmark = 0;
  int64_t profile = 0;
  int graphOptLevel = 3;
  bool passRemarks = false;
  bool fusionReport = false;
  std::string triple, cpu; // --mtriple, --mcpu
};

bool parseInt(const char *s, int64_t &out) {
  const char *end = s + std::strlen(s);
  auto res = std::from_chars(s, end, out);
  return res.ec == std::errc() && res.ptr == end && out >= 0;
}

std::string parseArgs(int argc, char **argv, Options &o, bool &exitNow) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
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
    std::string flag = a.substr(0, a.find('='));
    std::string v;
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      exitNow = true;
      return "";
    } else if (flag == "--reference") {
      o.engine = "reference";
    } else if (flag == "--engine") {
      if (!value(v) || (v != "compiled" && v != "reference"))
        return "--engine needs 'compiled' or 'reference'";
      o.engine = v;
    } else if (a.size() == 3 && a[0] == '-' && a[1] == 'O') {
      if (a[2] < '0' || a[2] > '3')
        return "unknown optimization level '" + a + "' (-O0 to -O3)";
      o.graphOptLevel = a[2] - '0';
    } else if (flag == "--pass-remarks") {
      o.passRemarks = true;
    } else if (flag == "--fusion-report") {
      o.fusionReport = true;
    } else if (flag == "--check") {
      o.check = true;
    } else if (flag == "--threads") {
      if (!value(v) || !parseInt(v.c_str(), o.threads) || o.threads == 0 ||
          o.threads > 4096)
        return "--threads needs a positive integer";
    } else if (flag == "--profile") {
      if (!value(v) || !parseInt(v.c_str(), o.profile) || o.profile == 0 ||
          o.profile > 1000000)
        return "--profile needs a positive number of runs";
    } else if (flag == "--benchmark") {
      if (!value(v) || !parseInt(v.c_str(), o.benchmark) || o.benchmark == 0 ||
          o.benchmark > 1000000)
        return "--benchmark needs a positive number of iterations";
    } else if (flag == "--input") {
      if (!value(v))
        return "--input needs NAME=FILE.npy";
      size_t eq = v.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == v.size())
        return "--input needs NAME=FILE.npy, got '" + v + "'";
      std::string name = v.substr(0, eq);
      if (o.inputs.count(name))
        return "input '" + name + "' is given twice";
      o.inputs[name] = v.substr(eq + 1);
    } else if (flag == "--input-shape") {
      if (!value(v))
        return "--input-shape needs NAME=D0xD1x...";
      if (std::string err = tools::parseInputShapeFlag(v, o.onnx); !err.empty())
        return err;
    } else if (flag == "--output-dir") {
      if (!value(v) || v.empty())
        return "--output-dir needs a directory";
      o.outputDir = v;
    } else if (flag == "--seed") {
      int64_t n;
      if (!value(v) || !parseInt(v.c_str(), n))
        return "--seed needs a non-negative integer";
      o.seed = static_cast<uint64_t>(n);
    } else if (flag == "--mtriple" || flag == "--mcpu") {
      if (!value(v) || v.empty())
        return flag + " needs a value";
      (flag == "--mtriple" ? o.triple : o.cpu) = v;
    } else if (flag == "--print-limit") {
      if (!value(v) || !parseInt(v.c_str(), o.printLimit))
        return "--print-limit needs a non-negative integer";
    } else if (a.size() > 1 && a[0] == '-') {
      return "unknown option '" + a + "' (see --help)";
    } else if (o.model.empty()) {
      o.model = a;
    } else {
      return "more than one model given ('" + o.model + "' and '" + a + "')";
    }
  }
  if (o.model.empty())
    return "no model given (see --help)";
  return "";
}

absl::StatusOr<Tensor> randomTensor(const TensorType &type,
                                    std::mt19937_64 &rng) {
  absl::StatusOr<Tensor> t = Tensor::allocate(TensorType(type.dtype, type.shape));
  if (!t.ok())
    return t;
  std::uniform_real_distribution<double> real(-1.0, 1.0);
  std::uniform_int_distribution<int64_t> integer(0, 9);
  for (int64_t i = 0, n = t->numElements(); i < n; ++i) {
    if (isFloat(type.dtype))
      t->setElementFromDouble(i, real(rng));
    else if (type.dtype == DType::Bool)
      t->setElementFromInt(i, integer(rng) % 2);
    else
      t->setElementFromInt(i, integer(rng));
  }
  return t;
}

void printTensor(const std::string &name, const Tensor &t, int64_t limit) {
  std::printf("%s: %s\n", name.c_str(), t.type().str().c_str());
  if (limit == 0)
    return;
  int64_t n = t.numElements();
  std::string line = "  [";
  for (int64_t i = 0; i < n && i < limit; ++i) {
    char buf[64];
    if (isFloat(t.dtype()))
      std::snprintf(buf, sizeof buf, "%.6g", t.elementAsDouble(i));
    else
      std::snprintf(buf, sizeof buf, "%lld",
                    static_cast<long long>(t.elementAsInt(i)));
    line += (i ? ", " : "") + std::string(buf);
  }
  if (n > limit)
    line += ", ... (" + std::to_string(n) + " values)";
  std::printf("%s]\n", line.c_str());
}

/// The --profile report: steps by time, then op kinds by time.
std::string formatProfile(const std::vector<StepProfile> &steps, int64_t runs) {
  double total = 0;
  for (const StepProfile &s : steps)
    total += s.seconds;
  auto perRunMs = [&](double seconds) { return seconds * 1e3 / runs; };
  auto share = [&](double seconds) {
    return total > 0 ? 100.0 * seconds / total : 0.0;
  };
  std::vector<const StepProfile *> order;
  for (const StepProfile &s : steps)
    order.push_back(&s);
  std::stable_sort(order.begin(), order.end(),
                   [](const StepProfile *a, const StepProfile *b) {
                     return a->seconds > b->seconds;
                   });
  char line[512];
  std::string out;
  std::snprintf(line, sizeof line,
                "profile: %lld runs, %.4f ms per run in %zu steps\n"
                "  ms/run     share  step\n",
                static_cast<long long>(runs), perRunMs(total), steps.size());
  out += line;
  for (const StepProfile *s : order) {
    std::snprintf(line, sizeof line, "  %9.4f  %5.1f%%  %s%s\n",
                  perRunMs(s->seconds), share(s->seconds), s->op.c_str(),
                  s->compiled ? "" : " (interpreter)");
    out += line;
  }
  std::map<std::string, std::pair<double, int>> kinds; // time, steps
  for (const StepProfile &s : steps) {
    kinds[s.kind].first += s.seconds;
    kinds[s.kind].second += 1;
  }
  std::vector<std::pair<std::string, std::pair<double, int>>> byKind(
      kinds.begin(), kinds.end());
  std::stable_sort(byKind.begin(), byKind.end(), [](const auto &a, const auto &b) {
    return a.second.first > b.second.first;
  });
  out += "by op kind:\n  ms/run     share  kind (steps)\n";
  for (const auto &[kind, t] : byKind) {
    std::snprintf(line, sizeof line, "  %9.4f  %5.1f%%  %s (%d)\n",
                  perRunMs(t.first), share(t.first), kind.c_str(), t.second);
    out += line;
  }
  return out;
}

} // namespace

int main(int argc, char **argv) {
  Options o;
  bool exitNow = false;
  if (std::string err = parseArgs(argc, argv, o, exitNow); !err.empty()) {
    std::fprintf(stderr, "tcpu-run: error: %s\n", err.c_str());
    return 2;
  }
  if (exitNow)
    return 0;

  absl::StatusOr<std::unique_ptr<Graph>> graph = tools::loadModel(o.model, o.onnx);
  if (!graph.ok())
    return tools::fail("tcpu-run", graph.status());

  std::map<std::string, const Value *> byName;
  std::string names;
  for (const Value *in : (*graph)->inputs()) {
    byName[in->name] = in;
    names += (names.empty() ? "" : ", ") + in->name;
  }
  for (const auto &[name, file] : o.inputs)
    if (!byName.count(name))
      return tools::fail(
          "tcpu-run", absl::InvalidArgumentError(
                          "unknown input '" + name + "'; the inputs of '" +
                          o.model + "' are: " + (names.empty() ? "(none)" : names)));

  std::mt19937_64 rng(o.seed);
  std::vector<Tensor> inputs;
  for (const Value *in : (*graph)->inputs()) {
    auto it = o.inputs.find(in->name);
    absl::StatusOr<Tensor> t = it == o.inputs.end()
                                   ? randomTensor(in->type, rng)
                                   : readNpy(it->second);
    if (!t.ok())
      return tools::fail("tcpu-run", t.status());
    if (it != o.inputs.end()) {
      absl::Status s = checkArgumentType("input '" + in->name + "'", in->type,
                                         t->type());
      if (!s.ok())
        return tools::fail("tcpu-run",
                           absl::InvalidArgumentError(std::string(s.message()) +
                                                      " (from " + it->second +
                                                      ")"));
    }
    inputs.push_back(std::move(*t));
  }

  if (o.threads > 0)
    set_num_threads(static_cast<int>(o.threads));
  std::unique_ptr<CompiledModel> model;
  if (o.engine == "compiled" || o.check) {
    CompileOptions co;
    co.threads = static_cast<int>(o.threads);
    co.graphOptLevel = o.graphOptLevel;
    co.triple = o.triple;
    co.cpu = o.cpu;
    absl::StatusOr<std::unique_ptr<CompiledModel>> m = compile(**graph, co);
    if (!m.ok())
      return tools::fail("tcpu-run", m.status());
    model = std::move(*m);
    if (o.passRemarks)
      for (const std::string &r : model->passRemarks())
        std::fprintf(stderr, "remark: %s\n", r.c_str());
    if (o.fusionReport)
      std::fputs(fusionReport(model->passRemarks()).c_str(), stderr);
  }
  auto runOnce = [&]() -> absl::StatusOr<std::vector<Tensor>> {
    if (o.engine == "compiled")
      return model->run(inputs);
    return interpret(**graph, inputs);
  };
  absl::StatusOr<std::vector<Tensor>> outputs = runOnce();
  if (!outputs.ok())
    return tools::fail("tcpu-run", outputs.status());

  if (o.benchmark > 0) {
    std::vector<double> ms;
    for (int64_t i = 0; i < o.benchmark; ++i) {
      auto start = std::chrono::steady_clock::now();
      absl::StatusOr<std::vector<Tensor>> r = runOnce();
      ms.push_back(std::chrono::duration<double, std::milli>(
                       std::chrono::steady_clock::now() - start)
                       .count());
      if (!r.ok())
        return tools::fail("tcpu-run", r.status());
    }
    std::sort(ms.begin(), ms.end());
    double median = ms.size() % 2 ? ms[ms.size() / 2]
                                  : (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]) / 2;
    std::string fallback;
    if (model && o.engine == "compiled")
      for (const std::string &f : model->fallbackOps())
        fallback += std::string(fallback.empty() ? "" : ", ") + "\"" + f + "\"";
    bool compiled = model && o.engine == "compiled";
    CompilePhases phases = compiled ? model->compilePhases() : CompilePhases{};
    std::printf("{\"engine\": \"%s\", \"iterations\": %lld, \"median_ms\": %.6f, "
                "\"min_ms\": %.6f, \"threads\": %d, \"compile_ms\": %.3f, "
                "\"graph_opt_level\": %d, \"graph_pass_ms\": %.3f, "
                "\"lower_ms\": %.3f, \"llvm_opt_ms\": %.3f, \"codegen_ms\": %.3f, "
                "\"peak_arena_bytes\": %lld, \"naive_bytes\": %lld, "
                "\"prepacked_bytes\": %lld, \"fallback_ops\": [%s]}\n",
                o.engine.c_str(), static_cast<long long>(o.benchmark), median,
                ms.front(), compiled ? model->threads() : 1,
                compiled ? model->compileSeconds() * 1e3 : 0.0,
                compiled ? model->graphOptLevel() : 0,
                compiled ? model->graphPassSeconds() * 1e3 : 0.0,
                phases.lower * 1e3, phases.optimize * 1e3, phases.codegen * 1e3,
                static_cast<long long>(compiled ? model->peakArenaBytes() : 0),
                static_cast<long long>(compiled ? model->naiveArenaBytes() : 0),
                static_cast<long long>(compiled ? model->prepackedWeightBytes()
                                                : 0),
                fallback.c_str());
  }

  if (o.profile > 0) {
    if (o.engine != "compiled")
      return tools::fail("tcpu-run", absl::InvalidArgumentError(
                                         "--profile needs the compiled engine"));
    absl::StatusOr<std::vector<StepProfile>> steps =
        model->profile(inputs, static_cast<int>(o.profile));
    if (!steps.ok())
      return tools::fail("tcpu-run", steps.status());
    std::fputs(formatProfile(*steps, o.profile).c_str(), stdout);
  }

  if (o.check) {
    // The other engine's outputs, compared element by element.
    absl::StatusOr<std::vector<Tensor>> other =
        o.engine == "compiled" ? interpret(**graph, inputs) : model->run(inputs);
    if (!other.ok())
      return tools::fail("tcpu-run", other.status());
    const auto &outs = (*graph)->outputs();
    for (size_t i = 0; i < outs.size(); ++i) {
      const Tensor &a = (*outputs)[i], &b = (*other)[i];
      double worst = 0;
      bool nanMismatch = false;
      for (int64_t k = 0, n = a.numElements(); k < n; ++k) {
        double x = a.elementAsDouble(k), y = b.elementAsDouble(k);
        if (std::isnan(x) || std::isnan(y)) {
          nanMismatch |= std::isnan(x) != std::isnan(y);
          continue;
        }
        if (x != y)
          worst = std::max(worst, std::isinf(x) || std::isinf(y)
                                      ? INFINITY
                                      : std::fabs(x - y));
      }
      std::printf("check: %s: max_abs_error=%g%s\n", outs[i].name.c_str(), worst,
                  nanMismatch ? " (NaN mismatch)" : "");
    }
  }

  if (!o.outputDir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.outputDir, ec);
    if (ec)
      return tools::fail("tcpu-run",
                         absl::InvalidArgumentError("cannot create directory '" +
                                                    o.outputDir + "': " +
                                                    ec.message()));
  }
  const auto &outs = (*graph)->outputs();
  for (size_t i = 0; i < outs.size(); ++i) {
    if (o.benchmark == 0 && o.profile == 0)
      printTensor(outs[i].name, (*outputs)[i], o.printLimit);
    if (o.outputDir.empty())
      continue;
    // Output names come from the model; keep them from escaping the folder.
    std::string file = outs[i].name;
    for (char &c : file)
      if (c == '/' || c == '\\')
        c = '_';
    if (file == "." || file == "..")
      file = "_" + file;
    std::string path = (std::filesystem::path(o.outputDir) / (file + ".npy")).string();
    if (absl::Status s = writeNpy(path, (*outputs)[i]); !s.ok())
      return tools::fail("tcpu-run", s);
  }
  return 0;
}

//===- tcpu-opt.cpp - Read, transform and print tcpu IR --------------------===//
//
//   tcpu-opt [options] INPUT.tir
// Parses and verifies the input, runs the -O<n> pipeline and then
// --pass-pipeline, prints the result.
//
//===----------------------------------------------------------------------===//
#include "codegen/Aot.h"
#include "ir/DiagnosticVerifier.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "passes/Pass.h"
#include "passes/Pipelines.h"
#include "passes/FusionUtils.h"
#include "passes/Remarks.h"
#include "tools/ToolSupport.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

using namespace tcpu;

namespace {

const char *kUsage = R"(usage: tcpu-opt [options] INPUT

Reads a tcpu IR file (.tir; '-' reads standard input) or imports an ONNX
model (.onnx), verifies it, runs the passes of -O<n> and then those of
--pass-pipeline, and prints the result.

options:
  -O0, -O1, -O2, -O3      run the graph optimization pipeline of that level
                          (default -O0: none) before --pass-pipeline; -O1:
                          fold, canonicalize, cse, dce; -O2: also
                          fold-batch-norm; -O3: also fusion and layouts
  --print-pipeline        print the passes that would run, and exit
  --pass-remarks          print what the passes did and did not do, and why
                          (to stderr)
  --fusion-report         print what the fusion passes fused, what they did
                          not and why, and counts (to stderr)
  --pass-pipeline=PASSES  comma-separated passes, each optionally with
                          {key=value,...} options (see --list-passes)
  --print-ir-after-all    print the IR after every pass (to stderr)
  --split-input-file      treat each '// -----' separated chunk as its own
                          input; outputs are separated the same way
  --verify-diagnostics    check that the diagnostics produced are exactly the
                          ones stated in '// expected-error@+N {{...}}' comments
  --inline-constants      print every constant inline as dense<...>
  --elide-blobs           leave out the blobs section (output does not parse
                          back to the same graph)
  -o FILE                 write the output to FILE instead of standard output
  --input-shape NAME=DIMS static shape (e.g. 1x3x224x224) for an ONNX input
                          with symbolic dims (repeatable)
  --list-passes           list the registered passes and exit
  --help                  show this text

ahead-of-time compilation (instead of printing the IR):
  --emit=KIND             obj (object file; needs -o), asm, llvm (LLVM IR as
                          optimized) or header (the C header declaring the
                          entry point, inputs, outputs and arena size)
  --entry=PREFIX          name the entry point PREFIX_run (default: the
                          graph's name)
  --weights=FILE          keep the constants in FILE (written with obj, asm
                          and llvm; memory-mapped at run time) instead of
                          embedding them in the object
  --mtriple=TRIPLE        target triple (default: this machine's), e.g.
                          aarch64-linux-gnu
  --mcpu=CPU              target CPU (default: this machine's with no
                          --mtriple, else generic), e.g. haswell; 'native'
)";

struct Options {
  std::string input;
  std::string output;
  std::string pipeline;
  int level = 0;
  bool printPipeline = false;
  bool remarks = false;
  bool fusionReport = false;
  bool printAfterAll = false;
  bool split = false;
  bool verifyDiagnostics = false;
  PrintOptions print;
  OnnxImportOptions onnx;
  // Ahead-of-time compilation (--emit): empty kind prints the IR.
  std::string emit;
  AotOptions aot;
  std::string weights;
};

bool startsWith(const char *s, const char *prefix) {
  return std::strncmp(s, prefix, std::strlen(prefix)) == 0;
}

/// Parses the command line; returns an error message or "".
std::string parseArgs(int argc, char **argv, Options &o, bool &exitNow) {
  for (int i = 1; i < argc; ++i) {
    const char *a = argv[i];
    if (!std::strcmp(a, "--help") || !std::strcmp(a, "-h")) {
      std::fputs(kUsage, stdout);
      exitNow = true;
      return "";
    } else if (!std::strcmp(a, "--list-passes")) {
      for (const PassInfo &p : allPasses())
        std::printf("  %-14s %s\n", std::string(p.name).c_str(),
                    std::string(p.summary).c_str());
      exitNow = true;
      return "";
    } else if (startsWith(a, "--pass-pipeline=")) {
      o.pipeline = a + std::strlen("--pass-pipeline=");
    } else if (!std::strcmp(a, "--pass-pipeline")) {
      if (++i == argc)
        return "--pass-pipeline needs a value";
      o.pipeline = argv[i];
    } else if (a[0] == '-' && a[1] == 'O' && a[2] != '\0' && a[3] == '\0') {
      if (a[2] < '0' || a[2] > '0' + kMaxGraphOptLevel)
        return std::string("unknown optimization level '") + a +
               "' (-O0 to -O3)";
      o.level = a[2] - '0';
    } else if (!std::strcmp(a, "--print-pipeline")) {
      o.printPipeline = true;
    } else if (!std::strcmp(a, "--pass-remarks")) {
      o.remarks = true;
    } else if (!std::strcmp(a, "--fusion-report")) {
      o.fusionReport = true;
    } else if (!std::strcmp(a, "--print-ir-after-all")) {
      o.printAfterAll = true;
    } else if (!std::strcmp(a, "--split-input-file")) {
      o.split = true;
    } else if (!std::strcmp(a, "--verify-diagnostics")) {
      o.verifyDiagnostics = true;
    } else if (!std::strcmp(a, "--inline-constants")) {
      o.print.inlineConstants = true;
    } else if (!std::strcmp(a, "--elide-blobs")) {
      o.print.elideBlobs = true;
    } else if (startsWith(a, "--input-shape")) {
      std::string v;
      if (startsWith(a, "--input-shape="))
        v = a + std::strlen("--input-shape=");
      else if (!std::strcmp(a, "--input-shape") && i + 1 < argc)
        v = argv[++i];
      else
        return "--input-shape needs NAME=D0xD1x...";
      if (std::string err = tools::parseInputShapeFlag(v, o.onnx); !err.empty())
        return err;
    } else if (startsWith(a, "--emit=") || startsWith(a, "--entry=") ||
               startsWith(a, "--weights=") || startsWith(a, "--mtriple=") ||
               startsWith(a, "--mcpu=")) {
      std::string flag(a, std::strchr(a, '=') - a), v = std::strchr(a, '=') + 1;
      if (v.empty())
        return flag + " needs a value";
      (flag == "--emit"      ? o.emit
       : flag == "--entry"   ? o.aot.entryPrefix
       : flag == "--weights" ? o.weights
       : flag == "--mtriple" ? o.aot.triple
                             : o.aot.cpu) = v;
    } else if (!std::strcmp(a, "-o")) {
      if (++i == argc)
        return "-o needs a file name";
      o.output = argv[i];
    } else if (a[0] == '-' && a[1] != '\0') {
      return std::string("unknown option '") + a + "' (see --help)";
    } else if (o.input.empty()) {
      o.input = a;
    } else {
      return "more than one input file given ('" + o.input + "' and '" + a +
             "')";
    }
  }
  if (o.input.empty() && !o.printPipeline)
    return "no input file (see --help)";
  return "";
}

/// Checks the ahead-of-time flags and completes o.aot; returns an error
/// message or "".
std::string checkAotFlags(Options &o) {
  if (o.emit.empty()) {
    if (!o.weights.empty() || !o.aot.entryPrefix.empty() ||
        !o.aot.triple.empty() || !o.aot.cpu.empty())
      return "--weights, --entry, --mtriple and --mcpu need --emit";
    return "";
  }
  absl::StatusOr<AotEmitKind> kind = parseAotEmitKind(o.emit);
  if (!kind.ok())
    return std::string(kind.status().message());
  o.aot.kind = *kind;
  if (o.split || o.verifyDiagnostics)
    return "--emit cannot be combined with --split-input-file or "
           "--verify-diagnostics";
  if (*kind == AotEmitKind::Object && (o.output.empty() || o.output == "-"))
    return "--emit=obj needs -o FILE";
  o.aot.externalWeights = !o.weights.empty();
  o.aot.weightsFileName = o.weights;
  o.aot.sourceName = o.input;
  return "";
}

/// Appends the printed graph, or with --emit its compiled form, to `out`,
/// and writes the --weights file. Errors go to stderr. Returns success.
bool render(const Graph &graph, const Options &o, std::string &out) {
  if (o.emit.empty()) {
    out += printGraph(graph, o.print);
    return true;
  }
  absl::StatusOr<std::string> bytes = emitAot(graph, o.aot);
  if (!bytes.ok()) {
    tools::fail("tcpu-opt", bytes.status());
    return false;
  }
  if (o.aot.externalWeights && o.aot.kind != AotEmitKind::Header)
    if (absl::Status s = writeAotWeights(graph, o.weights, o.aot); !s.ok()) {
      tools::fail("tcpu-opt", s);
      return false;
    }
  out += *bytes;
  return true;
}

/// Runs `steps` with the printing and remarks the options ask for.
absl::Status runSteps(Graph &graph, const std::vector<PipelineStep> &steps,
                      const Options &o) {
  std::ostringstream after;
  std::vector<Remark> remarks;
  PipelineOptions pipelineOptions;
  if (o.printAfterAll)
    pipelineOptions.printAfterEach = &after;
  if (o.remarks || o.fusionReport)
    pipelineOptions.remarks = &remarks;
  absl::Status s = runPipeline(graph, steps, pipelineOptions);
  std::fputs(after.str().c_str(), stderr);
  std::vector<std::string> lines;
  for (const Remark &r : remarks)
    lines.push_back(r.str());
  if (o.remarks)
    for (const std::string &r : lines)
      std::fprintf(stderr, "remark: %s\n", r.c_str());
  if (o.fusionReport)
    std::fputs(fusionReport(lines).c_str(), stderr);
  return s;
}

/// Processes one chunk; appends its output to `out`. Returns success.
bool processChunk(const SourceChunk &chunk, const Options &o,
                  const std::vector<PipelineStep> &steps,
                  const std::string &bufferName, std::string &out) {
  DiagnosticEngine diags;
  ParseOptions parseOptions;
  parseOptions.bufferName = bufferName;
  parseOptions.lineOffset = chunk.lineOffset;
  std::unique_ptr<Graph> graph = parseGraph(chunk.text, parseOptions, diags);
  if (graph) {
    absl::Status s = runSteps(*graph, steps, o);
    if (!s.ok()) {
      diags.error(graph->loc, std::string(s.message()));
      graph.reset();
    }
  }

  if (o.verifyDiagnostics) {
    std::vector<std::string> problems;
    std::vector<ExpectedDiagnostic> expected =
        parseExpectedDiagnostics(chunk.text, chunk.lineOffset, problems);
    std::vector<std::string> mismatches =
        checkDiagnostics(diags.diagnostics(), expected, bufferName);
    for (const std::string &p : problems)
      std::fprintf(stderr, "%s: error: %s\n", bufferName.c_str(), p.c_str());
    for (const std::string &m : mismatches)
      std::fprintf(stderr, "%s\n", m.c_str());
    if (graph)
      out += printGraph(*graph, o.print);
    return problems.empty() && mismatches.empty();
  }

  std::fputs(diags.str().c_str(), stderr);
  if (!graph)
    return false;
  return render(*graph, o, out);
}

/// Imports an ONNX model, runs the pipeline, appends the printed graph to
/// `out`. Errors go to stderr. Returns success.
bool processOnnx(const Options &o, const std::vector<PipelineStep> &steps,
                 std::string &out) {
  absl::StatusOr<std::unique_ptr<Graph>> graph = tools::loadModel(o.input, o.onnx);
  if (!graph.ok()) {
    tools::fail("tcpu-opt", graph.status());
    return false;
  }
  absl::Status s = runSteps(**graph, steps, o);
  if (!s.ok()) {
    tools::fail("tcpu-opt", s);
    return false;
  }
  return render(**graph, o, out);
}

} // namespace

int main(int argc, char **argv) {
  Options o;
  bool exitNow = false;
  if (std::string err = parseArgs(argc, argv, o, exitNow); !err.empty()) {
    std::fprintf(stderr, "tcpu-opt: error: %s\n", err.c_str());
    return 2;
  }
  if (exitNow)
    return 0;
  if (std::string err = checkAotFlags(o); !err.empty()) {
    std::fprintf(stderr, "tcpu-opt: error: %s\n", err.c_str());
    return 2;
  }

  // -O<n> first, then --pass-pipeline: `-O2 --pass-pipeline=X` runs X on
  // the -O2 result.
  absl::StatusOr<std::vector<PipelineStep>> steps = stepsForLevel(o.level);
  if (!steps.ok())
    return tools::fail("tcpu-opt", steps.status());
  absl::StatusOr<std::vector<PipelineStep>> extra = parsePipeline(o.pipeline);
  if (!extra.ok())
    return tools::fail("tcpu-opt", extra.status());
  steps->insert(steps->end(), extra->begin(), extra->end());
  if (o.printPipeline) {
    std::string text;
    for (const PipelineStep &step : *steps) {
      text += (text.empty() ? "" : ",") + std::string(step.pass->name);
      if (!step.options.values.empty()) {
        std::string opts;
        for (const auto &[k, v] : step.options.values)
          opts += (opts.empty() ? "" : ",") + k + "=" + v;
        text += "{" + opts + "}";
      }
    }
    std::printf("%s\n", text.c_str());
    return 0;
  }
  std::string out;
  bool ok = true;
  if (tools::endsWith(o.input, ".onnx")) {
    ok = processOnnx(o, *steps, out);
  } else {
    if (!o.onnx.inputShapes.empty()) {
      std::fprintf(stderr, "tcpu-opt: error: --input-shape is only for .onnx "
                           "models\n");
      return 2;
    }
    absl::StatusOr<std::string> text = tools::readFile(o.input);
    if (!text.ok())
      return tools::fail("tcpu-opt", text.status());
    std::string bufferName = o.input == "-" ? "<stdin>" : o.input;

    std::vector<SourceChunk> chunks =
        o.split ? splitInputFile(*text)
                : std::vector<SourceChunk>{{std::string_view(*text), 0}};
    for (size_t i = 0; i < chunks.size(); ++i) {
      std::string chunkOut;
      ok &= processChunk(chunks[i], o, *steps, bufferName, chunkOut);
      if (!chunkOut.empty()) {
        if (!out.empty())
          out += "// -----\n";
        out += chunkOut;
      }
    }
  }

  if (!ok && !o.emit.empty())
    return 1; // no partial object or header
  if (o.output.empty()) {
    std::fwrite(out.data(), 1, out.size(), stdout);
  } else {
    std::ofstream f(o.output, std::ios::binary);
    f << out;
    if (!f) {
      std::fprintf(stderr, "tcpu-opt: error: cannot write '%s': %s\n",
                   o.output.c_str(), std::strerror(errno));
      return 1;
    }
  }
  return ok ? 0 : 1;
}

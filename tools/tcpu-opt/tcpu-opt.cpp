//===- tcpu-opt.cpp - Read, transform and print tcpu IR --------------------===//
//
//   tcpu-opt [options] INPUT.tir
// Parses and verifies the input, runs --pass-pipeline, prints the result.
//
//===----------------------------------------------------------------------===//
#include "ir/DiagnosticVerifier.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "passes/Pass.h"
#include "tools/ToolSupport.h"

#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

using namespace tcpu;

namespace {

const char *kUsage = R"(usage: tcpu-opt [options] INPUT

Reads a tcpu IR file (.tir; '-' reads standard input) or imports an ONNX
model (.onnx), verifies it, runs the passes of --pass-pipeline and prints the
result.

options:
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
)";

struct Options {
  std::string input;
  std::string output;
  std::string pipeline;
  bool printAfterAll = false;
  bool split = false;
  bool verifyDiagnostics = false;
  PrintOptions print;
  OnnxImportOptions onnx;
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
  if (o.input.empty())
    return "no input file (see --help)";
  return "";
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
    std::ostringstream after;
    PipelineOptions pipelineOptions;
    if (o.printAfterAll)
      pipelineOptions.printAfterEach = &after;
    absl::Status s = runPipeline(*graph, steps, pipelineOptions);
    std::fputs(after.str().c_str(), stderr);
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
  out += printGraph(*graph, o.print);
  return true;
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
  std::ostringstream after;
  PipelineOptions pipelineOptions;
  if (o.printAfterAll)
    pipelineOptions.printAfterEach = &after;
  absl::Status s = runPipeline(**graph, steps, pipelineOptions);
  std::fputs(after.str().c_str(), stderr);
  if (!s.ok()) {
    tools::fail("tcpu-opt", s);
    return false;
  }
  out += printGraph(**graph, o.print);
  return true;
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

  absl::StatusOr<std::vector<PipelineStep>> steps = parsePipeline(o.pipeline);
  if (!steps.ok())
    return tools::fail("tcpu-opt", steps.status());
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

  if (o.output.empty()) {
    std::fwrite(out.data(), 1, out.size(), stdout);
  } else {
    std::ofstream f(o.output, std::ios::binary);
    f << out;
    if (!f) {
      std::fprintf(stderr, "tcpu-opt: error: cannot write '%s'\n",
                   o.output.c_str());
      return 1;
    }
  }
  return ok ? 0 : 1;
}

//===- aot_runner.cpp - Run an AOT object on .npy inputs, for tests --------===//
//
//   aot_runner MODEL OBJECT ENTRY ARENA_BYTES OUTPUT_DIR [--weights FILE]
//              [--input NAME=FILE.npy]...
//
// Links OBJECT (from `tcpu-opt MODEL --emit=obj --entry=ENTRY`) into this
// process with the JIT's object linker (codegen/AotJitForTests.h), calls
// ENTRY_run on the inputs (MODEL gives their order and types) and writes
// OUTPUT_DIR/<output name>.npy. run_models_aot.py uses it to run every real
// model through the AOT path without a system compiler; the MLP example
// (mlp_main.cpp) is the one linked the ordinary way.
//
//===----------------------------------------------------------------------===//
#include "codegen/AotJitForTests.h"
#include "ir/Interpreter.h"
#include "ir/Npy.h"
#include "runtime/AotRuntime.h"
#include "tools/ToolSupport.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <new>

using namespace tcpu;

int main(int argc, char **argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: aot_runner MODEL OBJECT ENTRY ARENA_BYTES "
                         "OUTPUT_DIR [--weights FILE] [--input NAME=FILE]...\n");
    return 2;
  }
  std::string model = argv[1], objectPath = argv[2], entry = argv[3],
              outDir = argv[5], weightsPath;
  long long arenaBytes = std::atoll(argv[4]);
  std::map<std::string, std::string> inputFiles;
  for (int i = 6; i + 1 < argc; i += 2) {
    std::string flag = argv[i], v = argv[i + 1];
    if (flag == "--weights") {
      weightsPath = v;
    } else if (flag == "--input" && v.find('=') != std::string::npos) {
      inputFiles[v.substr(0, v.find('='))] = v.substr(v.find('=') + 1);
    } else {
      std::fprintf(stderr, "aot_runner: bad argument '%s'\n", flag.c_str());
      return 2;
    }
  }
  absl::StatusOr<std::unique_ptr<Graph>> graph = tools::loadModel(model);
  if (!graph.ok())
    return tools::fail("aot_runner", graph.status());
  absl::StatusOr<std::string> object = tools::readFile(objectPath);
  if (!object.ok())
    return tools::fail("aot_runner", object.status());
  absl::StatusOr<std::unique_ptr<LoadedAotObject>> loaded =
      LoadedAotObject::load(*object, entry + "_run");
  if (!loaded.ok())
    return tools::fail("aot_runner", loaded.status());

  std::vector<Tensor> inputs;
  std::vector<const void *> in;
  for (const Value *v : (*graph)->inputs()) {
    auto it = inputFiles.find(v->name);
    if (it == inputFiles.end()) {
      std::fprintf(stderr, "aot_runner: no --input for '%s'\n", v->name.c_str());
      return 2;
    }
    absl::StatusOr<Tensor> t = readNpy(it->second);
    if (!t.ok())
      return tools::fail("aot_runner", t.status());
    if (absl::Status s = checkArgumentType("input '" + v->name + "'", v->type, t->type());
        !s.ok())
      return tools::fail("aot_runner", s);
    inputs.push_back(std::move(*t));
    in.push_back(inputs.back().data());
  }
  std::vector<Tensor> outputs;
  std::vector<void *> out;
  for (const GraphOutput &o : (*graph)->outputs()) {
    outputs.push_back(Tensor::allocate(o.value->type).value());
    out.push_back(outputs.back().mutableData());
  }
  tcpu_weights w = {};
  if (!weightsPath.empty()) {
    if (int32_t code = tcpu_weights_map(weightsPath.c_str(), 0, 0, &w); code != TCPU_OK) {
      std::fprintf(stderr, "aot_runner: %s\n", w.message);
      return 1;
    }
  }
  void *arena = ::operator new(static_cast<size_t>(arenaBytes > 0 ? arenaBytes : 1),
                               std::align_val_t(64));
  int32_t code = (*loaded)->entry()(in.data(), out.data(), arena, w.data);
  ::operator delete(arena, std::align_val_t(64));
  tcpu_weights_unmap(&w);
  if (code != TCPU_OK) {
    std::fprintf(stderr, "aot_runner: %s_run returned %d: %s\n", entry.c_str(),
                 code, tcpu_error_string(code));
    return 1;
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::string name = (*graph)->outputs()[i].name;
    for (char &c : name)
      if (c == '/' || c == '\\')
        c = '_';
    if (absl::Status s = writeNpy(outDir + "/" + name + ".npy", outputs[i]); !s.ok())
      return tools::fail("aot_runner", s);
  }
  return 0;
}

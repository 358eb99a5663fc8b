//===- AotTest.cpp - Ahead-of-time objects, headers and weights files -----===//
//
// The objects emitAot writes for the host are linked into this process
// (codegen/AotJitForTests.h) and run against the reference interpreter, with
// the constants embedded and in a mapped weights file; the entry point's
// argument checks and kernel error codes; cross-target objects; the weights
// file format and the runtime's checks of it.
//
//===----------------------------------------------------------------------===//
#include "CodegenTestSupport.h"

#include "codegen/Aot.h"
#include "codegen/AotJitForTests.h"
#include "codegen/AotSupport.h"
#include "ir/Parser.h"
#include "runtime/AotRuntime.h"

#include <cstring>
#include <fstream>
#include <iterator>

namespace tcpu {
namespace {

using cgtest::randomTensor;

std::string tempPath(const std::string &name) {
  return ::testing::TempDir() + "/tcpu_aot_" + name;
}

std::string readBytes(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

uint64_t le64(const std::string &s, size_t at) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = v << 8 | static_cast<unsigned char>(s[at + i]);
  return v;
}

/// Elementwise ops, intermediates in the arena (one aliased by reshapes), a
/// large constant used by a kernel, and outputs that are an input, a
/// constant, a repeat and a value read again later.
std::unique_ptr<Graph> mixedGraph() {
  GraphBuilder b("mixed");
  Value *x = b.input("x", TensorType(DType::F32, {3, 37}));
  Value *y = b.input("y", TensorType(DType::F32, {37}));
  Tensor big = Tensor::allocate(TensorType(DType::F32, {3, 37})).value();
  for (int64_t i = 0; i < big.numElements(); ++i)
    big.setElementFromDouble(i, 0.01 * static_cast<double>(i % 53) - 0.2);
  Value *c = b.constant(std::move(big), "big");
  Tensor small = Tensor::allocate(TensorType(DType::F32, {5})).value();
  for (int64_t i = 0; i < 5; ++i)
    small.setElementFromDouble(i, i - 1.5);
  Value *k = b.constant(std::move(small), "k");
  Value *s = b.add({x, y}).value();
  Value *t = b.mul({s, c}).value();
  // A reshape (an alias in the arena: no kernel) and an op that may
  // overwrite its dying operand.
  Value *flat = b.reshape({t}, {{"shape", std::vector<int64_t>{111}}}).value();
  Value *a = b.abs({flat}).value();
  Value *back = b.reshape({a}, {{"shape", std::vector<int64_t>{3, 37}}}).value();
  Value *n = b.neg({back}).value();
  Value *e = b.exp({n}).value();
  Value *r = b.mul({e, s}).value();
  b.output("x_again", x);
  b.output("n", n);
  b.output("n_again", n);
  b.output("r", r);
  b.output("k", k);
  b.output("s", s);
  return b.finish().value();
}

/// Runs `graph` through an AOT object and compares with the interpreter:
/// f32 outputs within `ulps`.
void expectAotMatches(const Graph &graph, bool external, int64_t ulps,
                      const std::string &tag) {
  AotOptions o;
  o.entryPrefix = "m";
  o.externalWeights = external;
  absl::StatusOr<std::string> object = emitAot(graph, o);
  ASSERT_TRUE(object.ok()) << object.status();
  absl::StatusOr<std::unique_ptr<LoadedAotObject>> loaded =
      LoadedAotObject::load(*object, "m_run");
  ASSERT_TRUE(loaded.ok()) << loaded.status();

  tcpu_weights w = {};
  if (external) {
    std::string path = tempPath(tag + ".weights");
    ASSERT_TRUE(writeAotWeights(graph, path, o).ok());
    WeightsLayout layout = aotWeightsLayout(graph, o).value();
    ASSERT_EQ(tcpu_weights_map(path.c_str(), layout.fileBytes,
                               layout.fingerprint, &w),
              TCPU_OK)
        << w.message;
  }

  std::mt19937_64 rng(11);
  std::vector<Tensor> inputs;
  std::vector<const void *> in;
  for (const Value *v : graph.inputs()) {
    inputs.push_back(randomTensor(v->type, rng, -1, 1, false));
    in.push_back(inputs.back().data());
  }
  std::vector<Tensor> outputs;
  std::vector<void *> out;
  for (const GraphOutput &g : graph.outputs()) {
    outputs.push_back(Tensor::allocate(g.value->type).value());
    out.push_back(outputs.back().mutableData());
  }
  std::vector<uint8_t> arena(static_cast<size_t>(planMemory(graph).peakBytes) + 64);
  void *aligned = arena.data() + (64 - reinterpret_cast<uintptr_t>(arena.data()) % 64) % 64;
  ASSERT_EQ((*loaded)->entry()(in.data(), out.data(), aligned, w.data), TCPU_OK);
  tcpu_weights_unmap(&w);

  std::vector<Tensor> want = interpret(graph, inputs).value();
  for (size_t i = 0; i < want.size(); ++i) {
    std::string where;
    EXPECT_LE(cgtest::maxUlp(outputs[i], want[i], where), ulps)
        << tag << ": output " << graph.outputs()[i].name << ": " << where;
  }
}

TEST(AotObject, MatchesInterpreterWithEmbeddedWeights) {
  expectAotMatches(*mixedGraph(), false, 2, "mixed-embedded");
}

TEST(AotObject, MatchesInterpreterWithWeightsFile) {
  expectAotMatches(*mixedGraph(), true, 2, "mixed-external");
}

TEST(AotObject, MlpMatchesInterpreter) {
  auto g = parseGraphFile(std::string(TCPU_SOURCE_DIR) + "/test/models/mlp/mlp.tir");
  ASSERT_TRUE(g.ok()) << g.status();
  // A GEMM sums in another order than the interpreter (which sums in
  // double): a few hundred f32 ulps on these 784- and 256-term dot products.
  expectAotMatches(**g, false, 2048, "mlp-embedded");
  expectAotMatches(**g, true, 2048, "mlp-external");
  // Both weights were packed for their GEMMs at compile time: the weights
  // file carries the packed copies after the constants, at aligned offsets.
  AotOptions o;
  WeightsLayout layout = aotWeightsLayout(**g, o).value();
  EXPECT_EQ(layout.packed.size(), 2u);
  for (uint64_t off : layout.packedOffsets)
    EXPECT_EQ(off % TCPU_WEIGHTS_ALIGNMENT, 0u);
  ASSERT_FALSE(layout.packedOffsets.empty());
  EXPECT_GT(layout.packedOffsets[0], layout.offsets.back());
  // The code reads the weights only as packed copies: the file holds the
  // biases and the packed weights, not the weights as written.
  uint64_t stored = 0, packed = 0;
  for (size_t i = 0; i < layout.constants.size(); ++i) {
    const Value *v = layout.constants[i];
    bool isWeight = v->type.rank() == 2;
    EXPECT_EQ(layout.stored[i], !isWeight) << v->name;
    if (layout.stored[i])
      stored += v->type.byteSize();
  }
  for (const auto &p : layout.packed)
    packed += p->bytes();
  EXPECT_LE(layout.fileBytes,
            TCPU_WEIGHTS_HEADER_BYTES + stored + packed +
                (layout.constants.size() + layout.packed.size()) *
                    TCPU_WEIGHTS_ALIGNMENT);
}

TEST(AotObject, ArgumentChecks) {
  auto g = mixedGraph();
  AotOptions o;
  o.entryPrefix = "m";
  o.externalWeights = true;
  auto loaded = LoadedAotObject::load(emitAot(*g, o).value(), "m_run").value();
  AotEntryPoint run = loaded->entry();
  std::vector<float> x(3 * 37, 1.f), y(37, 2.f);
  std::vector<std::vector<float>> outs;
  std::vector<void *> out;
  for (const GraphOutput &o : g->outputs())
    outs.emplace_back(o.value->type.numElements());
  for (auto &v : outs)
    out.push_back(v.data());
  const void *in[] = {x.data(), y.data()};
  alignas(64) static uint8_t arena[1 << 16];
  ASSERT_LE(planMemory(*g).peakBytes, int64_t{sizeof arena});

  std::string path = tempPath("args.weights");
  ASSERT_TRUE(writeAotWeights(*g, path).ok());
  tcpu_weights w = {};
  ASSERT_EQ(tcpu_weights_map(path.c_str(), 0, 0, &w), TCPU_OK) << w.message;
  EXPECT_EQ(run(in, out.data(), arena, w.data), TCPU_OK);

  EXPECT_EQ(run(nullptr, out.data(), arena, w.data), TCPU_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(run(in, nullptr, arena, w.data), TCPU_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(run(in, out.data(), nullptr, w.data), TCPU_ERROR_INVALID_ARGUMENT);
  const void *nullInput[] = {x.data(), nullptr};
  EXPECT_EQ(run(nullInput, out.data(), arena, w.data), TCPU_ERROR_INVALID_ARGUMENT);
  std::vector<void *> nullOutput = out;
  nullOutput[3] = nullptr;
  EXPECT_EQ(run(in, nullOutput.data(), arena, w.data), TCPU_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(run(in, out.data(), arena, nullptr), TCPU_ERROR_WEIGHTS_MISSING);

  // Another model's weights file: the entry checks size and fingerprint.
  GraphBuilder b("other");
  Value *z = b.input("z", TensorType(DType::F32, {4}));
  b.output("z2", b.add({z, b.scalar(1.0)}).value());
  std::string otherPath = tempPath("other.weights");
  ASSERT_TRUE(writeAotWeights(*b.finish().value(), otherPath).ok());
  tcpu_weights other = {};
  ASSERT_EQ(tcpu_weights_map(otherPath.c_str(), 0, 0, &other), TCPU_OK);
  EXPECT_EQ(run(in, out.data(), arena, other.data), TCPU_ERROR_WEIGHTS_MISMATCH);
  tcpu_weights_unmap(&other);
  tcpu_weights_unmap(&w);
}

TEST(AotObject, KernelErrorsAreReturned) {
  auto g = parseGraph(R"(graph @div(%a: i32[9], %b: i32[9]) -> (q: i32[9]) {
  %q = div %a, %b : i32[9]
  return %q
})").value();
  AotOptions o;
  o.entryPrefix = "d";
  auto loaded = LoadedAotObject::load(emitAot(*g, o).value(), "d_run").value();
  int32_t a[9] = {9, 8, 7, 6, 5, 4, 3, 2, 1}, b[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9},
          q[9] = {};
  const void *in[] = {a, b};
  void *out[] = {q};
  EXPECT_EQ(loaded->entry()(in, out, nullptr, nullptr), TCPU_OK);
  EXPECT_EQ(q[1], 4);
  b[6] = 0;
  int32_t code = loaded->entry()(in, out, nullptr, nullptr);
  EXPECT_EQ(code, TCPU_ERROR_DIVISION_BY_ZERO);
  EXPECT_NE(std::string(tcpu_error_string(code)).find("division by zero"),
            std::string::npos);
}

TEST(AotEmit, AArch64ObjectIsAnElfForAArch64) {
  AotOptions o;
  o.triple = "aarch64-linux-gnu";
  absl::StatusOr<std::string> obj = emitAot(*mixedGraph(), o);
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_GT(obj->size(), 64u);
  EXPECT_EQ(obj->substr(0, 4), "\x7f"
                               "ELF");
  EXPECT_EQ((*obj)[4], 2); // 64-bit
  EXPECT_EQ((*obj)[5], 1); // little-endian
  EXPECT_EQ(static_cast<unsigned char>((*obj)[18]) |
                static_cast<unsigned char>((*obj)[19]) << 8,
            183); // EM_AARCH64
  EXPECT_NE(obj->find("mixed_run"), std::string::npos);
}

TEST(AotEmit, Errors) {
  auto g = mixedGraph();
  AotOptions o;
  o.entryPrefix = "not an identifier";
  auto bad = emitAot(*g, o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("not a C identifier"),
            std::string::npos);
  o = {};
  o.triple = "nonsense-arch";
  EXPECT_FALSE(emitAot(*g, o).ok());
  o = {};
  o.cpu = "pentium9000";
  auto cpu = emitAot(*g, o);
  ASSERT_FALSE(cpu.ok());
  EXPECT_NE(std::string(cpu.status().message()).find("unknown CPU 'pentium9000'"),
            std::string::npos);
  EXPECT_FALSE(parseAotEmitKind("exe").ok());
  EXPECT_EQ(parseAotEmitKind("header").value(), AotEmitKind::Header);

  auto unlowered = parseGraphFile(std::string(TCPU_SOURCE_DIR) +
                                  "/test/lit/aot/Inputs/unlowered.tir");
  ASSERT_TRUE(unlowered.ok()) << unlowered.status();
  auto failed = emitAot(**unlowered, {});
  ASSERT_FALSE(failed.ok());
  std::string m(failed.status().message());
  EXPECT_NE(m.find("1 op(s) have no lowering"), std::string::npos) << m;
  EXPECT_NE(m.find("lstm %y"), std::string::npos) << m;
}

TEST(AotEmit, DefaultPrefixIsTheGraphNameAsAnIdentifier) {
  GraphBuilder b("3d-net.v2");
  Value *z = b.input("z", TensorType(DType::F32, {4}));
  b.output("out", b.neg({z}).value());
  AotOptions o;
  o.kind = AotEmitKind::Header;
  std::string h = emitAot(*b.finish().value(), o).value();
  EXPECT_NE(h.find("int32_t _3d_net_v2_run("), std::string::npos) << h;
  EXPECT_NE(h.find("#define _3D_NET_V2_ARENA_BYTES 0"), std::string::npos) << h;
}

TEST(AotWeights, FileFormatAndRuntimeChecks) {
  auto g = mixedGraph();
  std::string path = tempPath("format.weights");
  ASSERT_TRUE(writeAotWeights(*g, path).ok());
  WeightsLayout layout = aotWeightsLayout(*g, {}).value();
  std::string bytes = readBytes(path);
  ASSERT_EQ(bytes.size(), layout.fileBytes);
  EXPECT_EQ(bytes.substr(0, 8), TCPU_WEIGHTS_MAGIC);
  EXPECT_EQ(le64(bytes, 8), layout.fileBytes);
  EXPECT_EQ(le64(bytes, 16), layout.fingerprint);
  ASSERT_EQ(layout.constants.size(), 2u);
  for (size_t i = 0; i < layout.constants.size(); ++i) {
    EXPECT_EQ(layout.offsets[i] % TCPU_WEIGHTS_ALIGNMENT, 0u);
    const Tensor &t = *layout.constants[i]->definingOp()->constantValue();
    EXPECT_EQ(std::memcmp(bytes.data() + layout.offsets[i], t.data(), t.byteSize()), 0);
  }
  // The header carries the same size and fingerprint.
  AotOptions o;
  o.kind = AotEmitKind::Header;
  o.externalWeights = true;
  o.weightsFileName = "mixed.weights";
  std::string h = emitAot(*g, o).value();
  char fp[64];
  std::snprintf(fp, sizeof fp, "0x%016llxull",
                static_cast<unsigned long long>(layout.fingerprint));
  EXPECT_NE(h.find("#define MIXED_WEIGHTS_FINGERPRINT " + std::string(fp)),
            std::string::npos) << h;
  EXPECT_NE(h.find("#define MIXED_WEIGHTS_BYTES " +
                   std::to_string(layout.fileBytes) + "ull"),
            std::string::npos) << h;

  tcpu_weights w = {};
  ASSERT_EQ(tcpu_weights_map(path.c_str(), layout.fileBytes, layout.fingerprint, &w),
            TCPU_OK) << w.message;
  EXPECT_EQ(w.bytes, layout.fileBytes);
  EXPECT_EQ(std::memcmp(w.data, bytes.data(), bytes.size()), 0);
  tcpu_weights_unmap(&w);
  EXPECT_EQ(w.data, nullptr);
  tcpu_weights_unmap(&w); // twice is harmless

  EXPECT_EQ(tcpu_weights_map(path.c_str(), layout.fileBytes + 64, 0, &w),
            TCPU_ERROR_WEIGHTS_SIZE);
  EXPECT_NE(std::string(w.message).find("the model expects"), std::string::npos);
  EXPECT_EQ(tcpu_weights_map(path.c_str(), 0, layout.fingerprint ^ 1, &w),
            TCPU_ERROR_WEIGHTS_MISMATCH);
  EXPECT_EQ(w.data, nullptr);
  EXPECT_EQ(tcpu_weights_map(tempPath("nope.weights").c_str(), 0, 0, &w),
            TCPU_ERROR_WEIGHTS_OPEN);
  EXPECT_NE(std::string(w.message).find("No such file"), std::string::npos);
  EXPECT_EQ(tcpu_weights_map(::testing::TempDir().c_str(), 0, 0, &w),
            TCPU_ERROR_WEIGHTS_OPEN);
  EXPECT_EQ(tcpu_weights_map(nullptr, 0, 0, &w), TCPU_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(tcpu_weights_map(path.c_str(), 0, 0, nullptr), TCPU_ERROR_INVALID_ARGUMENT);
  std::ofstream(tempPath("short.weights"), std::ios::binary) << "TCPUWTS1";
  EXPECT_EQ(tcpu_weights_map(tempPath("short.weights").c_str(), 0, 0, &w),
            TCPU_ERROR_WEIGHTS_SIZE);
  std::string wrongMagic = bytes;
  wrongMagic[0] = 'X';
  std::ofstream(tempPath("magic.weights"), std::ios::binary) << wrongMagic;
  EXPECT_EQ(tcpu_weights_map(tempPath("magic.weights").c_str(), 0, 0, &w),
            TCPU_ERROR_WEIGHTS_MAGIC);
  std::ofstream(tempPath("cut.weights"), std::ios::binary)
      << bytes.substr(0, bytes.size() - 1);
  EXPECT_EQ(tcpu_weights_map(tempPath("cut.weights").c_str(), 0, 0, &w),
            TCPU_ERROR_WEIGHTS_SIZE);
  EXPECT_NE(std::string(w.message).find("truncated"), std::string::npos);
  EXPECT_STREQ(tcpu_error_string(12345), "unknown tcpu error code");
}

} // namespace
} // namespace tcpu

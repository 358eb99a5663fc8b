//===- mlp_main.cpp - The AOT example: the MLP without LLVM ----------------===//
//
//   aot-mlp INPUT.npy EXPECTED.npy [--weights FILE] [--runs N]
//
// Runs the bundled MLP (test/models/mlp) compiled ahead of time by
// `tcpu-opt --emit=obj` and declared by `--emit=header` (mlp.h, entry
// prefix "mlp"), and compares its output with EXPECTED.npy (PyTorch's):
// |got - want| <= 1e-6 + 1e-5 |want|, the tolerance of the JIT's test of
// the same model. The program links tcpu_runtime and oneTBB only: no LLVM,
// no tcpu IR. With external weights (mlp.h's MLP_WEIGHTS_EXTERNAL) it maps
// FILE with tcpu_weights_map; without --weights it passes none, and expects
// the entry point to refuse (TCPU_ERROR_WEIGHTS_MISSING).
//
//===----------------------------------------------------------------------===//
#include "mlp.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <new>
#include <string>
#include <vector>

namespace {

/// Reads a little-endian f32, C-order .npy file (format 1.0 or 2.0).
bool readNpyF32(const char *path, std::vector<int64_t> &shape,
                std::vector<float> &data) {
  std::ifstream f(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)),
                    std::istreambuf_iterator<char>());
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) {
    std::fprintf(stderr, "%s: not a .npy file\n", path);
    return false;
  }
  size_t headerLen, start;
  if (bytes[6] == 1) {
    headerLen = static_cast<unsigned char>(bytes[8]) |
                static_cast<unsigned char>(bytes[9]) << 8;
    start = 10;
  } else {
    headerLen = 0;
    for (int i = 3; i >= 0; --i)
      headerLen = headerLen << 8 | static_cast<unsigned char>(bytes[8 + i]);
    start = 12;
  }
  if (start + headerLen > bytes.size()) {
    std::fprintf(stderr, "%s: truncated header\n", path);
    return false;
  }
  std::string header = bytes.substr(start, headerLen);
  if (header.find("'<f4'") == std::string::npos ||
      header.find("'fortran_order': False") == std::string::npos) {
    std::fprintf(stderr, "%s: not a C-order float32 array\n", path);
    return false;
  }
  size_t open = header.find('(', header.find("'shape'"));
  size_t close = header.find(')', open);
  shape.clear();
  int64_t count = 1;
  for (size_t p = open + 1; p < close;) {
    char *end;
    long long d = std::strtoll(header.c_str() + p, &end, 10);
    size_t next = end - header.c_str();
    if (next == p)
      break;
    shape.push_back(d);
    count *= d;
    p = header.find_first_of("0123456789", next);
    if (p == std::string::npos || p > close)
      break;
  }
  size_t dataBytes = static_cast<size_t>(count) * 4;
  if (bytes.size() - start - headerLen < dataBytes) {
    std::fprintf(stderr, "%s: truncated data\n", path);
    return false;
  }
  data.resize(count);
  std::memcpy(data.data(), bytes.data() + start + headerLen, dataBytes);
  return true;
}

template <size_t N>
bool sameShape(const std::vector<int64_t> &got, const int64_t (&want)[N]) {
  return got.size() == N && std::equal(got.begin(), got.end(), want);
}

} // namespace

int main(int argc, char **argv) {
  static_assert(MLP_NUM_INPUTS == 1 && MLP_NUM_OUTPUTS == 1,
                "the example MLP has one input and one output");
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s INPUT.npy EXPECTED.npy [--weights FILE] "
                         "[--runs N]\n", argv[0]);
    return 2;
  }
  const char *weightsPath = nullptr;
  int runs = 1;
  for (int i = 3; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--weights"))
      weightsPath = argv[i + 1];
    else if (!std::strcmp(argv[i], "--runs"))
      runs = std::atoi(argv[i + 1]);
  }

  std::vector<int64_t> inShape, wantShape;
  std::vector<float> input, want;
  if (!readNpyF32(argv[1], inShape, input) || !readNpyF32(argv[2], wantShape, want))
    return 1;
  const int64_t inputDims[] = MLP_INPUT_0_SHAPE, outputDims[] = MLP_OUTPUT_0_SHAPE;
  if (!sameShape(inShape, inputDims) || !sameShape(wantShape, outputDims)) {
    std::fprintf(stderr, "the .npy shapes are not the model's (%s: %s)\n",
                 MLP_INPUT_0_NAME, MLP_OUTPUT_0_NAME);
    return 1;
  }

  tcpu_weights weights = {};
#if MLP_WEIGHTS_EXTERNAL
  if (weightsPath) {
    int32_t code = tcpu_weights_map(weightsPath, MLP_WEIGHTS_BYTES,
                                     MLP_WEIGHTS_FINGERPRINT, &weights);
    if (code != TCPU_OK) {
      std::fprintf(stderr, "error %d (%s): %s\n", code, tcpu_error_string(code),
                   weights.message);
      return 1;
    }
  }
#else
  if (weightsPath) {
    std::fprintf(stderr, "this build embeds its weights; --weights is not used\n");
    return 2;
  }
#endif

  // The arena: MLP_ARENA_BYTES, 64-byte aligned.
  struct Free {
    void operator()(void *p) const { ::operator delete(p, std::align_val_t(MLP_ARENA_ALIGNMENT)); }
  };
  std::unique_ptr<void, Free> arena(
      ::operator new(MLP_ARENA_BYTES > 0 ? MLP_ARENA_BYTES : 1,
                     std::align_val_t(MLP_ARENA_ALIGNMENT)));
  std::vector<float> output(MLP_OUTPUT_0_ELEMENTS, NAN);
  const void *inputs[] = {input.data()};
  void *outputs[] = {output.data()};
  for (int r = 0; r < runs; ++r) {
    int32_t code = mlp_run(inputs, outputs, arena.get(), weights.data);
    if (code != TCPU_OK) {
      std::fprintf(stderr, "mlp_run: error %d: %s\n", code, tcpu_error_string(code));
      tcpu_weights_unmap(&weights);
      return 1;
    }
  }
  tcpu_weights_unmap(&weights);

  double worst = 0;
  int bad = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    double err = std::fabs(double(output[i]) - want[i]);
    worst = std::max(worst, err);
    if (!(err <= 1e-6 + 1e-5 * std::fabs(want[i]))) {
      if (bad++ < 5)
        std::fprintf(stderr, "%s[%zu]: got %.9g, want %.9g\n", MLP_OUTPUT_0_NAME,
                     i, output[i], want[i]);
    }
  }
  std::printf("%s: %s[0..3] = %.6g %.6g %.6g %.6g; max abs error %.3g over %zu "
              "values (%s weights, %d run(s))\n",
              bad ? "FAIL" : "ok", MLP_OUTPUT_0_NAME, output[0], output[1],
              output[2], output[3], worst, want.size(),
              MLP_WEIGHTS_EXTERNAL ? "mapped" : "embedded", runs);
  return bad ? 1 : 0;
}

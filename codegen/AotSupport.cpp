//===- AotSupport.cpp - Shared pieces of the AOT emitter -------------------===//
//
// Emission kinds, entry prefixes and the weights file (layout, fingerprint,
// writing): what the object and the header must agree on. No LLVM here.
//
//===----------------------------------------------------------------------===//
#include "codegen/AotSupport.h"

#include "runtime/AotRuntime.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace tcpu {

absl::StatusOr<AotEmitKind> parseAotEmitKind(const std::string &name) {
  if (name == "obj")
    return AotEmitKind::Object;
  if (name == "asm")
    return AotEmitKind::Assembly;
  if (name == "llvm")
    return AotEmitKind::LLVMIR;
  if (name == "header")
    return AotEmitKind::Header;
  return absl::InvalidArgumentError("unknown --emit kind '" + name +
                                    "' (expected obj, asm, llvm or header)");
}

namespace {

/// Bytes a weight takes in the file: each starts TCPU_WEIGHTS_ALIGNMENT-aligned.
uint64_t alignedSize(uint64_t bytes) {
  return (bytes + TCPU_WEIGHTS_ALIGNMENT - 1) / TCPU_WEIGHTS_ALIGNMENT *
         TCPU_WEIGHTS_ALIGNMENT;
}

bool isIdentifier(const std::string &s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0])))
    return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
      return false;
  return true;
}

/// FNV-1a, 64 bits.
void hashBytes(uint64_t &h, const void *data, size_t n) {
  const auto *p = static_cast<const unsigned char *>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
}

void putLE64(char *p, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    p[i] = static_cast<char>(v >> (8 * i));
}

} // namespace

absl::StatusOr<std::string> aotEntryPrefix(const Graph &graph,
                                           const AotOptions &options) {
  if (!options.entryPrefix.empty()) {
    if (!isIdentifier(options.entryPrefix))
      return absl::InvalidArgumentError(
          "entry prefix '" + options.entryPrefix +
          "' is not a C identifier (letters, digits and '_', not starting "
          "with a digit)");
    return options.entryPrefix;
  }
  std::string p = graph.name.empty() ? "model" : graph.name;
  for (char &c : p)
    if (!std::isalnum(static_cast<unsigned char>(c)))
      c = '_';
  if (std::isdigit(static_cast<unsigned char>(p[0])))
    p = "_" + p;
  return p;
}

WeightsLayout layoutWeights(
    const Graph &graph,
    const std::vector<std::shared_ptr<const PackedConstant>> &packed,
    const std::vector<bool> &read) {
  WeightsLayout w;
  uint64_t offset = TCPU_WEIGHTS_HEADER_BYTES;
  uint64_t h = 0xcbf29ce484222325ull;
  for (const auto &op : graph.ops()) {
    if (op->kind() != OpKind::Constant)
      continue;
    const Value *v = op->result(0);
    const Tensor &t = *op->constantValue();
    bool stored = read.empty() || read[w.constants.size()];
    w.constants.push_back(v);
    w.offsets.push_back(offset);
    w.stored.push_back(stored);
    // The fingerprint covers types and bytes, so weights of another model
    // (or of the same model with other values) do not match.
    std::string type = v->type.str();
    hashBytes(h, type.data(), type.size() + 1);
    hashBytes(h, &stored, sizeof stored);
    if (!stored)
      continue;
    if (t.byteSize() > 0)
      hashBytes(h, t.data(), static_cast<size_t>(t.byteSize()));
    uint64_t bytes = static_cast<uint64_t>(t.byteSize());
    offset += alignedSize(bytes);
  }
  // Packed copies follow; they derive from the constants (and the target's
  // blocking), and the fingerprint covers them too.
  w.packed = packed;
  for (const auto &p : packed) {
    w.packedOffsets.push_back(offset);
    uint64_t bytes = static_cast<uint64_t>(p->bytes());
    hashBytes(h, &bytes, sizeof bytes);
    hashBytes(h, p->data(), static_cast<size_t>(bytes));
    offset += alignedSize(bytes);
  }
  w.fileBytes = offset;
  hashBytes(h, &offset, sizeof offset);
  w.fingerprint = h == 0 ? 1 : h;
  return w;
}

absl::Status writeWeightsFile(const WeightsLayout &w, const std::string &path) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f)
    return absl::PermissionDeniedError("cannot write weights file '" + path +
                                       "': " + std::strerror(errno));
  char header[TCPU_WEIGHTS_HEADER_BYTES] = {};
  std::memcpy(header, TCPU_WEIGHTS_MAGIC, 8);
  putLE64(header + 8, w.fileBytes);
  putLE64(header + 16, w.fingerprint);
  f.write(header, sizeof header);
  uint64_t at = TCPU_WEIGHTS_HEADER_BYTES;
  static const char zeros[TCPU_WEIGHTS_ALIGNMENT] = {};
  for (size_t i = 0; i < w.constants.size(); ++i) {
    if (!w.stored[i])
      continue;
    f.write(zeros, static_cast<std::streamsize>(w.offsets[i] - at));
    const Tensor &t = *w.constants[i]->definingOp()->constantValue();
    f.write(static_cast<const char *>(t.data()), t.byteSize());
    at = w.offsets[i] + static_cast<uint64_t>(t.byteSize());
  }
  for (size_t i = 0; i < w.packed.size(); ++i) {
    f.write(zeros, static_cast<std::streamsize>(w.packedOffsets[i] - at));
    f.write(reinterpret_cast<const char *>(w.packed[i]->data()),
            w.packed[i]->bytes());
    at = w.packedOffsets[i] + static_cast<uint64_t>(w.packed[i]->bytes());
  }
  f.write(zeros, static_cast<std::streamsize>(w.fileBytes - at));
  f.close();
  if (!f)
    return absl::DataLossError("cannot write weights file '" + path +
                               "': " + std::strerror(errno));
  return absl::OkStatus();
}

} // namespace tcpu

//===- OnnxTensor.cpp - ONNX data types and TensorProto decoding ----------===//
#include "ir/onnx/OnnxTensor.h"

#include "absl/status/status.h"

#include <bit>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tcpu::onnximport {

static_assert(std::endian::native == std::endian::little,
              "ONNX raw_data is little-endian; a big-endian host needs swaps");

namespace {

absl::Status invalid(const std::string &m) {
  return absl::InvalidArgumentError(m);
}

} // namespace

std::string onnxTypeName(int32_t t) {
  switch (t) {
  case 0: return "UNDEFINED";
  case 1: return "FLOAT";
  case 2: return "UINT8";
  case 3: return "INT8";
  case 4: return "UINT16";
  case 5: return "INT16";
  case 6: return "INT32";
  case 7: return "INT64";
  case 8: return "STRING";
  case 9: return "BOOL";
  case 10: return "FLOAT16";
  case 11: return "DOUBLE";
  case 12: return "UINT32";
  case 13: return "UINT64";
  case 14: return "COMPLEX64";
  case 15: return "COMPLEX128";
  case 16: return "BFLOAT16";
  case 17: return "FLOAT8E4M3FN";
  case 18: return "FLOAT8E4M3FNUZ";
  case 19: return "FLOAT8E5M2";
  case 20: return "FLOAT8E5M2FNUZ";
  case 21: return "UINT4";
  case 22: return "INT4";
  case 23: return "FLOAT4E2M1";
  case 24: return "FLOAT8E8M0";
  case 25: return "UINT2";
  case 26: return "INT2";
  default: return "<data type " + std::to_string(t) + ">";
  }
}

absl::StatusOr<DType> mapElemType(int32_t t, const std::string &what) {
  switch (t) {
  case 1: return DType::F32;
  case 2: return DType::U8;
  case 3: return DType::I8;
  case 6: return DType::I32;
  case 7: return DType::I64;
  case 9: return DType::Bool;
  case 10: return DType::F16;
  case 16: return DType::BF16;
  default:
    break;
  }
  std::string name = onnxTypeName(t);
  if (t > 16)
    name += " (ONNX data type " + std::to_string(t) + ")";
  return invalid("unsupported data type " + name + " for " + what);
}

// ----- External data ----------------------------------------------------------

struct ExternalFiles::Mapping {
  void *base = nullptr;
  size_t size = 0;
  ~Mapping() {
    if (base && size)
      munmap(base, size);
  }
};

absl::StatusOr<ExternalFiles::Span>
ExternalFiles::map(const std::string &location, int64_t offset, int64_t length,
                   const std::string &what) {
  std::string quoted = "'" + location + "'";
  if (location.empty())
    return invalid(what + ": external data has no location");
  if (location.front() == '/' || location.find('\\') != std::string::npos ||
      location.find(':') != std::string::npos)
    return invalid(what + ": external data location " + quoted +
                   " must be a relative path inside the model's folder");
  for (size_t start = 0; start <= location.size();) {
    size_t end = location.find('/', start);
    if (end == std::string::npos)
      end = location.size();
    if (location.compare(start, end - start, "..") == 0)
      return invalid(what + ": external data location " + quoted +
                     " leaves the model's folder ('..' is not allowed)");
    start = end + 1;
  }
  if (offset < 0 || length < 0)
    return invalid(what + ": external data of " + quoted +
                   " has a negative offset or length");
  std::string path = baseDir_.empty() ? location : baseDir_ + "/" + location;

  std::shared_ptr<Mapping> &m = files_[path];
  if (!m) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      std::string reason = std::strerror(errno);
      files_.erase(path);
      return invalid(what + ": cannot open external data file '" + path +
                     "': " + reason);
    }
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      files_.erase(path);
      return invalid(what + ": external data file '" + path +
                     "' is not a regular file");
    }
    auto mapping = std::make_shared<Mapping>();
    mapping->size = static_cast<size_t>(st.st_size);
    if (mapping->size > 0) {
      // MAP_PRIVATE + PROT_READ: nothing is read until a page is touched, so
      // weights larger than memory import fine.
      void *p = ::mmap(nullptr, mapping->size, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        std::string reason = std::strerror(errno);
        ::close(fd);
        files_.erase(path);
        return invalid(what + ": cannot map external data file '" + path +
                       "': " + reason);
      }
      mapping->base = p;
    }
    ::close(fd);
    m = std::move(mapping);
  }
  uint64_t end = static_cast<uint64_t>(offset) + static_cast<uint64_t>(length);
  if (end > m->size)
    return invalid(what + ": external data file '" + path + "' has " +
                   std::to_string(m->size) + " bytes, too short for offset " +
                   std::to_string(offset) + " + length " +
                   std::to_string(length));
  Span s;
  s.data = static_cast<const uint8_t *>(m->base) + offset;
  s.owner = std::shared_ptr<const void>(m, s.data);
  return s;
}

// ----- TensorProto ------------------------------------------------------------

namespace {

absl::StatusOr<Tensor> decodeExternal(const onnx::TensorProto &t,
                                      const TensorType &type,
                                      const std::string &what,
                                      ExternalFiles &external) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const onnx::StringStringEntryProto &e : t.external_data()) {
    const std::string &k = e.key(), &v = e.value();
    if (k == "location") {
      location = v;
    } else if (k == "offset" || k == "length") {
      char *endp = nullptr;
      errno = 0;
      long long n = std::strtoll(v.c_str(), &endp, 10);
      if (v.empty() || *endp != '\0' || errno != 0 || n < 0)
        return invalid(what + ": external data " + k + " '" + v +
                       "' is not a non-negative integer");
      (k == "offset" ? offset : length) = n;
    }
  }
  int64_t bytes = type.byteSize();
  if (length >= 0 && length < bytes)
    return invalid(what + ": external data length " + std::to_string(length) +
                   " is shorter than the " + std::to_string(bytes) +
                   " bytes of " + type.str());
  absl::StatusOr<ExternalFiles::Span> span =
      external.map(location, offset, bytes, what);
  if (!span.ok())
    return span.status();
  if (bytes == 0)
    return Tensor::allocate(type);
  if (reinterpret_cast<uintptr_t>(span->data) % dtypeSize(type.dtype) != 0) {
    // Misaligned data cannot be aliased safely: copy it (rare; onnx aligns).
    absl::StatusOr<Tensor> copy = Tensor::allocate(type);
    if (copy.ok())
      std::memcpy(copy->mutableData(), span->data, bytes);
    return copy;
  }
  return Tensor::alias(type, std::move(span->owner), span->data);
}

template <class Field>
absl::Status checkCount(const Field &f, int64_t n, const std::string &field,
                        const TensorType &type, const std::string &what) {
  if (f.size() != n)
    return invalid(what + ": " + field + " has " + std::to_string(f.size()) +
                   " elements, " + type.str() + " needs " + std::to_string(n));
  return absl::OkStatus();
}

} // namespace

absl::StatusOr<Tensor> decodeTensor(const onnx::TensorProto &t,
                                    const std::string &what,
                                    ExternalFiles &external,
                                    std::shared_ptr<const void> owner) {
  absl::StatusOr<DType> dtype = mapElemType(t.data_type(), what);
  if (!dtype.ok())
    return dtype.status();
  if (t.dims_size() > kMaxRank)
    return invalid(what + ": rank " + std::to_string(t.dims_size()) +
                   " is above the maximum rank " + std::to_string(kMaxRank));
  Shape shape(t.dims().begin(), t.dims().end());
  for (int64_t d : shape)
    if (d < 0)
      return invalid(what + ": negative dim in " + shapeToString(shape));
  std::optional<int64_t> n = checkedNumElements(shape);
  if (!n || *n > INT64_MAX / dtypeSize(*dtype))
    return invalid(what + ": shape " + shapeToString(shape) +
                   " has more bytes than int64 can count");
  TensorType type(*dtype, shape);
  if (t.has_segment())
    return invalid(what + ": segmented tensors are not supported");

  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    return decodeExternal(t, type, what, external);

  int64_t bytes = type.byteSize();
  if (t.has_raw_data()) {
    const std::string &raw = t.raw_data();
    if (static_cast<int64_t>(raw.size()) != bytes)
      return invalid(what + ": raw_data has " + std::to_string(raw.size()) +
                     " bytes, " + type.str() + " needs " +
                     std::to_string(bytes));
    // Large tensors alias the proto's buffer (std::string storage is
    // suitably aligned for every dtype); small ones are copied.
    if (owner && bytes >= 4096 &&
        reinterpret_cast<uintptr_t>(raw.data()) % 16 == 0)
      return Tensor::alias(type, owner, raw.data());
    absl::StatusOr<Tensor> out = Tensor::allocate(type);
    if (out.ok() && bytes)
      std::memcpy(out->mutableData(), raw.data(), bytes);
    return out;
  }

  absl::StatusOr<Tensor> out = Tensor::allocate(type);
  if (!out.ok())
    return out.status();
  switch (*dtype) {
  case DType::F32:
    if (absl::Status s = checkCount(t.float_data(), *n, "float_data", type, what);
        !s.ok())
      return s;
    if (*n)
      std::memcpy(out->mutableData(), t.float_data().data(), bytes);
    break;
  case DType::I64:
    if (absl::Status s = checkCount(t.int64_data(), *n, "int64_data", type, what);
        !s.ok())
      return s;
    if (*n)
      std::memcpy(out->mutableData(), t.int64_data().data(), bytes);
    break;
  case DType::F16:
  case DType::BF16:
    // int32_data holds the 16-bit patterns.
    if (absl::Status s = checkCount(t.int32_data(), *n, "int32_data", type, what);
        !s.ok())
      return s;
    for (int64_t i = 0; i < *n; ++i)
      out->mutableDataAs<uint16_t>()[i] =
          static_cast<uint16_t>(t.int32_data(i) & 0xffff);
    break;
  case DType::Bool:
  case DType::I8:
  case DType::U8:
  case DType::I32:
    if (absl::Status s = checkCount(t.int32_data(), *n, "int32_data", type, what);
        !s.ok())
      return s;
    for (int64_t i = 0; i < *n; ++i)
      out->setElementFromInt(i, t.int32_data(i));
    break;
  }
  return out;
}

} // namespace tcpu::onnximport

//===- AotRuntime.cpp - What an ahead-of-time compiled model needs --------===//
#include "runtime/AotRuntime.h"

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

uint64_t readLE64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = v << 8 | p[i];
  return v;
}

__attribute__((format(printf, 3, 4))) int32_t
fail(tcpu_weights *out, int32_t code, const char *format, ...) {
  va_list args;
  va_start(args, format);
  std::vsnprintf(out->message, sizeof out->message, format, args);
  va_end(args);
  return code;
}

} // namespace

extern "C" const char *tcpu_error_string(int32_t code) {
  switch (code) {
  case TCPU_OK:
    return "success";
  case TCPU_ERROR_INDEX_OUT_OF_RANGE:
    return "an index in the input data is out of range";
  case TCPU_ERROR_DIVISION_BY_ZERO:
    return "an integer division by zero in the input data";
  case TCPU_ERROR_INVALID_ARGUMENT:
    return "a required pointer argument is null";
  case TCPU_ERROR_WEIGHTS_MISSING:
    return "the model's weights are in a separate file, and none was given";
  case TCPU_ERROR_WEIGHTS_MISMATCH:
    return "the weights belong to another model or build";
  case TCPU_ERROR_WEIGHTS_OPEN:
    return "the weights file cannot be opened";
  case TCPU_ERROR_WEIGHTS_SIZE:
    return "the weights file is truncated or has the wrong size";
  case TCPU_ERROR_WEIGHTS_MAGIC:
    return "not a tcpu weights file (wrong magic)";
  case TCPU_ERROR_WEIGHTS_MAP:
    return "the weights file cannot be mapped into memory";
  default:
    return "unknown tcpu error code";
  }
}

extern "C" int32_t tcpu_weights_map(const char *path, uint64_t expected_bytes,
                                    uint64_t expected_fingerprint,
                                    tcpu_weights *out) {
  if (!out)
    return TCPU_ERROR_INVALID_ARGUMENT;
  out->data = nullptr;
  out->bytes = 0;
  out->message[0] = '\0';
  if (!path)
    return fail(out, TCPU_ERROR_INVALID_ARGUMENT,
                "tcpu_weights_map: no path given");
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail(out, TCPU_ERROR_WEIGHTS_OPEN, "%s: cannot open: %s", path,
                std::strerror(errno));
  // Every return below closes the file; a mapping outlives it.
  struct CloseOnReturn {
    int fd;
    ~CloseOnReturn() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0)
    return fail(out, TCPU_ERROR_WEIGHTS_OPEN, "%s: cannot open: %s", path,
                std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    return fail(out, TCPU_ERROR_WEIGHTS_OPEN, "%s: cannot open: %s", path,
                S_ISDIR(st.st_mode) ? "it is a directory" : "not a regular file");
  uint64_t size = static_cast<uint64_t>(st.st_size);
  unsigned char header[TCPU_WEIGHTS_HEADER_BYTES] = {};
  if (size < TCPU_WEIGHTS_HEADER_BYTES)
    return fail(out, TCPU_ERROR_WEIGHTS_SIZE,
                "%s: %llu bytes, shorter than the %d-byte header", path,
                static_cast<unsigned long long>(size), TCPU_WEIGHTS_HEADER_BYTES);
  if (::pread(fd, header, sizeof header, 0) != static_cast<ssize_t>(sizeof header))
    return fail(out, TCPU_ERROR_WEIGHTS_OPEN, "%s: cannot read: %s", path,
                std::strerror(errno));
  if (std::memcmp(header, TCPU_WEIGHTS_MAGIC, 8) != 0)
    return fail(out, TCPU_ERROR_WEIGHTS_MAGIC,
                "%s: not a tcpu weights file (the first bytes are not '%s')",
                path, TCPU_WEIGHTS_MAGIC);
  uint64_t recorded = readLE64(header + 8);
  if (recorded != size)
    return fail(out, TCPU_ERROR_WEIGHTS_SIZE,
                "%s: the file has %llu bytes, its header says %llu "
                "(truncated or damaged)",
                path, static_cast<unsigned long long>(size),
                static_cast<unsigned long long>(recorded));
  if (expected_bytes != 0 && size != expected_bytes)
    return fail(out, TCPU_ERROR_WEIGHTS_SIZE,
                "%s: the file has %llu bytes, the model expects %llu (weights "
                "of another model?)",
                path, static_cast<unsigned long long>(size),
                static_cast<unsigned long long>(expected_bytes));
  uint64_t fingerprint = readLE64(header + 16);
  if (expected_fingerprint != 0 && fingerprint != expected_fingerprint)
    return fail(out, TCPU_ERROR_WEIGHTS_MISMATCH,
                "%s: fingerprint %016llx, the model expects %016llx (weights "
                "of another model or build)",
                path, static_cast<unsigned long long>(fingerprint),
                static_cast<unsigned long long>(expected_fingerprint));
  void *p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED)
    return fail(out, TCPU_ERROR_WEIGHTS_MAP, "%s: cannot map: %s", path,
                std::strerror(errno));
  out->data = p;
  out->bytes = size;
  return TCPU_OK;
}

extern "C" void tcpu_weights_unmap(tcpu_weights *weights) {
  if (!weights || !weights->data)
    return;
  ::munmap(const_cast<void *>(weights->data), weights->bytes);
  weights->data = nullptr;
  weights->bytes = 0;
}

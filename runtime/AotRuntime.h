/*===- AotRuntime.h - What an ahead-of-time compiled model needs -*- C -*-===//
//
// A program built from `tcpu-opt --emit=obj` output links the object, this
// library (tcpu_runtime: the kernels' parallel loops of runtime/CAbi.h and
// the functions below) and oneTBB; no LLVM. The generated header
// (`--emit=header`) declares the entry point
//
//   int32_t <prefix>_run(const void *const *inputs, void *const *outputs,
//                        void *arena, const void *weights);
//
// which returns TCPU_OK or one of the codes below. With `--weights=FILE` the
// constants live in FILE instead of the object: map it with
// tcpu_weights_map and pass tcpu_weights.data as `weights`.
//
// Weights file format (little-endian): bytes 0-7 the magic "TCPUWTS1",
// 8-15 the file size, 16-23 a fingerprint of the contents (the generated
// header and object carry the same value), zero padding to 64 bytes; then
// each constant at a 64-byte aligned offset from the start of the file.
//
// Plain C, no LLVM.
//
//===---------------------------------------------------------------------===*/
#ifndef TCPU_RUNTIME_AOTRUNTIME_H
#define TCPU_RUNTIME_AOTRUNTIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Codes returned by entry points and tcpu_weights_map. 1 and 2 are the
   kernel errors of codegen/Lowering.h (KernelError). */
enum {
  TCPU_OK = 0,
  TCPU_ERROR_INDEX_OUT_OF_RANGE = 1, /* an index in the input data */
  TCPU_ERROR_DIVISION_BY_ZERO = 2,   /* integer division by zero */
  TCPU_ERROR_INVALID_ARGUMENT = 64,  /* a required pointer is null */
  TCPU_ERROR_WEIGHTS_MISSING = 65,   /* external weights expected, none given */
  TCPU_ERROR_WEIGHTS_MISMATCH = 66,  /* weights of another model or build */
  TCPU_ERROR_WEIGHTS_OPEN = 67,      /* the weights file cannot be opened */
  TCPU_ERROR_WEIGHTS_SIZE = 68,      /* truncated, or not the size expected */
  TCPU_ERROR_WEIGHTS_MAGIC = 69,     /* not a tcpu weights file */
  TCPU_ERROR_WEIGHTS_MAP = 70        /* mmap failed */
};

#define TCPU_WEIGHTS_MAGIC "TCPUWTS1"
#define TCPU_WEIGHTS_HEADER_BYTES 64
#define TCPU_WEIGHTS_ALIGNMENT 64

/* A sentence for `code` ("the weights file is truncated or has the wrong
   size"); "unknown tcpu error code" for codes not listed above. */
const char *tcpu_error_string(int32_t code);

/* A weights file mapped read-only into memory. */
typedef struct tcpu_weights {
  const void *data;   /* the whole file; pass it as the entry's `weights` */
  uint64_t bytes;     /* its size */
  char message[512];  /* after a failure: what failed, with the path */
} tcpu_weights;

/* Maps the weights file `path` (read-only, pages loaded on first use) and
   checks its magic and size; expected_bytes and expected_fingerprint (the
   generated header's <PREFIX>_WEIGHTS_BYTES and _FINGERPRINT) must match
   unless 0. Returns TCPU_OK and fills *out, or a TCPU_ERROR_WEIGHTS_* code
   with out->data null and out->message explaining. Thread-safe. */
int32_t tcpu_weights_map(const char *path, uint64_t expected_bytes,
                         uint64_t expected_fingerprint, tcpu_weights *out);

/* Unmaps weights mapped by tcpu_weights_map (nothing for a failed or already
   unmapped one). */
void tcpu_weights_unmap(tcpu_weights *weights);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TCPU_RUNTIME_AOTRUNTIME_H */

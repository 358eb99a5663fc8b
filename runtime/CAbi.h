//===- CAbi.h - The C ABI that generated code calls -------------*- C++ -*-===//
//
// A handful of plain C functions that JIT-compiled or ahead-of-time kernels
// call: parallel loops over oneTBB and per-thread scratch memory. Generated
// code declares them by name, so their signatures are a stable contract.
// No LLVM here.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Runs body(ctx, begin, end) over sub-ranges covering [0, n) exactly once,
/// on the current arena: the running model's (runtime/ModelArena.h), else a
/// process-wide tbb::task_arena of tcpu::get_num_threads() threads (kept
/// between calls); the calling thread takes part. Each index is meant as
/// one task worth a thread: the arena runs them one per call. n <= 0 does
/// nothing; n == 1 or a thread count of 1 runs body(ctx, 0, n) on the
/// calling thread without TBB. Returns when every index has run. Safe to
/// call from several threads at once, and from inside a body (the nested
/// loop runs in the same arena).
void tcpu_parallel_for(int64_t n,
                       void (*body)(void *ctx, int64_t begin, int64_t end),
                       void *ctx);

/// The thread count parallel loops use (>= 1): the current arena's, else
/// tcpu::get_num_threads().
int64_t tcpu_num_threads(void);

/// The calling thread's slot in the current tcpu_parallel_for arena, in
/// [0, tcpu_num_threads()); 0 outside one. Two bodies running at the same time
/// in one arena never share a slot, so slot-indexed scratch is race-free.
int64_t tcpu_thread_slot(void);

/// A 64-byte aligned buffer of at least `bytes` bytes private to the calling
/// thread, reused (and grown) across calls; valid until the next call on the
/// same thread. Its contents are unspecified. Aborts if memory runs out.
void *tcpu_thread_scratch(int64_t bytes);

#ifdef __cplusplus
} // extern "C"
#endif

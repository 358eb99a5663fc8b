//===- PackedConstant.h - Data derived from a constant at compile time -*- C++ -*-===//
//
// A lowering may replace a constant operand by data it derives at compile
// time (a weight packed into the panels of its GEMM kernel), so that runs
// skip that work (LoweringContext::replaceOperand). The engine and the AOT
// emitter then pass this data to the kernel instead of the constant's.
// LLVM-free.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#ifdef __linux__
#include <sys/mman.h>
#endif

namespace tcpu {

/// `floats` floats, 64-byte aligned (what the kernels' vector loads like
/// best), zero-initialized.
class PackedConstant {
public:
  explicit PackedConstant(int64_t floats)
      : floats_(floats > 0 ? floats : 0),
        data_(static_cast<float *>(std::aligned_alloc(
            alignment(), static_cast<size_t>((bytes() + 64 + alignment() - 1) /
                                             alignment() * alignment())))) {
#ifdef __linux__
    // Large weights (ResNet's are 2-9 MB per conv, streamed once per run)
    // on huge pages: far fewer TLB misses, and run times that no longer
    // vary with how the 4 KB pages happen to map.
    if (alignment() == kHugePage)
      madvise(data_.get(), static_cast<size_t>(bytes()), MADV_HUGEPAGE);
#endif
    for (int64_t i = 0; i < floats_; ++i)
      data_.get()[i] = 0.0f;
  }

  float *data() { return data_.get(); }
  const float *data() const { return data_.get(); }
  int64_t floats() const { return floats_; }
  int64_t bytes() const { return floats_ * 4; }

private:
  static constexpr size_t kHugePage = size_t(2) << 20;
  size_t alignment() const {
    return bytes() >= int64_t(kHugePage) ? kHugePage : 64;
  }

  struct Free {
    void operator()(float *p) const { std::free(p); }
  };
  int64_t floats_;
  std::unique_ptr<float, Free> data_;
};

} // namespace tcpu

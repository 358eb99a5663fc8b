//===- BlockedActivation.h - relu/clip of the blocked convs ------*- C++ -*-===//
//
// The `activation` attribute of conv2d_blocked and depthwise_conv2d_blocked
// (ir/ops/Layout.cpp), applied to a vector of accumulators before the store.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Lowering.h"

#include <optional>
#include <string>

namespace tcpu {

class BlockedActivation {
public:
  explicit BlockedActivation(const Op &op)
      : act_(op.attrs.getString("activation", "none")) {
    if (act_ != "clip")
      return;
    if (op.attrs.has("clip_min"))
      lo_ = op.attrs.getFloat("clip_min");
    if (op.attrs.has("clip_max"))
      hi_ = op.attrs.getFloat("clip_max");
  }

  /// As the reference: relu = x < 0 ? 0 : x (NaN stays), clip =
  /// min(max(x, lo), hi) with std::max / std::min.
  llvm::Value *apply(llvm::IRBuilderBase &b, llvm::Value *v) const {
    llvm::Type *vt = v->getType();
    auto below = [&](llvm::Value *bound) {
      return b.CreateSelect(b.CreateFCmpOLT(v, bound), bound, v);
    };
    if (act_ == "relu")
      return below(llvm::Constant::getNullValue(vt));
    if (lo_)
      v = below(llvm::ConstantFP::get(vt, *lo_));
    if (hi_) {
      llvm::Value *h = llvm::ConstantFP::get(vt, *hi_);
      v = b.CreateSelect(b.CreateFCmpOLT(h, v), h, v);
    }
    return v;
  }

private:
  std::string act_;
  std::optional<double> lo_, hi_;
};

} // namespace tcpu

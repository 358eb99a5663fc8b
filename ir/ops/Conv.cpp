//===- Conv.cpp - Conv ops: type inference and reference semantics ---===//
//
// conv2d, max_pool2d, avg_pool2d (NCHW, ONNX attribute conventions: pads are
// [top, left, bottom, right]), global_avg_pool, and max_pool2d_blocked (the
// max pool on the blocked [N, Cb, H, W, B] layout of ir/ops/Layout.cpp, each
// lane pooled as its own plane: padding lanes of zeros give 0, or -inf in a
// window that reaches no input position). The reference loops over
// raw arrays, floats in double and integers in int64 (conv accumulation wraps
// modulo 2^64 so that overflow is defined; stores saturate).
//
// Pool output size (ONNX and PyTorch):
//   out = floor_or_ceil((in + pad_begin + pad_end - eff) / stride) + 1,
//   eff = dilation * (kernel - 1) + 1,
// and with ceil_mode the last window must start inside the input or the
// begin padding: if (out - 1) * stride >= in + pad_begin then out -= 1.
// avg_pool2d divides by the number of window positions inside the input
// (count_include_pad=0) or inside the input plus its explicit pads
// (count_include_pad=1; positions a ceil_mode window hangs past the end
// padding are not counted, as in PyTorch).
//
//===----------------------------------------------------------------------===//
#include "ir/ops/OpSupport.h"
#include "ir/IntMath.h"

#include <algorithm>
#include <limits>

namespace tcpu {
namespace {

using ops::invalid;

bool isFloatOrInteger(DType t) { return isFloat(t) || isInteger(t); }

std::string listStr(const std::vector<int64_t> &v) {
  return attrValueToString(AttrValue(v));
}

std::string mnemonicOf(const InferContext &ctx) {
  return std::string(ctx.info.mnemonic);
}

using ops::checkIntList;


/// Output extent of a window sliding over `in` (see the file comment); may
/// be <= 0 when no window fits.
int64_t windowOutSize(int64_t in, int64_t kernel, int64_t stride,
                      int64_t padBegin, int64_t padEnd, int64_t dilation,
                      bool ceilMode) {
  int64_t eff = dilation * (kernel - 1) + 1;
  int64_t span = in + padBegin + padEnd - eff;
  if (span < 0)
    return 0;
  int64_t out = (ceilMode ? ceilDiv(span, stride) : span / stride) + 1;
  if (ceilMode && (out - 1) * stride >= in + padBegin)
    --out;
  return out;
}

/// Window geometry along one spatial axis.
struct Axis {
  int64_t in, out, kernel, stride, padBegin, padEnd, dilation;
  /// Input coordinate of window position k of output o.
  int64_t coord(int64_t o, int64_t k) const {
    return o * stride - padBegin + k * dilation;
  }
  /// Outputs [lo, hi) whose window position k falls inside the input.
  void validOutputs(int64_t k, int64_t &lo, int64_t &hi) const {
    int64_t off = k * dilation - padBegin;
    lo = std::max<int64_t>(0, ceilDiv(-off, stride));
    hi = std::min<int64_t>(out, floorDiv(in - 1 - off, stride) + 1);
    if (hi < lo)
      hi = lo;
  }
};

// ----- conv2d --------------------------------------------------------------

template <class T>
absl::StatusOr<Tensor> conv2dImpl(const EvalContext &ctx, std::vector<T> x,
                                  std::vector<T> w, std::vector<T> bias) {
  const Shape &xs = ctx.operand(0).shape(), &ws = ctx.operand(1).shape();
  const TensorType &rt = ctx.resultTypes[0];
  std::vector<int64_t> strides = ctx.attrs.getInts("strides"),
                       pads = ctx.attrs.getInts("pads"),
                       dil = ctx.attrs.getInts("dilations");
  int64_t groups = ctx.attrs.getInt("groups", 1);
  int64_t N = xs[0], C = xs[1], M = ws[0], Cg = ws[1];
  int64_t Mg = M / groups;
  Axis h{xs[2], rt.shape[2], ws[2], strides[0], pads[0], pads[2], dil[0]};
  Axis wd{xs[3], rt.shape[3], ws[3], strides[1], pads[1], pads[3], dil[1]};
  int64_t inPlane = h.in * wd.in, outPlane = h.out * wd.out;

  std::vector<int64_t> ohLo(h.kernel), ohHi(h.kernel), owLo(wd.kernel),
      owHi(wd.kernel);
  for (int64_t k = 0; k < h.kernel; ++k)
    h.validOutputs(k, ohLo[k], ohHi[k]);
  for (int64_t k = 0; k < wd.kernel; ++k)
    wd.validOutputs(k, owLo[k], owHi[k]);

  std::vector<T> y(static_cast<size_t>(N * M * outPlane));
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t m = 0; m < M; ++m) {
      int64_t g = m / Mg;
      T *out = y.data() + (n * M + m) * outPlane;
      std::fill(out, out + outPlane, bias.empty() ? T(0) : bias[m]);
      for (int64_t ic = 0; ic < Cg; ++ic) {
        const T *in = x.data() + (n * C + g * Cg + ic) * inPlane;
        const T *wk = w.data() + (m * Cg + ic) * h.kernel * wd.kernel;
        for (int64_t kh = 0; kh < h.kernel; ++kh) {
          for (int64_t kw = 0; kw < wd.kernel; ++kw) {
            T wv = wk[kh * wd.kernel + kw];
            int64_t colOff = kw * wd.dilation - wd.padBegin;
            for (int64_t oh = ohLo[kh]; oh < ohHi[kh]; ++oh) {
              const T *row = in + h.coord(oh, kh) * wd.in;
              T *orow = out + oh * wd.out;
              for (int64_t ow = owLo[kw]; ow < owHi[kw]; ++ow)
                orow[ow] += wv * row[ow * wd.stride + colOff];
            }
          }
        }
      }
    }
  }
  if constexpr (std::is_same_v<T, double>) {
    return ops::tensorFromDoubles(rt, y);
  } else {
    std::vector<int64_t> s(y.begin(), y.end());
    return ops::tensorFromInt64s(rt, s);
  }
}

} // namespace

absl::Status inferConv2d(InferContext &ctx) {
  if (absl::Status s = ops::requirePlainOperands(ctx); !s.ok())
    return s;
  if (absl::Status s =
          ops::requireDType(ctx, 0, isFloatOrInteger, "a float or integer type");
      !s.ok())
    return s;
  if (absl::Status s = ops::requireSameDType(ctx); !s.ok())
    return s;
  if (absl::Status s = ops::requireRank(ctx, 0, 4, 4); !s.ok())
    return s;
  if (absl::Status s = ops::requireRank(ctx, 1, 4, 4); !s.ok())
    return s;
  if (absl::Status s = ops::requireRank(ctx, 2, 1, 1); !s.ok())
    return s;
  if (absl::Status s = checkIntList(ctx, "strides", 2, 1, "positive integers");
      !s.ok())
    return s;
  if (absl::Status s = checkIntList(ctx, "dilations", 2, 1, "positive integers");
      !s.ok())
    return s;
  if (absl::Status s = checkIntList(
          ctx, "pads", 4, 0, "non-negative integers [top, left, bottom, right]");
      !s.ok())
    return s;
  const TensorType &x = ctx.operand(0), &w = ctx.operand(1);
  int64_t groups = ctx.attrs.getInt("groups", 1);
  if (groups < 1)
    return invalid("conv2d groups must be positive, got " + std::to_string(groups));
  std::string gs = " with groups=" + std::to_string(groups);
  int64_t C = x.shape[1], M = w.shape[0];
  if (C % groups != 0)
    return invalid("conv2d input channels of x " + x.str() +
                   " are not divisible by groups=" + std::to_string(groups));
  if (w.shape[1] != C / groups)
    return invalid("conv2d weight " + w.str() + " does not match x " + x.str() +
                   gs + ": expected " + std::to_string(C / groups) +
                   " input channels per group");
  if (M % groups != 0)
    return invalid("conv2d output channels of weight " + w.str() +
                   " are not divisible by groups=" + std::to_string(groups));
  if (w.shape[2] < 1 || w.shape[3] < 1)
    return invalid("conv2d weight " + w.str() + " has an empty kernel");
  if (ctx.has(2) && ctx.operand(2).shape[0] != M)
    return invalid("conv2d bias " + ctx.operand(2).str() +
                   " does not match weight " + w.str() + " (expected [" +
                   std::to_string(M) + "])");
  std::vector<int64_t> strides = ctx.attrs.getInts("strides"),
                       pads = ctx.attrs.getInts("pads"),
                       dil = ctx.attrs.getInts("dilations");
  int64_t oh = windowOutSize(x.shape[2], w.shape[2], strides[0], pads[0],
                             pads[2], dil[0], false);
  int64_t ow = windowOutSize(x.shape[3], w.shape[3], strides[1], pads[1],
                             pads[3], dil[1], false);
  if (oh < 1 || ow < 1)
    return invalid("conv2d output would be empty: x " + x.str() + ", weight " +
                   w.str() + ", pads " + listStr(pads) + ", dilations " +
                   listStr(dil));
  ctx.results = {TensorType(x.dtype, {x.shape[0], M, oh, ow})};
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Tensor>> evalConv2d(const EvalContext &ctx) {
  if (absl::Status s = ops::checkEvalTypes(ctx); !s.ok())
    return s;
  if (isFloat(ctx.operand(0).dtype()))
    return ops::one(conv2dImpl<double>(
        ctx, ops::toDoubleVector(ctx.operand(0)),
        ops::toDoubleVector(ctx.operand(1)),
        ctx.has(2) ? ops::toDoubleVector(ctx.operand(2)) : std::vector<double>{}));
  auto u = [](const Tensor &t) {
    std::vector<int64_t> v = ops::toInt64Vector(t);
    return std::vector<uint64_t>(v.begin(), v.end());
  };
  return ops::one(conv2dImpl<uint64_t>(
      ctx, u(ctx.operand(0)), u(ctx.operand(1)),
      ctx.has(2) ? u(ctx.operand(2)) : std::vector<uint64_t>{}));
}

// ----- pooling -------------------------------------------------------------

namespace {

/// The checks and output extent shared by the pools in NCHW and in the
/// blocked layout: attribute lists, pads against the dilated kernel, and a
/// non-empty [oh, ow] for input plane h x w (axes 2 and 3 of x in both).
absl::Status inferPoolExtent(InferContext &ctx, int64_t &oh, int64_t &ow) {
  std::string op = mnemonicOf(ctx);
  for (auto check :
       {checkIntList(ctx, "kernel", 2, 1, "positive integers"),
        checkIntList(ctx, "strides", 2, 1, "positive integers"),
        checkIntList(ctx, "dilations", 2, 1, "positive integers"),
        checkIntList(ctx, "pads", 4, 0,
                     "non-negative integers [top, left, bottom, right]")})
    if (!check.ok())
      return check;
  const TensorType &x = ctx.operand(0);
  std::vector<int64_t> k = ctx.attrs.getInts("kernel"),
                       strides = ctx.attrs.getInts("strides"),
                       pads = ctx.attrs.getInts("pads"),
                       dil = ctx.attrs.getInts("dilations");
  bool ceilMode = ctx.attrs.getInt("ceil_mode") != 0;
  for (int a = 0; a < 2; ++a) {
    int64_t eff = dil[a] * (k[a] - 1) + 1;
    if (pads[a] >= eff || pads[a + 2] >= eff)
      return invalid(op + " pads " + listStr(pads) +
                     " must be smaller than the dilated kernel " + listStr(k) +
                     " (dilations " + listStr(dil) + ")");
  }
  oh = windowOutSize(x.shape[2], k[0], strides[0], pads[0], pads[2], dil[0],
                     ceilMode);
  ow = windowOutSize(x.shape[3], k[1], strides[1], pads[1], pads[3], dil[1],
                     ceilMode);
  if (oh < 1 || ow < 1)
    return invalid(op + " output would be empty: x " + x.str() + ", kernel " +
                   listStr(k) + ", pads " + listStr(pads) + ", dilations " +
                   listStr(dil));
  return absl::OkStatus();
}

} // namespace

absl::Status inferPool2d(InferContext &ctx) {
  bool isMax = ctx.info.kind == OpKind::MaxPool2d;
  if (absl::Status s = ops::requirePlainOperands(ctx); !s.ok())
    return s;
  if (absl::Status s =
          isMax ? ops::requireDType(ctx, 0, isFloatOrInteger,
                                    "a float or integer type")
                : ops::requireDType(ctx, 0, isFloat, "a float type");
      !s.ok())
    return s;
  if (absl::Status s = ops::requireRank(ctx, 0, 4, 4); !s.ok())
    return s;
  int64_t oh = 0, ow = 0;
  if (absl::Status s = inferPoolExtent(ctx, oh, ow); !s.ok())
    return s;
  const TensorType &x = ctx.operand(0);
  ctx.results = {TensorType(x.dtype, {x.shape[0], x.shape[1], oh, ow})};
  return absl::OkStatus();
}

absl::Status inferMaxPool2dBlocked(InferContext &ctx) {
  for (auto check :
       {ops::requirePlainOperands(ctx),
        ops::requireDType(
            ctx, 0, [](DType t) { return t == DType::F32; }, "dtype f32"),
        ops::requireRank(ctx, 0, 5, 5)})
    if (!check.ok())
      return check;
  int64_t oh = 0, ow = 0;
  if (absl::Status s = inferPoolExtent(ctx, oh, ow); !s.ok())
    return s;
  const Shape &xs = ctx.operand(0).shape;
  ctx.results = {TensorType(DType::F32, {xs[0], xs[1], oh, ow, xs[4]})};
  return absl::OkStatus();
}

namespace {

struct PoolGeometry {
  Axis h, w;
};

PoolGeometry poolGeometry(const EvalContext &ctx) {
  const Shape &xs = ctx.operand(0).shape();
  const Shape &os = ctx.resultTypes[0].shape;
  std::vector<int64_t> k = ctx.attrs.getInts("kernel"),
                       s = ctx.attrs.getInts("strides"),
                       p = ctx.attrs.getInts("pads"),
                       d = ctx.attrs.getInts("dilations");
  return {Axis{xs[2], os[2], k[0], s[0], p[0], p[2], d[0]},
          Axis{xs[3], os[3], k[1], s[1], p[1], p[3], d[1]}};
}

/// Max over the window positions inside the input; a window with none
/// (possible only through dilation holes) gives the lowest value (-inf).
template <class T>
std::vector<T> maxPool(const std::vector<T> &x, int64_t planes,
                       const PoolGeometry &g) {
  const Axis &h = g.h, &w = g.w;
  std::vector<T> y(static_cast<size_t>(planes * h.out * w.out));
  T lowest = std::numeric_limits<T>::has_infinity
                 ? -std::numeric_limits<T>::infinity()
                 : std::numeric_limits<T>::lowest();
  for (int64_t p = 0; p < planes; ++p) {
    const T *in = x.data() + p * h.in * w.in;
    T *out = y.data() + p * h.out * w.out;
    for (int64_t oh = 0; oh < h.out; ++oh)
      for (int64_t ow = 0; ow < w.out; ++ow) {
        T best = lowest;
        for (int64_t kh = 0; kh < h.kernel; ++kh) {
          int64_t ih = h.coord(oh, kh);
          if (ih < 0 || ih >= h.in)
            continue;
          for (int64_t kw = 0; kw < w.kernel; ++kw) {
            int64_t iw = w.coord(ow, kw);
            if (iw < 0 || iw >= w.in)
              continue;
            T v = in[ih * w.in + iw];
            // NaN propagates, as in PyTorch.
            if (v > best || v != v)
              best = v;
            if (best != best)
              break;
          }
        }
        out[oh * w.out + ow] = best;
      }
  }
  return y;
}

} // namespace

absl::StatusOr<std::vector<Tensor>> evalMaxPool2d(const EvalContext &ctx) {
  if (absl::Status s = ops::checkEvalTypes(ctx); !s.ok())
    return s;
  const Tensor &x = ctx.operand(0);
  PoolGeometry g = poolGeometry(ctx);
  int64_t planes = x.shape()[0] * x.shape()[1];
  if (isFloat(x.dtype()))
    return ops::one(ops::tensorFromDoubles(
        ctx.resultTypes[0], maxPool(ops::toDoubleVector(x), planes, g)));
  return ops::one(ops::tensorFromInt64s(
      ctx.resultTypes[0], maxPool(ops::toInt64Vector(x), planes, g)));
}

/// Each lane of the blocked [N, Cb, H, W, B] input pools as a plane of its
/// own: the input is read as N*Cb*B planes, pooled, and written back.
absl::StatusOr<std::vector<Tensor>> evalMaxPool2dBlocked(const EvalContext &ctx) {
  if (absl::Status s = ops::checkEvalTypes(ctx); !s.ok())
    return s;
  const Shape &xs = ctx.operand(0).shape(), &os = ctx.resultTypes[0].shape;
  PoolGeometry g = poolGeometry(ctx);
  const int64_t B = xs[4], inPlane = xs[2] * xs[3], outPlane = os[2] * os[3];
  const int64_t blocks = xs[0] * xs[1];
  std::vector<double> x = ops::toDoubleVector(ctx.operand(0));
  // [blocks, P, B] <-> [blocks, B, P] (one plane per lane).
  auto transpose = [&](const std::vector<double> &v, int64_t P, bool toPlanes) {
    std::vector<double> t(v.size());
    for (int64_t i = 0; i < blocks; ++i)
      for (int64_t p = 0; p < P; ++p)
        for (int64_t l = 0; l < B; ++l) {
          int64_t lanesLast = (i * P + p) * B + l, planes = (i * B + l) * P + p;
          t[toPlanes ? planes : lanesLast] = v[toPlanes ? lanesLast : planes];
        }
    return t;
  };
  std::vector<double> y = maxPool(transpose(x, inPlane, true), blocks * B, g);
  return ops::one(
      ops::tensorFromDoubles(ctx.resultTypes[0], transpose(y, outPlane, false)));
}

absl::StatusOr<std::vector<Tensor>> evalAvgPool2d(const EvalContext &ctx) {
  if (absl::Status s = ops::checkEvalTypes(ctx); !s.ok())
    return s;
  const Tensor &x = ctx.operand(0);
  PoolGeometry g = poolGeometry(ctx);
  const Axis &h = g.h, &w = g.w;
  bool includePad = ctx.attrs.getInt("count_include_pad") != 0;
  int64_t planes = x.shape()[0] * x.shape()[1];
  std::vector<double> xv = ops::toDoubleVector(x);
  std::vector<double> y(static_cast<size_t>(planes * h.out * w.out));
  // Positions counted by the divisor: the input, plus the explicit pads
  // when count_include_pad.
  auto counted = [&](const Axis &a, int64_t c) {
    return includePad ? c >= -a.padBegin && c < a.in + a.padEnd
                      : c >= 0 && c < a.in;
  };
  for (int64_t p = 0; p < planes; ++p) {
    const double *in = xv.data() + p * h.in * w.in;
    double *out = y.data() + p * h.out * w.out;
    for (int64_t oh = 0; oh < h.out; ++oh)
      for (int64_t ow = 0; ow < w.out; ++ow) {
        double sum = 0;
        int64_t count = 0;
        for (int64_t kh = 0; kh < h.kernel; ++kh) {
          int64_t ih = h.coord(oh, kh);
          bool rowCounted = counted(h, ih);
          for (int64_t kw = 0; kw < w.kernel; ++kw) {
            int64_t iw = w.coord(ow, kw);
            if (rowCounted && counted(w, iw))
              ++count;
            if (ih >= 0 && ih < h.in && iw >= 0 && iw < w.in)
              sum += in[ih * w.in + iw];
          }
        }
        // A window with no counted position (only through dilation holes)
        // averages to 0.
        out[oh * w.out + ow] = count ? sum / static_cast<double>(count) : 0.0;
      }
  }
  return ops::one(ops::tensorFromDoubles(ctx.resultTypes[0], y));
}

// ----- global_avg_pool -----------------------------------------------------

absl::Status inferGlobalAvgPool(InferContext &ctx) {
  if (absl::Status s = ops::requirePlainOperands(ctx); !s.ok())
    return s;
  if (absl::Status s = ops::requireDType(ctx, 0, isFloat, "a float type");
      !s.ok())
    return s;
  if (absl::Status s = ops::requireRank(ctx, 0, 3, kMaxRank); !s.ok())
    return s;
  const TensorType &x = ctx.operand(0);
  Shape out = x.shape;
  for (size_t i = 2; i < out.size(); ++i)
    out[i] = 1;
  ctx.results = {TensorType(x.dtype, out)};
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Tensor>> evalGlobalAvgPool(const EvalContext &ctx) {
  if (absl::Status s = ops::checkEvalTypes(ctx); !s.ok())
    return s;
  const Tensor &x = ctx.operand(0);
  int64_t planes = x.shape()[0] * x.shape()[1];
  int64_t size = 1;
  for (size_t i = 2; i < x.shape().size(); ++i)
    size *= x.shape()[i];
  std::vector<double> xv = ops::toDoubleVector(x);
  std::vector<double> y(static_cast<size_t>(planes));
  for (int64_t p = 0; p < planes; ++p) {
    double sum = 0;
    for (int64_t i = 0; i < size; ++i)
      sum += xv[p * size + i];
    // An empty plane averages to NaN, as numpy.mean does.
    y[p] = sum / static_cast<double>(size);
  }
  return ops::one(ops::tensorFromDoubles(ctx.resultTypes[0], y));
}

} // namespace tcpu

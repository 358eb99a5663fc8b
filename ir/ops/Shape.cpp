//===- Shape.cpp - Shape ops: type inference and reference semantics ---===//
//
// Data-movement ops: reshape, transpose, concat, slice, gather, expand, pad,
// squeeze, unsqueeze, flatten. Each op has one "plan" function computing the
// result shape (and whatever index maps it needs) from the operand shapes and
// attributes; type inference and evaluation both call it, so the evaluated
// result always has the inferred type. Evaluation moves elements as bytes
// (dtypeSize-sized memcpy plus index math), which is exact for every dtype.
//
//===----------------------------------------------------------------------===//
#include "ir/ops/OpSupport.h"
#include "ir/IntMath.h"
#include "ir/ops/SlicePlan.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace tcpu {

namespace {

using ops::invalid;
using ops::planSlice;
using ops::SlicePlan;

std::string listToString(const std::vector<int64_t> &v) {
  return shapeToString(v);
}

/// Shape ops do not know about blocked layouts yet: require plain operands.
absl::Status requirePlain(const InferContext &ctx) {
  for (size_t i = 0; i < ctx.operands.size(); ++i) {
    if (!ctx.has(i) || ctx.operand(i).isPlain())
      continue;
    const std::string &name =
        ctx.info.operands[std::min(i, ctx.info.operands.size() - 1)].name;
    return invalid("operand '" + name + "' of '" +
                   std::string(ctx.info.mnemonic) +
                   "' must have the plain layout, got " + ctx.operand(i).str());
  }
  return absl::OkStatus();
}

/// Row-major element strides of a shape.
Shape stridesOf(const Shape &shape) {
  Shape s(shape.size());
  int64_t acc = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}


/// Marks an output coordinate that takes the fill value (pad "constant").
constexpr int64_t kFill = -1;

/// The general copy used by transpose, slice, expand and pad: for each output
/// axis a and coordinate o along it, maps[a][o] is the element offset that
/// coordinate contributes to the source element, or kFill. The source element
/// of an output element is the sum of its axes' contributions; if any axis
/// says kFill the element is `fill` (dtypeSize bytes).
absl::StatusOr<Tensor> copyWithAxisMaps(const Tensor &src, TensorType outType,
                                        const std::vector<Shape> &maps,
                                        const uint8_t *fill = nullptr) {
  absl::StatusOr<Tensor> out = Tensor::allocate(std::move(outType));
  if (!out.ok())
    return out;
  const Shape &shape = out->shape();
  const size_t rank = shape.size();
  const int64_t n = out->numElements();
  const size_t es = static_cast<size_t>(dtypeSize(src.dtype()));
  const uint8_t *in = static_cast<const uint8_t *>(src.data());
  uint8_t *dst = static_cast<uint8_t *>(out->mutableData());
  std::vector<int64_t> idx(rank, 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t offset = 0;
    bool isFill = false;
    for (size_t a = 0; a < rank; ++a) {
      int64_t c = maps[a][idx[a]];
      if (c == kFill) {
        isFill = true;
        break;
      }
      offset += c;
    }
    std::memcpy(dst + i * es, isFill ? fill : in + offset * es, es);
    // Odometer increment of the output multi-index.
    for (size_t a = rank; a-- > 0;) {
      if (++idx[a] < shape[a])
        break;
      idx[a] = 0;
    }
  }
  return out;
}

/// A copy of x's bytes with another shape of the same element count.
absl::StatusOr<std::vector<Tensor>> reshapedCopy(const Tensor &x,
                                                 const Shape &shape) {
  absl::StatusOr<Tensor> c = x.clone();
  if (!c.ok())
    return c.status();
  return ops::one(c->reshaped(shape));
}

// ----- reshape --------------------------------------------------------------

absl::StatusOr<Shape> planReshape(const TensorType &x, const Shape &target) {
  int64_t inferAt = -1;
  Shape known = target;
  for (size_t i = 0; i < target.size(); ++i) {
    int64_t d = target[i];
    if (d == -1) {
      if (inferAt >= 0)
        return invalid("reshape shape " + listToString(target) +
                       " has more than one -1");
      inferAt = static_cast<int64_t>(i);
      known[i] = 1;
    } else if (d < 0) {
      return invalid("reshape shape " + listToString(target) +
                     " has the negative size " + std::to_string(d) +
                     " (only -1 is allowed, once)");
    }
  }
  // A 0 is a dim of size 0 (not ONNX's "copy this dim").
  std::optional<int64_t> knownCount = checkedNumElements(known);
  if (!knownCount)
    return invalid("reshape shape " + listToString(target) +
                   " has more elements than int64 can count");
  int64_t n = x.numElements();
  if (inferAt < 0) {
    if (*knownCount != n)
      return invalid("reshape cannot turn " + x.str() + " (" +
                     std::to_string(n) + " elements) into " +
                     listToString(target) + " (" +
                     std::to_string(*knownCount) + " elements)");
    return target;
  }
  if (*knownCount == 0)
    return invalid("reshape shape " + listToString(target) +
                   " is ambiguous: the -1 cannot be inferred when the other "
                   "dims have a 0");
  if (n % *knownCount != 0)
    return invalid("reshape cannot turn " + x.str() + " (" +
                   std::to_string(n) + " elements) into " +
                   listToString(target) + ": " + std::to_string(n) +
                   " is not a multiple of " + std::to_string(*knownCount));
  known[inferAt] = n / *knownCount;
  return known;
}

// ----- transpose -------------------------------------------------------------

absl::StatusOr<Shape> planTranspose(const TensorType &x, const Attributes &attrs) {
  int64_t rank = x.rank();
  Shape perm;
  if (attrs.has("perm")) {
    perm = attrs.getInts("perm");
  } else {
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  }
  bool ok = static_cast<int64_t>(perm.size()) == rank;
  std::vector<bool> seen(rank, false);
  for (size_t i = 0; ok && i < perm.size(); ++i) {
    if (perm[i] < 0 || perm[i] >= rank || seen[perm[i]])
      ok = false;
    else
      seen[perm[i]] = true;
  }
  if (!ok)
    return invalid("transpose perm " + listToString(perm) +
                   " is not a permutation of 0.." + std::to_string(rank - 1) +
                   " for " + x.str());
  return perm;
}

Shape permuted(const Shape &shape, const Shape &perm) {
  Shape out(perm.size());
  for (size_t i = 0; i < perm.size(); ++i)
    out[i] = shape[perm[i]];
  return out;
}

// ----- concat ---------------------------------------------------------------

struct ConcatPlan {
  int64_t axis;
  Shape shape;
};

absl::StatusOr<ConcatPlan>
planConcat(const std::vector<const TensorType *> &inputs, int64_t axisAttr) {
  const TensorType &first = *inputs[0];
  int64_t rank = first.rank();
  if (rank == 0)
    return invalid("concat needs inputs of rank 1 or more, input 0 is " +
                   first.str());
  if (axisAttr < -rank || axisAttr >= rank)
    return invalid("concat axis " + std::to_string(axisAttr) +
                   " is out of range for rank " + std::to_string(rank) +
                   " (valid: " + std::to_string(-rank) + " to " +
                   std::to_string(rank - 1) + ")");
  int64_t axis = axisAttr < 0 ? axisAttr + rank : axisAttr;
  Shape out = first.shape;
  for (size_t i = 1; i < inputs.size(); ++i) {
    const TensorType &t = *inputs[i];
    if (t.dtype != first.dtype)
      return invalid("concat inputs have different dtypes: input 0 is " +
                     first.str() + ", input " + std::to_string(i) + " is " +
                     t.str());
    bool same = t.rank() == rank;
    for (int64_t a = 0; same && a < rank; ++a)
      if (a != axis && t.shape[a] != first.shape[a])
        same = false;
    if (!same)
      return invalid("concat inputs must agree on all dims except axis " +
                     std::to_string(axis) + ": input 0 is " + first.str() +
                     ", input " + std::to_string(i) + " is " + t.str());
    if (__builtin_add_overflow(out[axis], t.shape[axis], &out[axis]))
      return invalid("concat result size along axis " + std::to_string(axis) +
                     " overflows int64");
  }
  return ConcatPlan{axis, out};
}

// ----- gather ---------------------------------------------------------------

struct GatherPlan {
  int64_t axis;
  Shape shape;
};

absl::StatusOr<GatherPlan> planGather(const TensorType &data,
                                      const TensorType &indices,
                                      int64_t axisAttr) {
  int64_t rank = data.rank();
  if (rank == 0)
    return invalid("gather data must have rank 1 or more, got " + data.str());
  if (indices.dtype != DType::I32 && indices.dtype != DType::I64)
    return invalid("gather indices must be i32 or i64, got " + indices.str());
  if (axisAttr < -rank || axisAttr >= rank)
    return invalid("gather axis " + std::to_string(axisAttr) +
                   " is out of range for data " + data.str() + " (valid: " +
                   std::to_string(-rank) + " to " + std::to_string(rank - 1) +
                   ")");
  int64_t axis = axisAttr < 0 ? axisAttr + rank : axisAttr;
  Shape out(data.shape.begin(), data.shape.begin() + axis);
  out.insert(out.end(), indices.shape.begin(), indices.shape.end());
  out.insert(out.end(), data.shape.begin() + axis + 1, data.shape.end());
  return GatherPlan{axis, out};
}

// ----- expand ---------------------------------------------------------------

absl::StatusOr<Shape> planExpand(const TensorType &x, const Shape &shape) {
  for (int64_t d : shape)
    if (d < 0)
      return invalid("expand shape " + listToString(shape) +
                     " has a negative size");
  std::optional<Shape> out = ops::broadcastShapes(x.shape, shape);
  if (!out)
    return invalid("expand cannot broadcast " + x.str() + " with shape " +
                   listToString(shape));
  return *out;
}

// ----- pad ------------------------------------------------------------------

enum class PadMode { Constant, Reflect, Edge };

/// Per axis: the part of the input kept after negative pads crop it
/// ([cropBegin, cropBegin + kept)), and the positive pads around that part.
/// Negative pads crop first; reflect and edge then work on the cropped data
/// (as onnxruntime does).
struct PadPlan {
  PadMode mode;
  Shape cropBegin, kept, padBegin, shape;
};

absl::StatusOr<PadPlan> planPad(const TensorType &x, const Attributes &attrs) {
  int64_t rank = x.rank();
  Shape pads = attrs.getInts("pads");
  std::string modeName = attrs.getString("mode", "constant");
  PadPlan p;
  if (modeName == "constant")
    p.mode = PadMode::Constant;
  else if (modeName == "reflect")
    p.mode = PadMode::Reflect;
  else if (modeName == "edge")
    p.mode = PadMode::Edge;
  else
    return invalid("pad mode '" + modeName +
                   "' is not one of 'constant', 'reflect', 'edge'");
  if (static_cast<int64_t>(pads.size()) != 2 * rank)
    return invalid("pad pads " + listToString(pads) + " must have " +
                   std::to_string(2 * rank) + " values (all begins, then all "
                   "ends) for " + x.str());
  for (int64_t a = 0; a < rank; ++a) {
    int64_t d = x.shape[a];
    // __int128 keeps INT64_MIN/MAX pads from overflowing.
    __int128 b = pads[a], e = pads[a + rank];
    __int128 cb = b < 0 ? -b : 0, ce = e < 0 ? -e : 0;
    __int128 pb = b > 0 ? b : 0, pe = e > 0 ? e : 0;
    __int128 kept = d - cb - ce;
    if (kept < 0)
      return invalid("pad pads " + listToString(pads) + " crop more than the " +
                     std::to_string(d) + " elements of axis " +
                     std::to_string(a) + " of " + x.str());
    __int128 size = kept + pb + pe;
    if (size > std::numeric_limits<int64_t>::max())
      return invalid("pad result size along axis " + std::to_string(a) +
                     " overflows int64");
    if (p.mode == PadMode::Reflect && (pb >= kept || pe >= kept) &&
        (pb > 0 || pe > 0))
      return invalid("pad mode 'reflect' needs pads smaller than the dim: "
                     "axis " + std::to_string(a) + " of " + x.str() +
                     " has " + std::to_string(static_cast<int64_t>(kept)) +
                     " elements" + (cb || ce ? " after cropping" : "") +
                     ", pads are " + std::to_string(pads[a]) + " and " +
                     std::to_string(pads[a + rank]));
    if (p.mode == PadMode::Edge && kept == 0 && (pb > 0 || pe > 0))
      return invalid("pad mode 'edge' cannot pad axis " + std::to_string(a) +
                     " of " + x.str() + ": it has no elements" +
                     (cb || ce ? " after cropping" : ""));
    p.cropBegin.push_back(static_cast<int64_t>(cb));
    p.kept.push_back(static_cast<int64_t>(kept));
    p.padBegin.push_back(static_cast<int64_t>(pb));
    p.shape.push_back(static_cast<int64_t>(size));
  }
  return p;
}

// ----- squeeze, unsqueeze, flatten -----------------------------------------

absl::StatusOr<Shape> planSqueeze(const TensorType &x, const Attributes &attrs) {
  int64_t rank = x.rank();
  std::vector<bool> drop(rank, false);
  if (!attrs.has("axes")) {
    for (int64_t a = 0; a < rank; ++a)
      drop[a] = x.shape[a] == 1;
  } else {
    Shape axes = attrs.getInts("axes");
    for (int64_t a : axes) {
      if (a < -rank || a >= rank)
        return invalid("squeeze axis " + std::to_string(a) +
                       " is out of range for " + x.str() + " (valid: " +
                       std::to_string(-rank) + " to " +
                       std::to_string(rank - 1) + ")");
      int64_t na = a < 0 ? a + rank : a;
      if (drop[na])
        return invalid("squeeze axes " + listToString(axes) + " name axis " +
                       std::to_string(na) + " twice");
      if (x.shape[na] != 1)
        return invalid("squeeze axis " + std::to_string(a) + " of " + x.str() +
                       " has size " + std::to_string(x.shape[na]) + ", not 1");
      drop[na] = true;
    }
  }
  Shape out;
  for (int64_t a = 0; a < rank; ++a)
    if (!drop[a])
      out.push_back(x.shape[a]);
  return out;
}

absl::StatusOr<Shape> planUnsqueeze(const TensorType &x, const Shape &axes) {
  int64_t outRank = x.rank() + static_cast<int64_t>(axes.size());
  std::vector<bool> isNew(outRank, false);
  for (int64_t a : axes) {
    if (a < -outRank || a >= outRank)
      return invalid("unsqueeze axis " + std::to_string(a) +
                     " is out of range for the result rank " +
                     std::to_string(outRank) + " of " + x.str() + " (valid: " +
                     std::to_string(-outRank) + " to " +
                     std::to_string(outRank - 1) + ")");
    int64_t na = a < 0 ? a + outRank : a;
    if (isNew[na])
      return invalid("unsqueeze axes " + listToString(axes) + " name axis " +
                     std::to_string(na) + " twice");
    isNew[na] = true;
  }
  Shape out;
  size_t next = 0;
  for (int64_t a = 0; a < outRank; ++a)
    out.push_back(isNew[a] ? 1 : x.shape[next++]);
  return out;
}

absl::StatusOr<Shape> planFlatten(const TensorType &x, int64_t axis) {
  int64_t rank = x.rank();
  if (axis < -rank || axis > rank)
    return invalid("flatten axis " + std::to_string(axis) +
                   " is out of range for " + x.str() + " (valid: " +
                   std::to_string(-rank) + " to " + std::to_string(rank) + ")");
  if (axis < 0)
    axis += rank;
  // The element count fits int64 (verified type), so both partial products do.
  return Shape{product(x.shape, 0, axis), product(x.shape, axis, rank)};
}

/// Common epilogue of the single-operand inference functions.
absl::Status setResult(InferContext &ctx, absl::StatusOr<Shape> shape,
                       DType dtype) {
  if (!shape.ok())
    return shape.status();
  ctx.results.push_back(TensorType(dtype, std::move(*shape)));
  return absl::OkStatus();
}

} // namespace

namespace ops {

// ----- slice ----------------------------------------------------------------

absl::StatusOr<SlicePlan> planSlice(const TensorType &x,
                                    const Attributes &attrs) {
  int64_t rank = x.rank();
  Shape starts = attrs.getInts("starts"), ends = attrs.getInts("ends");
  size_t n = starts.size();
  if (ends.size() != n)
    return invalid("slice starts " + listToString(starts) + " and ends " +
                   listToString(ends) + " have different lengths");
  Shape axes, steps;
  if (attrs.has("axes")) {
    axes = attrs.getInts("axes");
    if (axes.size() != n)
      return invalid("slice axes " + listToString(axes) + " and starts " +
                     listToString(starts) + " have different lengths");
  } else {
    if (static_cast<int64_t>(n) > rank)
      return invalid("slice starts " + listToString(starts) + " has " +
                     std::to_string(n) + " entries, more than the rank of " +
                     x.str());
    for (size_t i = 0; i < n; ++i)
      axes.push_back(static_cast<int64_t>(i));
  }
  if (attrs.has("steps")) {
    steps = attrs.getInts("steps");
    if (steps.size() != n)
      return invalid("slice steps " + listToString(steps) + " and starts " +
                     listToString(starts) + " have different lengths");
  } else {
    steps.assign(n, 1);
  }
  SlicePlan p{Shape(rank, 0), Shape(rank, 1), x.shape};
  std::vector<bool> seen(rank, false);
  for (size_t i = 0; i < n; ++i) {
    int64_t a = axes[i];
    if (a < -rank || a >= rank)
      return invalid("slice axis " + std::to_string(a) +
                     " is out of range for " + x.str() + " (valid: " +
                     std::to_string(-rank) + " to " + std::to_string(rank - 1) +
                     ")");
    if (a < 0)
      a += rank;
    if (seen[a])
      return invalid("slice axes " + listToString(axes) + " name axis " +
                     std::to_string(a) + " twice");
    seen[a] = true;
    int64_t step = steps[i];
    if (step == 0)
      return invalid("slice steps " + listToString(steps) +
                     " contain 0 (at position " + std::to_string(i) + ")");
    // ONNX: negative starts/ends count from the end once; then clamp to
    // [0, d] (step > 0) or start to [0, d-1] and end to [-1, d-1] (step < 0).
    int64_t d = x.shape[a];
    int64_t s = starts[i], e = ends[i];
    if (s < 0)
      s += d; // cannot overflow: d >= 0
    if (e < 0)
      e += d;
    int64_t count = 0;
    if (step > 0) {
      s = std::clamp<int64_t>(s, 0, d);
      e = std::clamp<int64_t>(e, 0, d);
      if (e > s)
        count = 1 + (e - s - 1) / step;
    } else if (d > 0) {
      s = std::clamp<int64_t>(s, 0, d - 1);
      e = std::clamp<int64_t>(e, -1, d - 1);
      if (s > e) {
        // |step| as unsigned: step may be INT64_MIN.
        uint64_t mag = uint64_t(0) - static_cast<uint64_t>(step);
        count = 1 + static_cast<int64_t>(static_cast<uint64_t>(s - e - 1) / mag);
      }
    }
    p.start[a] = count ? s : 0;
    p.step[a] = count > 1 ? step : 1; // step only matters with 2+ elements
    p.shape[a] = count;
  }
  return p;
}

} // namespace ops

// ===== type inference =======================================================

absl::Status inferReshape(InferContext &ctx) {
  if (absl::Status s = requirePlain(ctx); !s.ok())
    return s;
  const TensorType &x = ctx.operand(0);
  return setResult(ctx, planReshape(x, ctx.attrs.getInts("shape")), x.dtype);
}

absl::Status inferTranspose(InferContext &ctx) {
  if (absl::Status s = requirePlain(ctx); !s.ok())
    return s;
  const TensorType &x = ctx.operand(0);
  absl::StatusOr<Shape> perm = planTranspose(x, ctx.attrs);
  if (!perm.ok())
    return perm.status();
  return setResult(ctx, permuted(x.shape, *perm), x.dtype);
}

absl::Status inferConcat(InferContext &ctx) {
  if (absl::Status s = requirePlain(ctx); !s.ok())
    return s;
  absl::StatusOr<ConcatPlan> p =
      planConcat(ctx.operands, ctx.attrs.getInt("axis"));
  if (!p.ok())
    return p.status();
  return setResult(ctx, p->shape, ctx.operand(0).dtype);
}

absl::Status inferSlice(InferContext &ctx) {
  if (absl::Status s = requirePlain(ctx); !s.ok())
    return s;
  const TensorType &x = ctx.operand(0);
  absl::StatusOr<SlicePlan> p = planSlice(x, ctx.attrs);
  if (!p.ok())
    return p.status();
  return setResult(ctx, p->shape, x.dtype);
}

absl::Status inferGather(InferContext &ctx) {
  if (absl::Status s = requirePlain(ctx); !s.ok())
    return s;
  absl::StatusOr<GatherPlan> p = planGather(ctx.operand(0), ctx.operand(1),
                                            ctx.attrs.getInt("axis"));
  if (!p.ok())
    return p.status();
  return setResult(ctx, p->shape, ctx.operand(0).dtype);
}

absl::Status inferExpand(InferContext &ctx) {
  if (absl::Status s = requirePlain(ctx); !s.ok())
    return s;
  const TensorType &x = ctx.operand(0);
  return setResult(ctx, planExpand(x, ctx.attrs.getInts("shape")), x.dtype);
}

absl::Status inferPad(InferContext &ctx) {
  if (absl::Status s = requirePlain(ctx); !s.ok())
    return s;
  const TensorType &x = ctx.operand(0);
  absl::StatusOr<PadPlan> p = planPad(x, ctx.attrs);
  if (!p.ok())
    return p.status();
  return setResult(ctx, p->shape, x.dtype);
}

absl::Status inferSqueeze(InferContext &ctx) {
  if (absl::Status s = requirePlain(ctx); !s.ok())
    return s;
  const TensorType &x = ctx.operand(0);
  return setResult(ctx, planSqueeze(x, ctx.attrs), x.dtype);
}

absl::Status inferUnsqueeze(InferContext &ctx) {
  if (absl::Status s = requirePlain(ctx); !s.ok())
    return s;
  const TensorType &x = ctx.operand(0);
  return setResult(ctx, planUnsqueeze(x, ctx.attrs.getInts("axes")), x.dtype);
}

absl::Status inferFlatten(InferContext &ctx) {
  if (absl::Status s = requirePlain(ctx); !s.ok())
    return s;
  const TensorType &x = ctx.operand(0);
  return setResult(ctx, planFlatten(x, ctx.attrs.getInt("axis", 1)), x.dtype);
}

// ===== reference semantics ==================================================

absl::StatusOr<std::vector<Tensor>> evalReshape(const EvalContext &ctx) {
  const Tensor &x = ctx.operand(0);
  absl::StatusOr<Shape> shape = planReshape(x.type(), ctx.attrs.getInts("shape"));
  if (!shape.ok())
    return shape.status();
  return reshapedCopy(x, *shape);
}

absl::StatusOr<std::vector<Tensor>> evalTranspose(const EvalContext &ctx) {
  const Tensor &x = ctx.operand(0);
  absl::StatusOr<Shape> perm = planTranspose(x.type(), ctx.attrs);
  if (!perm.ok())
    return perm.status();
  // Output axis i walks input axis perm[i].
  Shape strides = stridesOf(x.shape());
  Shape outShape = permuted(x.shape(), *perm);
  std::vector<Shape> maps(perm->size());
  for (size_t i = 0; i < perm->size(); ++i)
    for (int64_t o = 0; o < outShape[i]; ++o)
      maps[i].push_back(o * strides[(*perm)[i]]);
  return ops::one(
      copyWithAxisMaps(x, TensorType(x.dtype(), outShape), maps));
}

absl::StatusOr<std::vector<Tensor>> evalConcat(const EvalContext &ctx) {
  std::vector<const TensorType *> types;
  for (const Tensor *t : ctx.operands)
    types.push_back(&t->type());
  absl::StatusOr<ConcatPlan> p =
      planConcat(types, ctx.attrs.getInt("axis"));
  if (!p.ok())
    return p.status();
  DType dtype = ctx.operand(0).dtype();
  absl::StatusOr<Tensor> out = Tensor::allocate(TensorType(dtype, p->shape));
  if (!out.ok())
    return out.status();
  // Each input contributes, per outer index, one contiguous run of
  // dims[axis:] elements; the runs interleave in input order.
  int64_t es = dtypeSize(dtype);
  int64_t outer = product(p->shape, 0, p->axis);
  uint8_t *dst = static_cast<uint8_t *>(out->mutableData());
  for (int64_t o = 0; o < outer; ++o) {
    for (const Tensor *t : ctx.operands) {
      int64_t run = product(t->shape(), p->axis, t->shape().size()) * es;
      if (run == 0)
        continue;
      std::memcpy(dst, static_cast<const uint8_t *>(t->data()) + o * run, run);
      dst += run;
    }
  }
  return ops::one(std::move(out));
}

absl::StatusOr<std::vector<Tensor>> evalSlice(const EvalContext &ctx) {
  const Tensor &x = ctx.operand(0);
  absl::StatusOr<SlicePlan> p = planSlice(x.type(), ctx.attrs);
  if (!p.ok())
    return p.status();
  Shape strides = stridesOf(x.shape());
  std::vector<Shape> maps(x.rank());
  for (int64_t a = 0; a < x.rank(); ++a)
    for (int64_t o = 0; o < p->shape[a]; ++o)
      maps[a].push_back((p->start[a] + o * p->step[a]) * strides[a]);
  return ops::one(
      copyWithAxisMaps(x, TensorType(x.dtype(), p->shape), maps));
}

absl::StatusOr<std::vector<Tensor>> evalGather(const EvalContext &ctx) {
  const Tensor &data = ctx.operand(0);
  const Tensor &indices = ctx.operand(1);
  absl::StatusOr<GatherPlan> p =
      planGather(data.type(), indices.type(), ctx.attrs.getInt("axis"));
  if (!p.ok())
    return p.status();
  int64_t axis = p->axis;
  int64_t dim = data.shape()[axis];
  // Check every index first, so that a bad index is reported even when the
  // result is empty.
  int64_t numIdx = indices.numElements();
  std::vector<int64_t> idx(numIdx);
  for (int64_t j = 0; j < numIdx; ++j) {
    int64_t v = indices.elementAsInt(j);
    if (v < -dim || v >= dim)
      return invalid("gather index " + std::to_string(v) + " (element " +
                     std::to_string(j) + " of indices) is out of range for "
                     "axis " + std::to_string(axis) + " of size " +
                     std::to_string(dim) + " (valid: " + std::to_string(-dim) +
                     " to " + std::to_string(dim - 1) + ")");
    idx[j] = v < 0 ? v + dim : v;
  }
  absl::StatusOr<Tensor> out =
      Tensor::allocate(TensorType(data.dtype(), p->shape));
  if (!out.ok())
    return out.status();
  int64_t es = dtypeSize(data.dtype());
  int64_t outer = product(data.shape(), 0, axis);
  int64_t inner = product(data.shape(), axis + 1, data.shape().size()) * es;
  const uint8_t *src = static_cast<const uint8_t *>(data.data());
  uint8_t *dst = static_cast<uint8_t *>(out->mutableData());
  if (inner == 0)
    return ops::one(std::move(out));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < numIdx; ++j) {
      std::memcpy(dst, src + (o * dim + idx[j]) * inner, inner);
      dst += inner;
    }
  return ops::one(std::move(out));
}

absl::StatusOr<std::vector<Tensor>> evalExpand(const EvalContext &ctx) {
  const Tensor &x = ctx.operand(0);
  absl::StatusOr<Shape> shape = planExpand(x.type(), ctx.attrs.getInts("shape"));
  if (!shape.ok())
    return shape.status();
  // Input axes align to the right; size-1 (and missing) axes repeat.
  Shape strides = stridesOf(x.shape());
  size_t lead = shape->size() - x.shape().size();
  std::vector<Shape> maps(shape->size());
  for (size_t a = 0; a < shape->size(); ++a) {
    bool repeat = a < lead || x.shape()[a - lead] == 1;
    for (int64_t o = 0; o < (*shape)[a]; ++o)
      maps[a].push_back(repeat ? 0 : o * strides[a - lead]);
  }
  return ops::one(copyWithAxisMaps(x, TensorType(x.dtype(), *shape), maps));
}

absl::StatusOr<std::vector<Tensor>> evalPad(const EvalContext &ctx) {
  const Tensor &x = ctx.operand(0);
  absl::StatusOr<PadPlan> p = planPad(x.type(), ctx.attrs);
  if (!p.ok())
    return p.status();
  // The fill value in the tensor's dtype, converted as stores convert.
  absl::StatusOr<Tensor> fill = Tensor::allocate(TensorType(x.dtype(), {}));
  if (!fill.ok())
    return fill.status();
  fill->setElementFromDouble(0, ctx.attrs.getFloat("value", 0.0));
  Shape strides = stridesOf(x.shape());
  std::vector<Shape> maps(x.rank());
  for (int64_t a = 0; a < x.rank(); ++a) {
    int64_t kept = p->kept[a];
    for (int64_t o = 0; o < p->shape[a]; ++o) {
      int64_t q = o - p->padBegin[a]; // coordinate in the cropped data
      if (q < 0 || q >= kept) {
        if (p->mode == PadMode::Constant) {
          maps[a].push_back(kFill);
          continue;
        }
        if (p->mode == PadMode::Edge)
          q = q < 0 ? 0 : kept - 1;
        else // reflect; pads < kept, so one reflection lands inside
          q = q < 0 ? -q : 2 * (kept - 1) - q;
      }
      maps[a].push_back((p->cropBegin[a] + q) * strides[a]);
    }
  }
  return ops::one(copyWithAxisMaps(
      x, TensorType(x.dtype(), p->shape), maps,
      static_cast<const uint8_t *>(fill->data())));
}

absl::StatusOr<std::vector<Tensor>> evalSqueeze(const EvalContext &ctx) {
  const Tensor &x = ctx.operand(0);
  absl::StatusOr<Shape> shape = planSqueeze(x.type(), ctx.attrs);
  if (!shape.ok())
    return shape.status();
  return reshapedCopy(x, *shape);
}

absl::StatusOr<std::vector<Tensor>> evalUnsqueeze(const EvalContext &ctx) {
  const Tensor &x = ctx.operand(0);
  absl::StatusOr<Shape> shape =
      planUnsqueeze(x.type(), ctx.attrs.getInts("axes"));
  if (!shape.ok())
    return shape.status();
  return reshapedCopy(x, *shape);
}

absl::StatusOr<std::vector<Tensor>> evalFlatten(const EvalContext &ctx) {
  const Tensor &x = ctx.operand(0);
  absl::StatusOr<Shape> shape = planFlatten(x.type(), ctx.attrs.getInt("axis", 1));
  if (!shape.ok())
    return shape.status();
  return reshapedCopy(x, *shape);
}

} // namespace tcpu

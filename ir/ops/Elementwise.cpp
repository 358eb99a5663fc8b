//===- Elementwise.cpp - Elementwise ops: type inference and reference semantics ---===//
//
// Reference semantics, one element at a time: floats are computed in double
// and rounded once to the result dtype; integers are computed in int64.
//
// Integer semantics (all chosen so that no input is UB in the reference):
// - add, sub, mul, neg, abs, pow wrap modulo 2^bits of the dtype (two's
//   complement, as NumPy, PyTorch and LLVM's plain `add`/`mul` do): the
//   int64 result is computed with unsigned arithmetic and then wrapped to the
//   dtype, e.g. i8 100 + 100 = -56, abs(i8 -128) = -128.
// - div truncates toward zero; division by zero is an eval error ("integer
//   division by zero"); INT64_MIN / -1 wraps to INT64_MIN.
// - pow with a negative exponent gives the exact result truncated toward
//   zero: 1 for base 1, +-1 for base -1, 0 for |base| >= 2; base 0 is an eval
//   error ("integer pow: zero raised to a negative power").
// - cast between integer types wraps (like Rust's `as`), float to integer
//   truncates toward zero and saturates, NaN becomes 0.
// Float semantics: IEEE double, so x/0 = +-inf, log(0) = -inf, sqrt(-1) =
// NaN. max/min propagate NaN (like torch.maximum) and return lhs when the
// operands compare equal (so max(-0, +0) = -0, as PyTorch does); relu(x) is
// max(x, 0), so relu(NaN) = NaN and relu(-0) = -0.
//
//===----------------------------------------------------------------------===//
#include "ir/ops/OpSupport.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>

namespace tcpu {

using namespace ops;

namespace {

std::string mnemonicOf(const InferContext &ctx) {
  return std::string(ctx.info.mnemonic);
}

bool isFloatOrSigned(DType t) { return isFloat(t) || isSignedInteger(t); }
bool isBool(DType t) { return t == DType::Bool; }
bool anyDType(DType) { return true; }

/// Plain layout, dtype class; the result has x's dtype and shape.
absl::Status inferUnary(InferContext &ctx, bool (*pred)(DType),
                        std::string_view what) {
  if (absl::Status s = requirePlainOperands(ctx); !s.ok())
    return s;
  if (absl::Status s = requireDType(ctx, 0, pred, what); !s.ok())
    return s;
  ctx.results = {TensorType(ctx.operand(0).dtype, ctx.operand(0).shape)};
  return absl::OkStatus();
}

/// Broadcast shape of all operands (2 or 3), or an error showing their types.
absl::StatusOr<Shape> broadcastOperands(const InferContext &ctx) {
  Shape out;
  for (size_t i = 0; i < ctx.operands.size(); ++i) {
    std::optional<Shape> b = broadcastShapes(out, ctx.operand(i).shape);
    if (!b) {
      std::string types;
      for (size_t k = 0; k < ctx.operands.size(); ++k)
        types += (k == 0 ? "" : k + 1 == ctx.operands.size() ? " and " : ", ") +
                 ctx.operand(k).str();
      return invalid("operands of '" + mnemonicOf(ctx) +
                     "' are not broadcast-compatible: " + types);
    }
    out = *b;
  }
  return out;
}

/// Two operands of dtype class `pred` and one dtype, broadcast shapes; the
/// result has shape the broadcast shape and dtype `resultDType` (or the
/// operands' when nullopt).
absl::Status inferBinary(InferContext &ctx, bool (*pred)(DType),
                         std::string_view what,
                         std::optional<DType> resultDType) {
  if (absl::Status s = requirePlainOperands(ctx); !s.ok())
    return s;
  for (size_t i = 0; i < 2; ++i)
    if (absl::Status s = requireDType(ctx, i, pred, what); !s.ok())
      return s;
  if (absl::Status s = requireSameDType(ctx); !s.ok())
    return s;
  absl::StatusOr<Shape> shape = broadcastOperands(ctx);
  if (!shape.ok())
    return shape.status();
  ctx.results = {
      TensorType(resultDType.value_or(ctx.operand(0).dtype), *shape)};
  return absl::OkStatus();
}

absl::StatusOr<Tensor> allocateResult(const EvalContext &ctx) {
  const TensorType &rt = ctx.resultTypes[0];
  return Tensor::allocate(TensorType(rt.dtype, rt.shape));
}

// ----- Evaluation skeletons ------------------------------------------------

/// out[i] = f(x[i]) computed in double (floats) or int64 (integers, bool).
template <class FloatFn, class IntFn>
absl::StatusOr<std::vector<Tensor>> mapUnary(const EvalContext &ctx,
                                             FloatFn ff, IntFn fi) {
  if (absl::Status s = checkEvalTypes(ctx); !s.ok())
    return s;
  const Tensor &x = ctx.operand(0);
  absl::StatusOr<Tensor> out = allocateResult(ctx);
  if (!out.ok())
    return out.status();
  int64_t n = out->numElements();
  if (isFloat(x.dtype())) {
    for (int64_t i = 0; i < n; ++i)
      storeDouble(*out, i, ff(x.elementAsDouble(i)));
  } else {
    for (int64_t i = 0; i < n; ++i)
      storeInt(*out, i, fi(x.elementAsInt(i)));
  }
  return one(std::move(out));
}

/// For float-only ops: inference has rejected every other dtype.
template <class FloatFn>
absl::StatusOr<std::vector<Tensor>> mapUnaryFloat(const EvalContext &ctx,
                                                  FloatFn ff) {
  return mapUnary(ctx, ff, [](int64_t v) { return v; });
}

/// out[i] = f(lhs[bi], rhs[bi]) with NumPy broadcasting. The dtype class of
/// the (common) operand dtype picks the double or the int64 function; the
/// int64 function returns a StatusOr so that it can reject an input.
template <class FloatFn, class IntFn>
absl::StatusOr<std::vector<Tensor>> mapBinary(const EvalContext &ctx,
                                              FloatFn ff, IntFn fi) {
  if (absl::Status s = checkEvalTypes(ctx); !s.ok())
    return s;
  const Tensor &a = ctx.operand(0), &b = ctx.operand(1);
  absl::StatusOr<Tensor> out = allocateResult(ctx);
  if (!out.ok())
    return out.status();
  const Shape &shape = ctx.resultTypes[0].shape;
  int64_t n = out->numElements();
  bool useFloat = isFloat(a.dtype());
  for (int64_t i = 0; i < n; ++i) {
    int64_t ia = broadcastIndex(a.shape(), shape, i);
    int64_t ib = broadcastIndex(b.shape(), shape, i);
    if (useFloat) {
      storeDouble(*out, i, ff(a.elementAsDouble(ia), b.elementAsDouble(ib)));
    } else {
      absl::StatusOr<int64_t> r = fi(a.elementAsInt(ia), b.elementAsInt(ib));
      if (!r.ok())
        return r.status();
      storeInt(*out, i, *r);
    }
  }
  return one(std::move(out));
}

// ----- Scalar functions ----------------------------------------------------

// Wrapping int64 arithmetic through uint64 (well defined for every input).
int64_t wrapAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
int64_t wrapSub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
int64_t wrapMul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}
int64_t wrapNeg(int64_t a) { return wrapSub(0, a); }

absl::StatusOr<int64_t> intDiv(int64_t a, int64_t b) {
  if (b == 0)
    return absl::InvalidArgumentError("integer division by zero");
  if (b == -1)
    return wrapNeg(a); // INT64_MIN / -1 overflows; wrap like neg
  return a / b;        // C++ truncates toward zero
}

absl::StatusOr<int64_t> intPow(int64_t base, int64_t exp) {
  if (exp < 0) {
    if (base == 0)
      return absl::InvalidArgumentError(
          "integer pow: zero raised to a negative power");
    if (base == 1)
      return 1;
    if (base == -1)
      return (exp % 2 == 0) ? 1 : -1;
    return 0; // |1 / base^-exp| < 1 truncates to 0
  }
  int64_t result = 1;
  while (exp > 0) { // square and multiply, wrapping
    if (exp & 1)
      result = wrapMul(result, base);
    base = wrapMul(base, base);
    exp >>= 1;
  }
  return result;
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// NaN-propagating max/min that return lhs when the operands compare equal.
double nanMax(double a, double b) {
  if (std::isnan(a) || std::isnan(b))
    return kNaN;
  return a < b ? b : a;
}
double nanMin(double a, double b) {
  if (std::isnan(a) || std::isnan(b))
    return kNaN;
  return b < a ? b : a;
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

double geluErf(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }

double geluTanh(double x) {
  const double k = std::sqrt(2.0 / std::numbers::pi);
  return 0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x)));
}

/// double -> int64 saturating (bounds of clip on integer tensors).
int64_t saturateToInt64(double v) {
  if (v >= 9.2233720368547758e18)
    return std::numeric_limits<int64_t>::max();
  if (v <= -9.2233720368547758e18)
    return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

} // namespace

// ----- Type inference --------------------------------------------------------

absl::Status inferConstant(InferContext &ctx) {
  // The verifier takes a constant's type from its value; there is nothing
  // to infer from here.
  return invalid("'constant' has no operands to infer a type from; its type "
                 "is the type of its value (use GraphBuilder::constant(Tensor))");
}

absl::Status inferUnaryFloat(InferContext &ctx) {
  return inferUnary(ctx, isFloat, "a float type");
}

absl::Status inferGelu(InferContext &ctx) {
  std::string approximate = ctx.attrs.getString("approximate", "none");
  if (approximate != "none" && approximate != "tanh")
    return invalid("approximate of 'gelu' must be \"none\" or \"tanh\", got \"" +
                   approximate + "\"");
  return inferUnary(ctx, isFloat, "a float type");
}

absl::Status inferUnarySigned(InferContext &ctx) {
  return inferUnary(ctx, isFloatOrSigned, "a float or signed integer type");
}

absl::Status inferUnaryNumeric(InferContext &ctx) {
  if (ctx.info.kind == OpKind::Clip) {
    // A NaN bound has no agreed meaning (NumPy propagates it, PyTorch
    // ignores it), so it is rejected.
    for (const char *name : {"min", "max"})
      if (ctx.attrs.has(name) && std::isnan(ctx.attrs.getFloat(name)))
        return invalid(std::string(name) + " of 'clip' is NaN");
  }
  return inferUnary(ctx, isNumeric, "a numeric type");
}

absl::Status inferBinaryNumeric(InferContext &ctx) {
  return inferBinary(ctx, isNumeric, "a numeric type", std::nullopt);
}

absl::Status inferCompare(InferContext &ctx) {
  return inferBinary(ctx, anyDType, "", DType::Bool);
}

absl::Status inferUnaryBool(InferContext &ctx) {
  return inferUnary(ctx, isBool, "the bool type");
}

absl::Status inferLogical(InferContext &ctx) {
  return inferBinary(ctx, isBool, "the bool type", DType::Bool);
}

absl::Status inferWhere(InferContext &ctx) {
  if (absl::Status s = requirePlainOperands(ctx); !s.ok())
    return s;
  if (absl::Status s = requireDType(ctx, 0, isBool, "the bool type"); !s.ok())
    return s;
  const TensorType &lhs = ctx.operand(1), &rhs = ctx.operand(2);
  if (lhs.dtype != rhs.dtype)
    return invalid("operands of 'where' have different dtypes: lhs is " +
                   lhs.str() + ", rhs is " + rhs.str());
  absl::StatusOr<Shape> shape = broadcastOperands(ctx);
  if (!shape.ok())
    return shape.status();
  ctx.results = {TensorType(lhs.dtype, *shape)};
  return absl::OkStatus();
}

absl::Status inferCast(InferContext &ctx) {
  if (absl::Status s = requirePlainOperands(ctx); !s.ok())
    return s;
  std::optional<DType> to = ctx.attrs.getDType("to");
  if (!to)
    return invalid("'cast' needs the dtype attribute 'to'");
  ctx.results = {TensorType(*to, ctx.operand(0).shape)};
  return absl::OkStatus();
}

// ----- Reference semantics ---------------------------------------------------

absl::StatusOr<std::vector<Tensor>> evalConstant(const EvalContext &ctx) {
  if (!ctx.constantValue)
    return absl::InternalError("constant has no value");
  const TensorType &rt = ctx.resultTypes[0];
  if (ctx.constantValue->dtype() != rt.dtype ||
      ctx.constantValue->shape() != rt.shape)
    return absl::InternalError("constant value " +
                               ctx.constantValue->type().str() +
                               " does not match its type " + rt.str());
  return std::vector<Tensor>{*ctx.constantValue}; // shares the buffer
}

absl::StatusOr<std::vector<Tensor>> evalExp(const EvalContext &ctx) {
  return mapUnaryFloat(ctx, [](double x) { return std::exp(x); });
}

absl::StatusOr<std::vector<Tensor>> evalLog(const EvalContext &ctx) {
  return mapUnaryFloat(ctx, [](double x) { return std::log(x); });
}

absl::StatusOr<std::vector<Tensor>> evalSqrt(const EvalContext &ctx) {
  return mapUnaryFloat(ctx, [](double x) { return std::sqrt(x); });
}

absl::StatusOr<std::vector<Tensor>> evalRsqrt(const EvalContext &ctx) {
  return mapUnaryFloat(ctx, [](double x) { return 1.0 / std::sqrt(x); });
}

absl::StatusOr<std::vector<Tensor>> evalReciprocal(const EvalContext &ctx) {
  return mapUnaryFloat(ctx, [](double x) { return 1.0 / x; });
}

absl::StatusOr<std::vector<Tensor>> evalTanh(const EvalContext &ctx) {
  return mapUnaryFloat(ctx, [](double x) { return std::tanh(x); });
}

absl::StatusOr<std::vector<Tensor>> evalSigmoid(const EvalContext &ctx) {
  return mapUnaryFloat(ctx, sigmoid);
}

absl::StatusOr<std::vector<Tensor>> evalErf(const EvalContext &ctx) {
  return mapUnaryFloat(ctx, [](double x) { return std::erf(x); });
}

absl::StatusOr<std::vector<Tensor>> evalGelu(const EvalContext &ctx) {
  // gelu(+-inf) follows the formula: +inf and NaN (inf * 0), as in PyTorch.
  if (ctx.attrs.getString("approximate", "none") == "tanh")
    return mapUnaryFloat(ctx, geluTanh);
  return mapUnaryFloat(ctx, geluErf);
}

absl::StatusOr<std::vector<Tensor>> evalLeakyRelu(const EvalContext &ctx) {
  double alpha = ctx.attrs.getFloat("alpha", 0.01);
  return mapUnaryFloat(ctx,
                       [alpha](double x) { return x > 0 ? x : alpha * x; });
}

absl::StatusOr<std::vector<Tensor>> evalNeg(const EvalContext &ctx) {
  return mapUnary(ctx, [](double x) { return -x; }, wrapNeg);
}

absl::StatusOr<std::vector<Tensor>> evalAbs(const EvalContext &ctx) {
  return mapUnary(
      ctx, [](double x) { return std::fabs(x); },
      [](int64_t x) { return x < 0 ? wrapNeg(x) : x; });
}

absl::StatusOr<std::vector<Tensor>> evalRelu(const EvalContext &ctx) {
  return mapUnary(
      ctx, [](double x) { return nanMax(x, 0.0); },
      [](int64_t x) { return x < 0 ? int64_t{0} : x; });
}

absl::StatusOr<std::vector<Tensor>> evalClip(const EvalContext &ctx) {
  if (absl::Status s = checkEvalTypes(ctx); !s.ok())
    return s;
  // out = min(max(x, min), max), so min > max gives max everywhere (as NumPy
  // and PyTorch do); NaN in x propagates.
  bool hasMin = ctx.attrs.has("min"), hasMax = ctx.attrs.has("max");
  double lo = ctx.attrs.getFloat("min"), hi = ctx.attrs.getFloat("max");
  const Tensor &x = ctx.operand(0);
  if (isFloat(x.dtype()))
    return mapUnaryFloat(ctx, [=](double v) {
      if (hasMin)
        v = nanMax(v, lo);
      if (hasMax)
        v = nanMin(v, hi);
      return v;
    });
  // Integers: the bounds become the nearest integers inside [min, max];
  // results are stored saturating, so a bound beyond the dtype's range acts
  // as the range's end (clip(i8, min=1000) = 127), never wraps.
  int64_t ilo = saturateToInt64(std::ceil(lo)),
          ihi = saturateToInt64(std::floor(hi));
  absl::StatusOr<Tensor> out = allocateResult(ctx);
  if (!out.ok())
    return out.status();
  for (int64_t i = 0, n = out->numElements(); i < n; ++i) {
    int64_t v = x.elementAsInt(i);
    if (hasMin)
      v = std::max(v, ilo);
    if (hasMax)
      v = std::min(v, ihi);
    out->setElementFromInt(i, v);
  }
  return one(std::move(out));
}

absl::StatusOr<std::vector<Tensor>> evalAdd(const EvalContext &ctx) {
  return mapBinary(
      ctx, [](double a, double b) { return a + b; },
      [](int64_t a, int64_t b) -> absl::StatusOr<int64_t> { return wrapAdd(a, b); });
}

absl::StatusOr<std::vector<Tensor>> evalSub(const EvalContext &ctx) {
  return mapBinary(
      ctx, [](double a, double b) { return a - b; },
      [](int64_t a, int64_t b) -> absl::StatusOr<int64_t> { return wrapSub(a, b); });
}

absl::StatusOr<std::vector<Tensor>> evalMul(const EvalContext &ctx) {
  return mapBinary(
      ctx, [](double a, double b) { return a * b; },
      [](int64_t a, int64_t b) -> absl::StatusOr<int64_t> { return wrapMul(a, b); });
}

absl::StatusOr<std::vector<Tensor>> evalDiv(const EvalContext &ctx) {
  return mapBinary(ctx, [](double a, double b) { return a / b; }, intDiv);
}

absl::StatusOr<std::vector<Tensor>> evalPow(const EvalContext &ctx) {
  return mapBinary(
      ctx, [](double a, double b) { return std::pow(a, b); }, intPow);
}

absl::StatusOr<std::vector<Tensor>> evalMax(const EvalContext &ctx) {
  return mapBinary(ctx, nanMax,
                   [](int64_t a, int64_t b) -> absl::StatusOr<int64_t> {
                     return a < b ? b : a;
                   });
}

absl::StatusOr<std::vector<Tensor>> evalMin(const EvalContext &ctx) {
  return mapBinary(ctx, nanMin,
                   [](int64_t a, int64_t b) -> absl::StatusOr<int64_t> {
                     return b < a ? b : a;
                   });
}

// Comparisons: IEEE semantics for floats (any comparison with NaN is false,
// so eq(NaN, NaN) is false); exact int64 comparison for integers and bool.
#define TCPU_COMPARE(Name, OPERATOR)                                           \
  absl::StatusOr<std::vector<Tensor>> Name(const EvalContext &ctx) {           \
    return mapBinary(                                                          \
        ctx, [](double a, double b) { return a OPERATOR b ? 1.0 : 0.0; },      \
        [](int64_t a, int64_t b) -> absl::StatusOr<int64_t> {                  \
          return a OPERATOR b ? 1 : 0;                                         \
        });                                                                    \
  }
TCPU_COMPARE(evalEq, ==)
TCPU_COMPARE(evalLt, <)
TCPU_COMPARE(evalLe, <=)
TCPU_COMPARE(evalGt, >)
TCPU_COMPARE(evalGe, >=)
#undef TCPU_COMPARE

absl::StatusOr<std::vector<Tensor>> evalNot(const EvalContext &ctx) {
  return mapUnary(
      ctx, [](double x) { return x == 0 ? 1.0 : 0.0; },
      [](int64_t x) -> int64_t { return x == 0; });
}

absl::StatusOr<std::vector<Tensor>> evalAnd(const EvalContext &ctx) {
  return mapBinary(
      ctx, [](double a, double b) { return a != 0 && b != 0 ? 1.0 : 0.0; },
      [](int64_t a, int64_t b) -> absl::StatusOr<int64_t> {
        return a != 0 && b != 0;
      });
}

absl::StatusOr<std::vector<Tensor>> evalOr(const EvalContext &ctx) {
  return mapBinary(
      ctx, [](double a, double b) { return a != 0 || b != 0 ? 1.0 : 0.0; },
      [](int64_t a, int64_t b) -> absl::StatusOr<int64_t> {
        return a != 0 || b != 0;
      });
}

absl::StatusOr<std::vector<Tensor>> evalWhere(const EvalContext &ctx) {
  if (absl::Status s = checkEvalTypes(ctx); !s.ok())
    return s;
  // Copies the chosen element's bytes: exact for every dtype (NaN payloads
  // and signed zeros included).
  const Tensor &cond = ctx.operand(0), &a = ctx.operand(1), &b = ctx.operand(2);
  absl::StatusOr<Tensor> out = allocateResult(ctx);
  if (!out.ok())
    return out.status();
  const Shape &shape = ctx.resultTypes[0].shape;
  int64_t size = dtypeSize(out->dtype());
  auto *dst = static_cast<uint8_t *>(out->mutableData());
  for (int64_t i = 0, n = out->numElements(); i < n; ++i) {
    bool c = cond.elementAsInt(broadcastIndex(cond.shape(), shape, i)) != 0;
    const Tensor &src = c ? a : b;
    int64_t j = broadcastIndex(src.shape(), shape, i);
    std::memcpy(dst + i * size, static_cast<const uint8_t *>(src.data()) + j * size,
                size);
  }
  return one(std::move(out));
}

absl::StatusOr<std::vector<Tensor>> evalCast(const EvalContext &ctx) {
  if (absl::Status s = checkEvalTypes(ctx); !s.ok())
    return s;
  // From a float: storeDouble (to float: one rounding to nearest even; to an
  // integer: truncate toward zero, saturate, NaN -> 0; to bool: x != 0, so
  // NaN -> true). From an integer or bool: storeInt (to an integer: wrap; to
  // a float: one rounding from the exact value; to bool: x != 0).
  const Tensor &x = ctx.operand(0);
  absl::StatusOr<Tensor> out = allocateResult(ctx);
  if (!out.ok())
    return out.status();
  for (int64_t i = 0, n = out->numElements(); i < n; ++i) {
    if (isFloat(x.dtype()))
      storeDouble(*out, i, x.elementAsDouble(i));
    else
      storeInt(*out, i, x.elementAsInt(i));
  }
  return one(std::move(out));
}

} // namespace tcpu

//===- Linalg.cpp - Linalg ops: type inference and reference semantics ---===//
//
// matmul (NumPy semantics), gemm (ONNX Gemm) and linear (torch linear).
// Operands share one dtype, float or integer. The reference accumulates
// floats in double and integers in int64 with wrap-around (modulo 2^64, so
// that overflow is defined), then stores in the result dtype (integers
// saturate, as Tensor::setElementFromInt does).
//
//===----------------------------------------------------------------------===//
#include "ir/ops/OpSupport.h"

#include <cmath>

namespace tcpu {
namespace {

using ops::invalid;

bool isFloatOrInteger(DType t) { return isFloat(t) || isInteger(t); }

/// Plain layout, one dtype, float or integer: the common checks of the three
/// ops. `disagree` is the message used when the dtypes differ.
absl::Status checkOperandKinds(const InferContext &ctx) {
  if (absl::Status s = ops::requirePlainOperands(ctx); !s.ok())
    return s;
  for (size_t i = 0; i < ctx.operands.size(); ++i)
    if (absl::Status s =
            ops::requireDType(ctx, i, isFloatOrInteger, "a float or integer type");
        !s.ok())
      return s;
  return absl::OkStatus();
}

/// c[M,N] = a[M,K] * b[K,N]; T is double or uint64_t (wrapping integers).
template <class T>
void matmulKernel(const T *a, const T *b, T *c, int64_t M, int64_t K,
                  int64_t N) {
  for (int64_t i = 0; i < M; ++i) {
    T *crow = c + i * N;
    for (int64_t j = 0; j < N; ++j)
      crow[j] = T(0);
    for (int64_t k = 0; k < K; ++k) {
      T av = a[i * K + k];
      const T *brow = b + k * N;
      for (int64_t j = 0; j < N; ++j)
        crow[j] += av * brow[j];
    }
  }
}

/// Element values of a tensor as the accumulation type T.
template <class T> std::vector<T> load(const Tensor &t);
template <> std::vector<double> load<double>(const Tensor &t) {
  return ops::toDoubleVector(t);
}
template <> std::vector<uint64_t> load<uint64_t>(const Tensor &t) {
  std::vector<int64_t> v = ops::toInt64Vector(t);
  return std::vector<uint64_t>(v.begin(), v.end());
}

template <class T>
absl::StatusOr<Tensor> store(const TensorType &type, const std::vector<T> &v) {
  if constexpr (std::is_same_v<T, double>) {
    return ops::tensorFromDoubles(type, v);
  } else {
    std::vector<int64_t> s(v.size());
    for (size_t i = 0; i < v.size(); ++i)
      s[i] = static_cast<int64_t>(v[i]); // modulo 2^64 (C++20)
    return ops::tensorFromInt64s(type, s);
  }
}

/// Row-major transpose of an [R, C] matrix.
template <class T>
std::vector<T> transposed(const std::vector<T> &m, int64_t R, int64_t C) {
  std::vector<T> t(m.size());
  for (int64_t r = 0; r < R; ++r)
    for (int64_t c = 0; c < C; ++c)
      t[c * R + r] = m[r * C + c];
  return t;
}

// ----- matmul --------------------------------------------------------------

/// Operand shapes with 1-D operands promoted to matrices.
struct MatmulShapes {
  Shape lhs, rhs;  // rank >= 2
  Shape batch;     // broadcast batch dims
  int64_t M, K, N;
};

template <class T>
absl::StatusOr<Tensor> matmulImpl(const Tensor &lhs, const Tensor &rhs,
                                  const MatmulShapes &s,
                                  const TensorType &resultType) {
  std::vector<T> a = load<T>(lhs), b = load<T>(rhs);
  int64_t batchRank = static_cast<int64_t>(s.batch.size());
  int64_t numBatches = 1;
  for (int64_t d : s.batch)
    numBatches *= d;
  // Strides (in matrices) of each operand's batch dims, 0 where broadcast.
  auto batchStrides = [&](const Shape &shape) {
    int64_t own = static_cast<int64_t>(shape.size()) - 2;
    std::vector<int64_t> strides(batchRank, 0);
    int64_t stride = 1;
    for (int64_t i = own - 1; i >= 0; --i) {
      int64_t outDim = batchRank - own + i;
      strides[outDim] = shape[i] == 1 ? 0 : stride;
      stride *= shape[i];
    }
    return strides;
  };
  std::vector<int64_t> aStrides = batchStrides(s.lhs),
                       bStrides = batchStrides(s.rhs);
  std::vector<T> out(static_cast<size_t>(numBatches * s.M * s.N));
  std::vector<int64_t> index(batchRank, 0);
  for (int64_t bi = 0; bi < numBatches; ++bi) {
    int64_t aOff = 0, bOff = 0;
    for (int64_t d = 0; d < batchRank; ++d) {
      aOff += index[d] * aStrides[d];
      bOff += index[d] * bStrides[d];
    }
    matmulKernel(a.data() + aOff * s.M * s.K, b.data() + bOff * s.K * s.N,
                 out.data() + bi * s.M * s.N, s.M, s.K, s.N);
    for (int64_t d = batchRank - 1; d >= 0; --d) {
      if (++index[d] < s.batch[d])
        break;
      index[d] = 0;
    }
  }
  return store(resultType, out);
}

absl::StatusOr<MatmulShapes> matmulShapes(const TensorType &lhs,
                                          const TensorType &rhs) {
  MatmulShapes s;
  s.lhs = lhs.shape;
  s.rhs = rhs.shape;
  if (s.lhs.size() == 1)
    s.lhs.insert(s.lhs.begin(), 1);
  if (s.rhs.size() == 1)
    s.rhs.push_back(1);
  auto disagree = [&] {
    return invalid("matmul operands disagree: " + lhs.str() + " x " + rhs.str());
  };
  s.M = s.lhs[s.lhs.size() - 2];
  s.K = s.lhs.back();
  s.N = s.rhs.back();
  if (s.rhs[s.rhs.size() - 2] != s.K)
    return disagree();
  std::optional<Shape> batch =
      ops::broadcastShapes(Shape(s.lhs.begin(), s.lhs.end() - 2),
                           Shape(s.rhs.begin(), s.rhs.end() - 2));
  if (!batch)
    return disagree();
  s.batch = *batch;
  return s;
}

} // namespace

absl::Status inferMatmul(InferContext &ctx) {
  if (absl::Status s = checkOperandKinds(ctx); !s.ok())
    return s;
  for (size_t i = 0; i < 2; ++i)
    if (absl::Status s = ops::requireRank(ctx, i, 1, kMaxRank); !s.ok())
      return s;
  const TensorType &lhs = ctx.operand(0), &rhs = ctx.operand(1);
  if (lhs.dtype != rhs.dtype)
    return invalid("matmul operands disagree: " + lhs.str() + " x " + rhs.str());
  absl::StatusOr<MatmulShapes> s = matmulShapes(lhs, rhs);
  if (!s.ok())
    return s.status();
  Shape out = s->batch;
  if (lhs.rank() >= 2)
    out.push_back(s->M);
  if (rhs.rank() >= 2)
    out.push_back(s->N);
  ctx.results = {TensorType(lhs.dtype, out)};
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Tensor>> evalMatmul(const EvalContext &ctx) {
  if (absl::Status s = ops::checkEvalTypes(ctx); !s.ok())
    return s;
  const Tensor &lhs = ctx.operand(0), &rhs = ctx.operand(1);
  absl::StatusOr<MatmulShapes> s = matmulShapes(lhs.type(), rhs.type());
  if (!s.ok())
    return s.status();
  if (isFloat(lhs.dtype()))
    return ops::one(matmulImpl<double>(lhs, rhs, *s, ctx.resultTypes[0]));
  return ops::one(matmulImpl<uint64_t>(lhs, rhs, *s, ctx.resultTypes[0]));
}

// ----- gemm ----------------------------------------------------------------

absl::Status inferGemm(InferContext &ctx) {
  if (absl::Status s = checkOperandKinds(ctx); !s.ok())
    return s;
  if (absl::Status s = ops::requireSameDType(ctx); !s.ok())
    return s;
  for (size_t i = 0; i < 2; ++i)
    if (absl::Status s = ops::requireRank(ctx, i, 2, 2); !s.ok())
      return s;
  if (absl::Status s = ops::requireRank(ctx, 2, 0, 2); !s.ok())
    return s;
  const TensorType &a = ctx.operand(0), &b = ctx.operand(1);
  bool ta = ctx.attrs.getInt("trans_a") != 0,
       tb = ctx.attrs.getInt("trans_b") != 0;
  int64_t M = ta ? a.shape[1] : a.shape[0], K = ta ? a.shape[0] : a.shape[1];
  int64_t Kb = tb ? b.shape[1] : b.shape[0], N = tb ? b.shape[0] : b.shape[1];
  std::string trans = " (trans_a=" + std::to_string(ta) +
                      ", trans_b=" + std::to_string(tb) + ")";
  if (K != Kb)
    return invalid("gemm operands disagree: " + a.str() + " x " + b.str() +
                   trans);
  if (ctx.has(2)) {
    const Shape &c = ctx.operand(2).shape;
    Shape mn = {M, N};
    for (size_t i = 0; i < c.size(); ++i) {
      int64_t want = mn[2 - c.size() + i];
      if (c[i] != 1 && c[i] != want)
        return invalid("gemm operand 'c' " + ctx.operand(2).str() +
                       " does not broadcast to the result [" +
                       std::to_string(M) + "," + std::to_string(N) + "] of " +
                       a.str() + " x " + b.str() + trans);
    }
  }
  ctx.results = {TensorType(a.dtype, {M, N})};
  return absl::OkStatus();
}

namespace {

template <class T>
absl::StatusOr<Tensor> gemmImpl(const EvalContext &ctx) {
  const Tensor &a = ctx.operand(0), &b = ctx.operand(1);
  bool ta = ctx.attrs.getInt("trans_a") != 0,
       tb = ctx.attrs.getInt("trans_b") != 0;
  int64_t M = ctx.resultTypes[0].shape[0], N = ctx.resultTypes[0].shape[1];
  int64_t K = ta ? a.shape()[0] : a.shape()[1];
  std::vector<T> av = load<T>(a), bv = load<T>(b);
  if (ta)
    av = transposed(av, K, M);
  if (tb)
    bv = transposed(bv, N, K);
  std::vector<T> acc(static_cast<size_t>(M * N));
  matmulKernel(av.data(), bv.data(), acc.data(), M, K, N);

  double alpha = ctx.attrs.getFloat("alpha", 1.0),
         beta = ctx.attrs.getFloat("beta", 1.0);
  // Strides of c over [M, N], 0 where broadcast.
  std::vector<T> cv;
  int64_t cStrideM = 0, cStrideN = 0;
  if (ctx.has(2)) {
    const Shape &cs = ctx.operand(2).shape();
    cv = load<T>(ctx.operand(2));
    int64_t cM = cs.size() == 2 ? cs[0] : 1;
    int64_t cN = cs.empty() ? 1 : cs.back();
    cStrideN = cN == 1 ? 0 : 1;
    cStrideM = cM == 1 ? 0 : cN;
  }
  auto cAt = [&](int64_t i, int64_t j) { return cv[i * cStrideM + j * cStrideN]; };

  if constexpr (std::is_same_v<T, double>) {
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j)
        acc[i * N + j] = alpha * acc[i * N + j] + (cv.empty() ? 0.0 : beta * cAt(i, j));
    return store(ctx.resultTypes[0], acc);
  } else {
    // Integers: exact (wrapping) when alpha and beta are small integers,
    // otherwise through double with truncation on store.
    auto isSmallInt = [](double v) {
      return std::nearbyint(v) == v && std::fabs(v) <= 2147483648.0;
    };
    if (isSmallInt(alpha) && isSmallInt(beta)) {
      uint64_t ua = static_cast<uint64_t>(static_cast<int64_t>(alpha));
      uint64_t ub = static_cast<uint64_t>(static_cast<int64_t>(beta));
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j)
          acc[i * N + j] = ua * acc[i * N + j] + (cv.empty() ? 0 : ub * cAt(i, j));
      return store(ctx.resultTypes[0], acc);
    }
    std::vector<double> out(acc.size());
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j)
        out[i * N + j] =
            alpha * static_cast<double>(static_cast<int64_t>(acc[i * N + j])) +
            (cv.empty() ? 0.0
                        : beta * static_cast<double>(static_cast<int64_t>(cAt(i, j))));
    return ops::tensorFromDoubles(ctx.resultTypes[0], out);
  }
}

} // namespace

absl::StatusOr<std::vector<Tensor>> evalGemm(const EvalContext &ctx) {
  if (absl::Status s = ops::checkEvalTypes(ctx); !s.ok())
    return s;
  if (isFloat(ctx.operand(0).dtype()))
    return ops::one(gemmImpl<double>(ctx));
  return ops::one(gemmImpl<uint64_t>(ctx));
}

// ----- linear --------------------------------------------------------------

absl::Status inferLinear(InferContext &ctx) {
  if (absl::Status s = checkOperandKinds(ctx); !s.ok())
    return s;
  if (absl::Status s = ops::requireSameDType(ctx); !s.ok())
    return s;
  if (absl::Status s = ops::requireRank(ctx, 0, 1, kMaxRank); !s.ok())
    return s;
  if (absl::Status s = ops::requireRank(ctx, 1, 2, 2); !s.ok())
    return s;
  if (absl::Status s = ops::requireRank(ctx, 2, 1, 1); !s.ok())
    return s;
  const TensorType &x = ctx.operand(0), &w = ctx.operand(1);
  if (x.shape.back() != w.shape[1])
    return invalid("linear operands disagree: x " + x.str() + ", weight " +
                   w.str() + " (weight must be [out, " +
                   std::to_string(x.shape.back()) + "])");
  if (ctx.has(2) && ctx.operand(2).shape[0] != w.shape[0])
    return invalid("linear bias " + ctx.operand(2).str() +
                   " does not match weight " + w.str() + " (expected [" +
                   std::to_string(w.shape[0]) + "])");
  Shape out = x.shape;
  out.back() = w.shape[0];
  ctx.results = {TensorType(x.dtype, out)};
  return absl::OkStatus();
}

namespace {

template <class T>
absl::StatusOr<Tensor> linearImpl(const EvalContext &ctx) {
  const Tensor &x = ctx.operand(0), &w = ctx.operand(1);
  int64_t out = w.shape()[0], in = w.shape()[1];
  int64_t rows = in == 0 ? 0 : x.numElements() / in;
  if (in == 0) {
    rows = 1;
    for (size_t i = 0; i + 1 < x.shape().size(); ++i)
      rows *= x.shape()[i];
  }
  std::vector<T> xv = load<T>(x), wt = transposed(load<T>(w), out, in);
  std::vector<T> y(static_cast<size_t>(rows * out));
  matmulKernel(xv.data(), wt.data(), y.data(), rows, in, out);
  if (ctx.has(2)) {
    std::vector<T> bias = load<T>(ctx.operand(2));
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t o = 0; o < out; ++o)
        y[r * out + o] += bias[o];
  }
  return store(ctx.resultTypes[0], y);
}

} // namespace

absl::StatusOr<std::vector<Tensor>> evalLinear(const EvalContext &ctx) {
  if (absl::Status s = ops::checkEvalTypes(ctx); !s.ok())
    return s;
  if (isFloat(ctx.operand(0).dtype()))
    return ops::one(linearImpl<double>(ctx));
  return ops::one(linearImpl<uint64_t>(ctx));
}

} // namespace tcpu

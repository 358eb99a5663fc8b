//===- Recurrent.cpp - Recurrent ops: type inference and reference semantics ---===//
//
// lstm, gru and rnn with ONNX semantics (one layer; no sequence_lens: every
// batch entry runs the full sequence). Gate orders follow ONNX: LSTM i,o,f,c;
// GRU z,r,h. Shapes (G gates, D directions):
//   layout=0: x[seq, batch, in], y[seq, D, batch, hid], y_h/y_c[D, batch, hid]
//   layout=1: x[batch, seq, in], y[batch, seq, D, hid], y_h/y_c[batch, D, hid]
//   w[D, G*hid, in], r[D, G*hid, hid], b[D, 2*G*hid] (Wb then Rb),
//   initial_h/initial_c like y_h, p[D, 3*hid] (LSTM peepholes i, o, f).
// Direction 0 of "bidirectional" runs forward, direction 1 in reverse.
// `clip` clamps the input of every activation to [-clip, clip] (including
// the h(C) of LSTM; the cell state itself is not clipped). `input_forget`
// couples the LSTM gates: f = 1 - i. The reference computes in double.
//
//===----------------------------------------------------------------------===//
#include "ir/ops/OpSupport.h"

#include <algorithm>
#include <cmath>

namespace tcpu {
namespace {

using ops::invalid;

enum class Cell { Lstm, Gru, Rnn };

int numGates(Cell c) { return c == Cell::Lstm ? 4 : c == Cell::Gru ? 3 : 1; }

std::string quoted(const std::string &s) { return "\"" + s + "\""; }

/// Sizes of a recurrent op, read from x and the attributes.
struct RnnDims {
  int64_t seq, batch, input, hidden, dirs;
  bool layout1;
};

/// Shapes of every operand and result, derived from the dims.
Shape stateShape(const RnnDims &d) {
  return d.layout1 ? Shape{d.batch, d.dirs, d.hidden}
                   : Shape{d.dirs, d.batch, d.hidden};
}
Shape yShape(const RnnDims &d) {
  return d.layout1 ? Shape{d.batch, d.seq, d.dirs, d.hidden}
                   : Shape{d.seq, d.dirs, d.batch, d.hidden};
}

absl::Status inferRecurrent(InferContext &ctx, Cell cell) {
  std::string op(ctx.info.mnemonic);
  if (absl::Status s = ops::requirePlainOperands(ctx); !s.ok())
    return s;
  if (absl::Status s = ops::requireDType(ctx, 0, isFloat, "a float type");
      !s.ok())
    return s;
  if (absl::Status s = ops::requireSameDType(ctx); !s.ok())
    return s;
  if (absl::Status s = ops::requireRank(ctx, 0, 3, 3); !s.ok())
    return s;

  int64_t hidden = ctx.attrs.getInt("hidden_size");
  if (hidden < 1)
    return invalid(op + " hidden_size must be positive, got " +
                   std::to_string(hidden));
  std::string direction = ctx.attrs.getString("direction", "forward");
  if (direction != "forward" && direction != "reverse" &&
      direction != "bidirectional")
    return invalid(op + " direction must be \"forward\", \"reverse\" or "
                        "\"bidirectional\", got " +
                   quoted(direction));
  int64_t layout = ctx.attrs.getInt("layout");
  if (layout != 0 && layout != 1)
    return invalid(op + " layout must be 0 or 1, got " + std::to_string(layout));
  if (ctx.attrs.has("clip")) {
    double clip = ctx.attrs.getFloat("clip");
    if (!(clip > 0))
      return invalid(op + " clip must be positive, got " +
                     attrValueToString(AttrValue(clip)));
  }
  for (const char *flag : {"input_forget", "linear_before_reset"})
    if (ctx.info.findAttr(flag)) {
      int64_t v = ctx.attrs.getInt(flag);
      if (v != 0 && v != 1)
        return invalid(op + " " + flag + " must be 0 or 1, got " +
                       std::to_string(v));
    }
  if (cell == Cell::Rnn) {
    std::string act = ctx.attrs.getString("activation", "tanh");
    if (act != "tanh" && act != "relu" && act != "sigmoid")
      return invalid(op + " activation must be \"tanh\", \"relu\" or "
                          "\"sigmoid\", got " +
                     quoted(act));
  }

  const TensorType &x = ctx.operand(0);
  RnnDims d;
  d.layout1 = layout == 1;
  d.seq = d.layout1 ? x.shape[1] : x.shape[0];
  d.batch = d.layout1 ? x.shape[0] : x.shape[1];
  d.input = x.shape[2];
  d.hidden = hidden;
  d.dirs = direction == "bidirectional" ? 2 : 1;
  int64_t G = numGates(cell);

  std::string context = " (x " + x.str() + ", hidden_size=" +
                        std::to_string(hidden) + ", direction=" +
                        quoted(direction) + ", layout=" +
                        std::to_string(layout) + ")";
  auto expect = [&](size_t i, const Shape &want) -> absl::Status {
    if (!ctx.has(i) || ctx.operand(i).shape == want)
      return absl::OkStatus();
    return invalid(op + " operand '" + ctx.info.operands[i].name + "' is " +
                   ctx.operand(i).str() + ", expected shape " +
                   shapeToString(want) + context);
  };
  std::vector<std::pair<size_t, Shape>> wanted = {
      {1, {d.dirs, G * hidden, d.input}},
      {2, {d.dirs, G * hidden, hidden}},
      {3, {d.dirs, 2 * G * hidden}},
      {4, stateShape(d)}};
  if (cell == Cell::Lstm) {
    wanted.push_back({5, stateShape(d)});
    wanted.push_back({6, {d.dirs, 3 * hidden}});
  }
  for (const auto &[i, shape] : wanted)
    if (absl::Status s = expect(i, shape); !s.ok())
      return s;

  ctx.results = {TensorType(x.dtype, yShape(d)),
                 TensorType(x.dtype, stateShape(d))};
  if (cell == Cell::Lstm)
    ctx.results.push_back(TensorType(x.dtype, stateShape(d)));
  return absl::OkStatus();
}

double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

/// The recurrence of one op over all directions; see the file comment.
class Recurrence {
public:
  Recurrence(const EvalContext &ctx, Cell cell) : ctx_(ctx), cell_(cell) {
    const TensorType &y = ctx.resultTypes[0];
    d_.layout1 = ctx.attrs.getInt("layout") == 1;
    d_.seq = d_.layout1 ? y.shape[1] : y.shape[0];
    d_.dirs = d_.layout1 ? y.shape[2] : y.shape[1];
    d_.batch = d_.layout1 ? y.shape[0] : y.shape[2];
    d_.hidden = y.shape[3];
    d_.input = ctx.operand(0).shape()[2];
    G_ = numGates(cell);
    direction_ = ctx.attrs.getString("direction", "forward");
    hasClip_ = ctx.attrs.has("clip");
    clip_ = ctx.attrs.getFloat("clip");
    x_ = ops::toDoubleVector(ctx.operand(0));
    w_ = ops::toDoubleVector(ctx.operand(1));
    r_ = ops::toDoubleVector(ctx.operand(2));
    auto optional = [&](size_t i, int64_t n) {
      return ctx.has(i) ? ops::toDoubleVector(ctx.operand(i))
                        : std::vector<double>(static_cast<size_t>(n), 0.0);
    };
    int64_t stateSize = d_.dirs * d_.batch * d_.hidden;
    b_ = optional(3, d_.dirs * 2 * G_ * d_.hidden);
    h0_ = optional(4, stateSize);
    if (cell == Cell::Lstm) {
      c0_ = optional(5, stateSize);
      p_ = optional(6, d_.dirs * 3 * d_.hidden);
    }
  }

  absl::StatusOr<std::vector<Tensor>> run() {
    int64_t H = d_.hidden;
    y_.assign(static_cast<size_t>(d_.seq * d_.dirs * d_.batch * H), 0.0);
    yh_.assign(h0_.size(), 0.0);
    yc_.assign(h0_.size(), 0.0);
    for (int64_t dir = 0; dir < d_.dirs; ++dir)
      runDirection(dir, direction_ == "reverse" || dir == 1);
    std::vector<Tensor> results;
    for (auto [values, type] :
         {std::pair{&y_, &ctx_.resultTypes[0]},
          std::pair{&yh_, &ctx_.resultTypes[1]}}) {
      absl::StatusOr<Tensor> t = ops::tensorFromDoubles(*type, *values);
      if (!t.ok())
        return t.status();
      results.push_back(std::move(*t));
    }
    if (cell_ == Cell::Lstm) {
      absl::StatusOr<Tensor> t = ops::tensorFromDoubles(ctx_.resultTypes[2], yc_);
      if (!t.ok())
        return t.status();
      results.push_back(std::move(*t));
    }
    return results;
  }

private:
  double clip(double v) const {
    return hasClip_ ? std::clamp(v, -clip_, clip_) : v;
  }
  double act(double v) const { return std::tanh(clip(v)); }
  double gate(double v) const { return sigmoid(clip(v)); }

  int64_t xIndex(int64_t t, int64_t b) const {
    return (d_.layout1 ? b * d_.seq + t : t * d_.batch + b) * d_.input;
  }
  int64_t stateIndex(int64_t dir, int64_t b) const {
    return (d_.layout1 ? b * d_.dirs + dir : dir * d_.batch + b) * d_.hidden;
  }
  int64_t yIndex(int64_t t, int64_t dir, int64_t b) const {
    return (d_.layout1 ? (b * d_.seq + t) * d_.dirs + dir
                       : (t * d_.dirs + dir) * d_.batch + b) *
           d_.hidden;
  }

  /// out[j] = bias[j] + sum_k m[j, k] * v[k] for j < rows.
  static void matVec(const double *m, const double *v, const double *bias,
                     int64_t rows, int64_t cols, double *out) {
    for (int64_t j = 0; j < rows; ++j) {
      double s = bias[j];
      const double *row = m + j * cols;
      for (int64_t k = 0; k < cols; ++k)
        s += row[k] * v[k];
      out[j] = s;
    }
  }

  void runDirection(int64_t dir, bool reverse) {
    int64_t H = d_.hidden, I = d_.input, GH = G_ * H;
    const double *W = w_.data() + dir * GH * I;
    const double *R = r_.data() + dir * GH * H;
    const double *Wb = b_.data() + dir * 2 * GH;
    const double *Rb = Wb + GH;
    const double *P = cell_ == Cell::Lstm ? p_.data() + dir * 3 * H : nullptr;
    bool inputForget = ctx_.attrs.getInt("input_forget") != 0;
    bool lbr = ctx_.attrs.getInt("linear_before_reset") != 0;
    std::string activation = ctx_.attrs.getString("activation", "tanh");

    std::vector<double> xw(GH), hr(GH), h(H), c(H), hNew(H), rh(H);
    std::vector<double> zero(GH, 0.0);
    for (int64_t b = 0; b < d_.batch; ++b) {
      int64_t s = stateIndex(dir, b);
      std::copy(h0_.begin() + s, h0_.begin() + s + H, h.begin());
      if (cell_ == Cell::Lstm)
        std::copy(c0_.begin() + s, c0_.begin() + s + H, c.begin());
      for (int64_t step = 0; step < d_.seq; ++step) {
        int64_t t = reverse ? d_.seq - 1 - step : step;
        matVec(W, x_.data() + xIndex(t, b), Wb, GH, I, xw.data());
        switch (cell_) {
        case Cell::Lstm: {
          matVec(R, h.data(), Rb, GH, H, hr.data());
          // Gates i, o, f, c at offsets 0, H, 2H, 3H; peepholes i, o, f.
          for (int64_t j = 0; j < H; ++j) {
            double i = gate(xw[j] + hr[j] + P[j] * c[j]);
            double f = inputForget
                           ? 1.0 - i
                           : gate(xw[2 * H + j] + hr[2 * H + j] + P[2 * H + j] * c[j]);
            double cc = act(xw[3 * H + j] + hr[3 * H + j]);
            double cNew = f * c[j] + i * cc;
            double o = gate(xw[H + j] + hr[H + j] + P[H + j] * cNew);
            c[j] = cNew;
            hNew[j] = o * act(cNew);
          }
          break;
        }
        case Cell::Gru: {
          // Gates z, r, h at offsets 0, H, 2H.
          matVec(R, h.data(), Rb, 2 * H, H, hr.data());
          std::vector<double> z(H), r(H);
          for (int64_t j = 0; j < H; ++j) {
            z[j] = gate(xw[j] + hr[j]);
            r[j] = gate(xw[H + j] + hr[H + j]);
          }
          if (lbr) {
            matVec(R + 2 * H * H, h.data(), Rb + 2 * H, H, H, hr.data() + 2 * H);
            for (int64_t j = 0; j < H; ++j)
              hNew[j] = act(xw[2 * H + j] + r[j] * hr[2 * H + j]);
          } else {
            for (int64_t j = 0; j < H; ++j)
              rh[j] = r[j] * h[j];
            matVec(R + 2 * H * H, rh.data(), Rb + 2 * H, H, H, hr.data() + 2 * H);
            for (int64_t j = 0; j < H; ++j)
              hNew[j] = act(xw[2 * H + j] + hr[2 * H + j]);
          }
          for (int64_t j = 0; j < H; ++j)
            hNew[j] = (1.0 - z[j]) * hNew[j] + z[j] * h[j];
          break;
        }
        case Cell::Rnn: {
          matVec(R, h.data(), Rb, H, H, hr.data());
          for (int64_t j = 0; j < H; ++j) {
            double v = clip(xw[j] + hr[j]);
            hNew[j] = activation == "relu"      ? std::max(v, 0.0)
                      : activation == "sigmoid" ? sigmoid(v)
                                                : std::tanh(v);
          }
          break;
        }
        }
        h = hNew;
        std::copy(h.begin(), h.end(), y_.begin() + yIndex(t, dir, b));
      }
      std::copy(h.begin(), h.end(), yh_.begin() + s);
      if (cell_ == Cell::Lstm)
        std::copy(c.begin(), c.end(), yc_.begin() + s);
    }
  }

  const EvalContext &ctx_;
  Cell cell_;
  RnnDims d_;
  int64_t G_;
  std::string direction_;
  bool hasClip_;
  double clip_;
  std::vector<double> x_, w_, r_, b_, h0_, c0_, p_;
  std::vector<double> y_, yh_, yc_;
};

} // namespace

absl::Status inferLstm(InferContext &ctx) {
  return inferRecurrent(ctx, Cell::Lstm);
}

absl::Status inferGru(InferContext &ctx) {
  return inferRecurrent(ctx, Cell::Gru);
}

absl::Status inferRnn(InferContext &ctx) {
  return inferRecurrent(ctx, Cell::Rnn);
}

absl::StatusOr<std::vector<Tensor>> evalLstm(const EvalContext &ctx) {
  if (absl::Status s = ops::checkEvalTypes(ctx); !s.ok())
    return s;
  return Recurrence(ctx, Cell::Lstm).run();
}

absl::StatusOr<std::vector<Tensor>> evalGru(const EvalContext &ctx) {
  if (absl::Status s = ops::checkEvalTypes(ctx); !s.ok())
    return s;
  return Recurrence(ctx, Cell::Gru).run();
}

absl::StatusOr<std::vector<Tensor>> evalRnn(const EvalContext &ctx) {
  if (absl::Status s = ops::checkEvalTypes(ctx); !s.ok())
    return s;
  return Recurrence(ctx, Cell::Rnn).run();
}

} // namespace tcpu

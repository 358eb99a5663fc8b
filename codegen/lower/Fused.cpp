//===- Fused.cpp - Lowering of fused ops --------------------------------------===//
//
// kind "elementwise": one loop nest over the result (emitElementwiseLoop:
// dims coalesced, <W x T> vectors with a scalar remainder, every operand with
// its own broadcast strides). At each vector the body's ops run on values in
// registers (emitElementwiseOp, the same code as each op's own kernel) and
// the result is stored once: no intermediate buffers. Between body ops a
// value is kept in its memory form, so an f16/bf16 intermediate is rounded
// as the interpreter rounds it, and each op gets its operands in the form
// its own kernel would load them. Large nests run on the model's threads,
// as single elementwise ops do (lower/Elementwise.cpp).
//
// kind "epilogue": the first body op's kernel (conv2d: lower/Conv.cpp; the
// GEMM ops: one emitGemmFunction call here) with the rest of the body
// applied to every vector of results before it is stored. The other
// operands of those ops are read at the result's (row, col) through
// FusionUtils' epilogueAccess; their base pointers (offset for the conv's
// image and channel group) go in a small table whose address the GEMM
// passes through its `residual` argument to the hook (GemmEpilogue::custom).
// Convs of one GEMM shape and one epilogue code share the GEMM function.
// Numerics are the ops' own: the epilogue ops compute exactly what their
// kernels would on the stored GEMM/conv result.
//
//===----------------------------------------------------------------------===//
#include "codegen/Gemm.h"
#include "codegen/Lowering.h"
#include "codegen/lower/Elementwise.h"
#include "codegen/lower/Epilogue.h"
#include "codegen/lower/LowPrecision.h"
#include "codegen/lower/Prepack.h"
#include "passes/FusionUtils.h"

#include "llvm/IR/Constants.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <unordered_map>

namespace tcpu {

namespace {

// ----- kind "elementwise" ---------------------------------------------------

/// `x` (a value in memory form) as operand `k` of an op with signature
/// `sig`.
llvm::Value *toOperandForm(llvm::IRBuilder<> &b, llvm::Value *x,
                           const ElementwiseSignature &sig, size_t k) {
  if (k < sig.dtypes.size() && lowp::isHalf(sig.dtypes[k]))
    return lowp::widen(b, x, sig.dtypes[k]);
  llvm::Type *want = vmath::withElement(x, sig.operandTypes[k]);
  return x->getType() == want ? x : b.CreateBitCast(x, want);
}

/// An op's result `r` (register form) in memory form of dtype t.
llvm::Value *toMemoryForm(LoweringContext &ctx, llvm::Value *r, DType t,
                          const ElementwiseSignature &sig) {
  llvm::IRBuilder<> &b = ctx.b();
  size_t k = sig.operandTypes.size();
  if (k < sig.dtypes.size() && lowp::isHalf(sig.dtypes[k]))
    r = lowp::narrow(b, r, sig.dtypes[k]);
  llvm::Type *want = vmath::withElement(r, lowp::storageType(ctx, t));
  return r->getType() == want ? r : b.CreateBitCast(r, want);
}

absl::Status lowerElementwiseBody(const Op &op, const Graph &body,
                                  LoweringContext &ctx) {
  // Every op's signature first: an op without a lowering makes the whole
  // fused op Unimplemented before anything is emitted.
  std::vector<ElementwiseSignature> sigs;
  for (const auto &bop : body.ops()) {
    absl::StatusOr<ElementwiseSignature> sig = elementwiseSignature(*bop, ctx);
    if (!sig.ok())
      return sig.status();
    sigs.push_back(std::move(*sig));
  }
  std::vector<llvm::Type *> types;
  for (const Value *v : op.operands)
    types.push_back(lowp::storageType(ctx, v->type.dtype));
  const Value *output = body.outputs()[0].value;
  absl::Status status;
  emitElementwiseLoop(
      ctx, types, lowp::storageType(ctx, op.result(0)->type.dtype),
      [&](llvm::ArrayRef<llvm::Value *> args) -> llvm::Value * {
        std::unordered_map<const Value *, llvm::Value *> values;
        for (size_t k = 0; k < args.size(); ++k)
          values[body.inputs()[k]] = args[k];
        size_t i = 0;
        for (const auto &bop : body.ops()) {
          const ElementwiseSignature &sig = sigs[i++];
          std::vector<llvm::Value *> in;
          for (size_t k = 0; k < bop->operands.size(); ++k) {
            const Value *v = bop->operands[k];
            in.push_back(toOperandForm(ctx.b(), values.at(v), sig, k));
          }
          absl::StatusOr<llvm::Value *> r = emitElementwiseOp(*bop, ctx, in);
          if (!r.ok()) {
            status.Update(r.status());
            return args.empty() ? nullptr : args[0];
          }
          values[bop->result(0)] =
              toMemoryForm(ctx, *r, bop->result(0)->type.dtype, sig);
        }
        return values.at(output);
      });
  return status;
}

// ----- kind "epilogue" ------------------------------------------------------

/// The body ops after the anchor, applied to a vector of anchor results.
struct Epilogue {
  const Op *anchor = nullptr;
  std::vector<const Op *> steps;
  /// An operand read at (row, col): a body input, the fused operand it is,
  /// and how it is addressed.
  struct Slot {
    const Value *input;
    int operand;
    EpilogueAccess access;
  };
  std::vector<Slot> slots;
  /// gemm's C: added first (beta is 1), a slot index or -1.
  int gemmC = -1;
  /// Fused operand index of each body input.
  std::unordered_map<const Value *, int> operandOf;
};

absl::StatusOr<Epilogue> planEpilogue(const Graph &body, LoweringContext &ctx) {
  Epilogue e;
  for (size_t k = 0; k < body.inputs().size(); ++k)
    e.operandOf[body.inputs()[k]] = static_cast<int>(k);
  e.anchor = body.ops().front().get();
  auto slotOf = [&](const Value *v) -> absl::StatusOr<int> {
    for (size_t s = 0; s < e.slots.size(); ++s)
      if (e.slots[s].input == v)
        return static_cast<int>(s);
    std::optional<EpilogueAccess> a = epilogueAccess(*e.anchor, v->type.shape);
    if (!a || v->type.dtype != DType::F32)
      return absl::UnimplementedError("fused epilogue operand " + v->type.str() +
                                      " cannot be read at the GEMM's store");
    e.slots.push_back({v, e.operandOf.at(v), *a});
    return static_cast<int>(e.slots.size() - 1);
  };
  const Value *chain = e.anchor->result(0);
  for (const auto &op : body.ops()) {
    if (op.get() == e.anchor)
      continue;
    for (const Value *v : op->operands)
      if (v != chain) {
        absl::StatusOr<int> s = slotOf(v);
        if (!s.ok())
          return s.status();
      }
    if (op->result(0)->type.dtype != DType::F32)
      return absl::UnimplementedError("fused epilogue ops are lowered for f32");
    if (absl::StatusOr<ElementwiseSignature> sig =
            elementwiseSignature(*op, ctx);
        !sig.ok())
      return sig.status();
    e.steps.push_back(op.get());
    chain = op->result(0);
  }
  if (e.anchor->kind() == OpKind::Gemm && e.anchor->operand(2)) {
    if (e.anchor->attrs.getFloat("beta", 1.0) != 1.0)
      return absl::UnimplementedError("fused gemm with beta != 1");
    absl::StatusOr<int> s = slotOf(e.anchor->operand(2));
    if (!s.ok())
      return s.status();
    e.gemmC = *s;
  }
  return e;
}

/// A name for the code `apply` emits (ops, attributes, slot addressing), so
/// that equal epilogues share a GEMM function.
std::string epilogueKey(const Epilogue &e) {
  std::string text;
  for (const Epilogue::Slot &s : e.slots)
    text += "s" + std::to_string(s.access.rowStride) + "," +
            std::to_string(s.access.colStride) + ";";
  text += "c" + std::to_string(e.gemmC) + ";";
  for (const Op *op : e.steps) {
    text += std::string(op->mnemonic());
    for (const Value *v : op->operands) {
      int slot = -1;
      for (size_t s = 0; s < e.slots.size(); ++s)
        if (e.slots[s].input == v)
          slot = static_cast<int>(s);
      text += " " + std::to_string(slot);
    }
    for (const auto &[name, value] : op->attrs)
      text += " " + name + "=" + attrValueToString(value);
    text += ";";
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "e%016zx", std::hash<std::string>()(text));
  return buf;
}

/// Emits the steps on `v` at (row, col) with `b`; `table` holds the slots'
/// base pointers. The ops' code is emitted with ctx's builder, moved to
/// where `b` is (a GEMM micro-kernel or ctx's own kernel) and back.
llvm::Value *applyEpilogue(LoweringContext &ctx, const Epilogue &e,
                           llvm::IRBuilderBase &b, llvm::Value *v,
                           llvm::Value *row, llvm::Value *col,
                           llvm::Value *mask, llvm::Value *table,
                           absl::Status &status) {
  llvm::IRBuilder<> &cb = ctx.b();
  bool own = &b == static_cast<llvm::IRBuilderBase *>(&cb);
  llvm::IRBuilderBase::InsertPoint saved = cb.saveIP();
  if (!own)
    cb.SetInsertPoint(b.GetInsertBlock(), b.GetInsertPoint());
  llvm::Type *f32 = cb.getFloatTy(), *ptrTy = cb.getPtrTy();
  auto *vt = llvm::dyn_cast<llvm::FixedVectorType>(v->getType());
  int width = vt ? static_cast<int>(vt->getNumElements()) : 1;
  std::vector<llvm::Value *> loaded(e.slots.size(), nullptr);
  auto load = [&](int s) {
    if (loaded[s])
      return loaded[s];
    const EpilogueAccess &a = e.slots[s].access;
    llvm::Value *base = cb.CreateAlignedLoad(
        ptrTy, cb.CreateConstGEP1_64(ptrTy, table, s), llvm::Align(8));
    llvm::Value *off = cb.CreateMul(row, cb.getInt64(a.rowStride));
    if (a.colStride != 0)
      off = cb.CreateAdd(off, col);
    llvm::Value *p = cb.CreateGEP(f32, base, off);
    llvm::Value *x;
    if (a.colStride == 0 || !vt) {
      x = cb.CreateAlignedLoad(f32, p, llvm::Align(4));
      if (vt)
        x = cb.CreateVectorSplat(width, x);
    } else if (!mask) {
      x = cb.CreateAlignedLoad(vt, p, llvm::Align(4));
    } else {
      x = cb.CreateMaskedLoad(vt, p, llvm::Align(4), mask,
                              llvm::Constant::getNullValue(vt));
    }
    return loaded[s] = x;
  };
  if (e.gemmC >= 0)
    v = cb.CreateFAdd(v, load(e.gemmC));
  for (const Op *op : e.steps) {
    std::vector<llvm::Value *> args;
    for (const Value *x : op->operands) {
      int slot = -1;
      for (size_t s = 0; s < e.slots.size(); ++s)
        if (e.slots[s].input == x)
          slot = static_cast<int>(s);
      args.push_back(slot < 0 ? v : load(slot));
    }
    absl::StatusOr<llvm::Value *> r = emitElementwiseOp(*op, ctx, args);
    if (!r.ok()) {
      status.Update(r.status());
      break;
    }
    v = *r;
  }
  if (!own) {
    b.SetInsertPoint(cb.GetInsertBlock(), cb.GetInsertPoint());
    cb.restoreIP(saved);
  }
  return v;
}

/// The table of slot base pointers for image n, group g and pixels from
/// `first` on (conv), in an entry-block alloca of the function being
/// emitted (the kernel, or its outlined parallel body, where operandPtr
/// gives that function's copies). Slots that vary along pixels start at
/// `first`; per-channel ones do not move.
struct Table {
  llvm::Value *storage = nullptr;
  llvm::Value *build(LoweringContext &ctx, const Epilogue &e, llvm::Value *n,
                     llvm::Value *g, llvm::Value *first, int64_t groupRows) {
    llvm::IRBuilder<> &b = ctx.b();
    // One table per function: a parallel loop body is a function of its own.
    if (storage && llvm::cast<llvm::Instruction>(storage)->getFunction() !=
                       ctx.function())
      storage = nullptr;
    if (!storage) {
      llvm::BasicBlock &entry = ctx.function()->getEntryBlock();
      llvm::IRBuilder<> eb(&entry, entry.begin());
      storage = eb.CreateAlloca(
          llvm::ArrayType::get(b.getPtrTy(),
                               std::max<size_t>(1, e.slots.size())));
    }
    for (size_t s = 0; s < e.slots.size(); ++s) {
      const EpilogueAccess &a = e.slots[s].access;
      llvm::Value *off = b.CreateAdd(
          b.CreateMul(n, ctx.i64(a.imageStride)),
          b.CreateMul(g, ctx.i64(groupRows * a.rowStride)));
      if (a.colStride != 0)
        off = b.CreateAdd(off, first);
      llvm::Value *p = b.CreateGEP(b.getFloatTy(),
                                   ctx.operandPtr(e.slots[s].operand), off);
      b.CreateAlignedStore(p, b.CreateConstGEP2_32(
                                  llvm::ArrayType::get(b.getPtrTy(),
                                                       std::max<size_t>(
                                                           1, e.slots.size())),
                                  storage, 0, static_cast<unsigned>(s)),
                           llvm::Align(8));
    }
    return storage;
  }
};

absl::Status lowerConvEpilogue(const Epilogue &e, LoweringContext &ctx) {
  const Op &conv = *e.anchor;
  auto table = std::make_shared<Table>();
  auto status = std::make_shared<absl::Status>();
  int64_t groups = conv.attrs.getInt("groups", 1);
  int64_t groupRows = conv.result(0)->type.shape[1] / std::max<int64_t>(1, groups);
  ConvEpilogue ce;
  for (const Value *v : conv.operands)
    ce.operands.push_back(v ? e.operandOf.at(v) : -1);
  ce.prepare = [&ctx, &e, table, groupRows](llvm::Value *n, llvm::Value *g,
                                            llvm::Value *first) {
    return table->build(ctx, e, n, g, first, groupRows);
  };
  ce.apply = [&ctx, &e, status](llvm::IRBuilderBase &b, llvm::Value *v,
                                llvm::Value *row, llvm::Value *col,
                                llvm::Value *mask, llvm::Value *data) {
    return applyEpilogue(ctx, e, b, v, row, col, mask, data, *status);
  };
  for (const Epilogue::Slot &slot : e.slots)
    ce.readOperands.push_back(slot.operand);
  ce.key = epilogueKey(e);
  absl::Status s = lowerConv2dWithEpilogue(conv, ctx, ce);
  return s.ok() ? *status : s;
}

/// linear, matmul (2-D rhs) or gemm as one GEMM with the epilogue at its
/// store.
absl::Status lowerGemmEpilogue(const Epilogue &e, LoweringContext &ctx) {
  const Op &a = *e.anchor;
  for (const Value *v : a.operands)
    if (v && v->type.dtype != DType::F32)
      return absl::UnimplementedError("fused epilogue of non-f32 '" +
                                      std::string(a.mnemonic()) + "'");
  const TensorType &y = a.result(0)->type;
  GemmShape s;
  GemmEpilogue ge;
  int bias = -1;
  const TensorType &x = a.operand(0)->type, &w = a.operand(1)->type;
  switch (a.kind()) {
  case OpKind::Linear:
    s.K = w.shape[1];
    s.N = w.shape[0];
    s.M = s.K > 0 ? x.numElements() / s.K : 0;
    s.transB = true;
    if (a.operand(2)) {
      ge.bias = GemmEpilogue::Bias::PerColumn;
      bias = e.operandOf.at(a.operand(2));
    }
    break;
  case OpKind::Matmul: // batches of the lhs fold into M
    if (x.rank() < 2 || w.rank() != 2)
      return absl::UnimplementedError("fused epilogue of a batched matmul");
    s.K = w.shape[0];
    s.N = w.shape[1];
    s.M = s.K > 0 ? x.numElements() / s.K : 0;
    break;
  case OpKind::Gemm:
    s.transA = a.attrs.getInt("trans_a") != 0;
    s.transB = a.attrs.getInt("trans_b") != 0;
    s.M = y.shape[0];
    s.N = y.shape[1];
    s.K = s.transA ? x.shape[0] : x.shape[1];
    s.alpha = static_cast<float>(a.attrs.getFloat("alpha", 1.0));
    break;
  default:
    return absl::InternalError("not an epilogue anchor");
  }
  if (s.M <= 0 || s.N <= 0 || s.K <= 0)
    return absl::UnimplementedError("fused epilogue of an empty product");
  absl::Status status;
  ge.custom = [&](llvm::IRBuilderBase &b, llvm::Value *v, llvm::Value *row,
                  llvm::Value *col, llvm::Value *mask, llvm::Value *data) {
    return applyEpilogue(ctx, e, b, v, row, col, mask, data, status);
  };
  // GEMMs of one shape and equal epilogue code share their core.
  ge.customKey = epilogueKey(e);
  // Constant (weight) operands are packed once, at compile time, unless
  // something else reads them as they are (the other factor, the bias, the
  // epilogue).
  const int opA = e.operandOf.at(a.operand(0));
  const int opB = e.operandOf.at(a.operand(1));
  auto onlyFactor = [&](int i, int other) {
    if (i == other || i == bias)
      return false;
    for (const Epilogue::Slot &slot : e.slots)
      if (slot.operand == i)
        return false;
    return true;
  };
  GemmOptions o;
  o.prepackedA = prepackable(ctx, opA, s.M * s.K) && onlyFactor(opA, opB);
  o.prepackedB = prepackable(ctx, opB, s.K * s.N) && onlyFactor(opB, opA);
  absl::StatusOr<GemmKernel> kernel =
      emitGemmFunction(ctx.module(), ctx.target(), s, ge,
                       ctx.function()->getName().str() + ".gemm", o);
  if (!kernel.ok())
    return kernel.status();
  if (!status.ok())
    return status;
  if (o.prepackedA)
    prepackOperand(ctx, opA, /*asA=*/true, s, kernel->blocking);
  if (o.prepackedB)
    prepackOperand(ctx, opB, /*asA=*/false, s, kernel->blocking);
  Table table;
  llvm::IRBuilder<> &b = ctx.b();
  llvm::Value *null = llvm::ConstantPointerNull::get(b.getPtrTy());
  llvm::Value *data =
      table.build(ctx, e, ctx.i64(0), ctx.i64(0), ctx.i64(0), 0);
  b.CreateCall(kernel->function,
               {ctx.operandPtr(opA), ctx.operandPtr(opB), ctx.resultPtr(0),
                bias >= 0 ? ctx.operandPtr(bias) : null, data, null});
  ctx.finish();
  return absl::OkStatus();
}

} // namespace

absl::Status lowerFused(const Op &op, LoweringContext &ctx) {
  const Graph *body = op.attrs.getGraph("body");
  if (!body || body->ops().empty())
    return absl::InternalError("'fused' without a body");
  if (op.attrs.getString("kind", "elementwise") == "elementwise")
    return lowerElementwiseBody(op, *body, ctx);
  absl::StatusOr<Epilogue> e = planEpilogue(*body, ctx);
  if (!e.ok())
    return e.status();
  if (e->anchor->kind() == OpKind::Conv2d)
    return lowerConvEpilogue(*e, ctx);
  return lowerGemmEpilogue(*e, ctx);
}

} // namespace tcpu

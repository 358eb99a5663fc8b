//===- Lowering.cpp - Lowering ops to LLVM IR: context and dispatch -------===//
#include "codegen/Lowering.h"
#include "codegen/TestingHooks.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/DerivedTypes.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/MDBuilder.h"

#include <array>
#include <atomic>

namespace tcpu {

LoweringContext::LoweringContext(llvm::Module &module,
                                 const TargetDescription &target, const Op &op,
                                 const std::string &name)
    : module_(module), target_(target), op_(op), builder_(module.getContext()) {
  llvm::LLVMContext &c = module.getContext();
  auto *fnType = llvm::FunctionType::get(llvm::Type::getInt32Ty(c),
                                         {llvm::PointerType::get(c, 0)}, false);
  function_ = llvm::Function::Create(fnType, llvm::Function::ExternalLinkage,
                                     name, module);
  function_->addFnAttr(llvm::Attribute::NoUnwind);
  function_->getArg(0)->setName("buffers");
  buffers_ = function_->getArg(0);
  entry_ = llvm::BasicBlock::Create(c, "entry", function_);
  builder_.SetInsertPoint(entry_);
}

int LoweringContext::vectorWidth() const {
  return target_.f32VectorWidth > 0 ? target_.f32VectorWidth : 1;
}

llvm::Value *LoweringContext::bufferPtr(size_t slot) {
  // Loaded where first asked for; kernels ask before their loops, and LICM
  // would hoist it anyway.
  llvm::Value *addr = builder_.CreateConstInBoundsGEP1_64(
      builder_.getPtrTy(), buffers_, slot);
  auto *load = builder_.CreateLoad(builder_.getPtrTy(), addr,
                                   "buf" + std::to_string(slot));
  load->setMetadata(llvm::LLVMContext::MD_nonnull,
                    llvm::MDNode::get(builder_.getContext(), {}));
  return load;
}

llvm::Value *LoweringContext::operandPtr(size_t i) { return bufferPtr(i); }

llvm::Value *LoweringContext::resultPtr(size_t j) {
  return bufferPtr(op_.operands.size() + j);
}

const Tensor *LoweringContext::constantOperand(size_t i) const {
  if (i >= op_.operands.size() || !op_.operands[i])
    return nullptr;
  const Op *def = op_.operands[i]->definingOp();
  return def && def->kind() == OpKind::Constant ? def->constantValue()
                                                : nullptr;
}

void LoweringContext::replaceOperand(
    size_t i, std::shared_ptr<const PackedConstant> data) {
  replaced_[i] = std::move(data);
}

std::optional<llvm::Type *> LoweringContext::scalarType(DType t) {
  switch (t) {
  case DType::F32:
    return builder_.getFloatTy();
  case DType::I8:
  case DType::U8:
  case DType::Bool:
    return builder_.getInt8Ty();
  case DType::I32:
    return builder_.getInt32Ty();
  case DType::I64:
    return builder_.getInt64Ty();
  case DType::F16:
  case DType::BF16:
    return std::nullopt;
  }
  return std::nullopt;
}

llvm::Type *LoweringContext::vectorOf(llvm::Type *scalar, int lanes) {
  if (lanes == 1)
    return scalar;
  return llvm::FixedVectorType::get(scalar, lanes);
}

void LoweringContext::emitLoop(int64_t begin, int64_t end, int64_t step,
                               const std::function<void(llvm::Value *)> &body,
                               const std::string &name) {
  if (begin >= end)
    return;
  if (begin + step >= end) {
    body(i64(begin));
    return;
  }
  llvm::LLVMContext &c = builder_.getContext();
  llvm::BasicBlock *pre = builder_.GetInsertBlock();
  llvm::BasicBlock *loop = llvm::BasicBlock::Create(c, name + ".loop", function_);
  llvm::BasicBlock *exit = llvm::BasicBlock::Create(c, name + ".exit", function_);
  builder_.CreateBr(loop);
  builder_.SetInsertPoint(loop);
  llvm::PHINode *iv = builder_.CreatePHI(builder_.getInt64Ty(), 2, name);
  iv->addIncoming(i64(begin), pre);
  body(iv);
  llvm::Value *next = builder_.CreateAdd(iv, i64(step), name + ".next",
                                         /*HasNUW=*/true, /*HasNSW=*/true);
  iv->addIncoming(next, builder_.GetInsertBlock());
  builder_.CreateCondBr(builder_.CreateICmpSLT(next, i64(end)), loop, exit);
  builder_.SetInsertPoint(exit);
}

llvm::Value *LoweringContext::load(llvm::Type *type, llvm::Type *elem,
                                   llvm::Value *base, llvm::Value *index) {
  llvm::Value *addr = builder_.CreateInBoundsGEP(elem, base, index);
  return builder_.CreateAlignedLoad(
      type, addr, module_.getDataLayout().getABITypeAlign(elem));
}

void LoweringContext::store(llvm::Value *value, llvm::Type *elem,
                            llvm::Value *base, llvm::Value *index) {
  llvm::Value *addr = builder_.CreateInBoundsGEP(elem, base, index);
  builder_.CreateAlignedStore(value, addr,
                              module_.getDataLayout().getABITypeAlign(elem));
}

namespace {

llvm::Value *perLane(llvm::IRBuilder<> &b, llvm::Value *x,
                     const std::function<llvm::Value *(llvm::Value *)> &f) {
  auto *vt = llvm::dyn_cast<llvm::FixedVectorType>(x->getType());
  if (!vt)
    return f(x);
  llvm::Value *out = llvm::PoisonValue::get(vt);
  for (unsigned i = 0; i < vt->getNumElements(); ++i)
    out = b.CreateInsertElement(out, f(b.CreateExtractElement(x, i)), i);
  return out;
}

} // namespace

llvm::Value *LoweringContext::callLibm(const std::string &name, llvm::Value *x) {
  llvm::Type *d = builder_.getDoubleTy();
  llvm::FunctionCallee fn = module_.getOrInsertFunction(
      name, llvm::FunctionType::get(d, {d}, false));
  return perLane(builder_, x,
                 [&](llvm::Value *v) { return builder_.CreateCall(fn, {v}); });
}

llvm::Value *LoweringContext::callLibm2(const std::string &name, llvm::Value *x,
                                        llvm::Value *y) {
  llvm::Type *d = builder_.getDoubleTy();
  llvm::FunctionCallee fn = module_.getOrInsertFunction(
      name, llvm::FunctionType::get(d, {d, d}, false));
  auto *vt = llvm::dyn_cast<llvm::FixedVectorType>(x->getType());
  if (!vt)
    return builder_.CreateCall(fn, {x, y});
  llvm::Value *out = llvm::PoisonValue::get(vt);
  for (unsigned i = 0; i < vt->getNumElements(); ++i)
    out = builder_.CreateInsertElement(
        out,
        builder_.CreateCall(fn, {builder_.CreateExtractElement(x, i),
                                 builder_.CreateExtractElement(y, i)}),
        i);
  return out;
}

void LoweringContext::finish() { builder_.CreateRet(builder_.getInt32(0)); }

void LoweringContext::failIf(llvm::Value *condition, KernelError code) {
  failWith(condition, builder_.getInt32(static_cast<int32_t>(code)));
}

void LoweringContext::failWith(llvm::Value *condition, llvm::Value *code) {
  llvm::LLVMContext &c = builder_.getContext();
  auto *fail = llvm::BasicBlock::Create(c, "fail", function_);
  auto *cont = llvm::BasicBlock::Create(c, "ok", function_);
  builder_.CreateCondBr(condition, fail, cont,
                        llvm::MDBuilder(c).createBranchWeights(1, 1 << 20));
  builder_.SetInsertPoint(fail);
  if (errorSlot_) {
    // A parallel body returns void: the task records its code (atomically,
    // other tasks may fail too) and stops; the kernel returns it after the
    // loop (emitParallelFor).
    builder_.CreateAlignedStore(code, errorSlot_, llvm::Align(4))
        ->setAtomic(llvm::AtomicOrdering::Monotonic);
    builder_.CreateRetVoid();
    errorSlotUsed_ = true;
  } else {
    builder_.CreateRet(code);
  }
  builder_.SetInsertPoint(cont);
}

const char *describeKernelError(int32_t code) {
  switch (static_cast<KernelError>(code)) {
  case KernelError::None:
    return "no error";
  case KernelError::IndexOutOfRange:
    return "an index is out of range";
  case KernelError::DivisionByZero:
    return "integer division by zero";
  case KernelError::ZeroToNegativePower:
    return "integer pow: zero raised to a negative power";
  }
  return "the kernel failed with an unknown code";
}

namespace {
/// The op kind testing::ForceInterpreterFallback sends to the interpreter,
/// or -1.
std::atomic<int> forcedFallback{-1};

absl::Status forcedUnimplemented(const Op &op, LoweringContext &) {
  return absl::UnimplementedError("'" + std::string(op.mnemonic()) +
                                  "' is sent to the interpreter by a test");
}
} // namespace

testing::ForceInterpreterFallback::ForceInterpreterFallback(OpKind kind) {
  forcedFallback = static_cast<int>(kind);
}
testing::ForceInterpreterFallback::~ForceInterpreterFallback() {
  forcedFallback = -1;
}

LowerFn loweringFor(OpKind kind) {
  static constexpr std::array<LowerFn, kNumOpKinds> table = {
#define OP(Kind, ...) &lower##Kind,
#include "ir/Ops.def"
  };
  if (forcedFallback.load(std::memory_order_relaxed) == static_cast<int>(kind))
    return &forcedUnimplemented;
  return table[static_cast<size_t>(kind)];
}

} // namespace tcpu

//===- ParallelLowering.cpp - Parallel loops in kernels --------------------===//
//
// LoweringContext::emitParallelFor: the body of a loop is outlined into
// `void <kernel>.par(ptr context, i64 first, i64 last)`, the function
// tcpu_parallel_for (runtime/CAbi.h) calls for tasks [first, last). The
// kernel stores the buffers array, the captured values and the chunk size
// into a context struct on its stack; the body reloads them. The context
// also holds an error code: a failIf in the body stores it there and ends
// its task, and the kernel checks it after the loop (only when the body has
// a failIf). The number of
// tasks is decided at run time from tcpu_num_threads(), so one kernel serves
// every thread count (the model's arena decides it, runtime/ModelArena.h).
//
//===----------------------------------------------------------------------===//
#include "codegen/Lowering.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/DerivedTypes.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/Intrinsics.h"
#include "llvm/IR/Metadata.h"

namespace tcpu {

void LoweringContext::emitLoop(llvm::Value *begin, llvm::Value *end,
                               int64_t step,
                               const std::function<void(llvm::Value *)> &body,
                               const std::string &name) {
  llvm::LLVMContext &c = builder_.getContext();
  llvm::BasicBlock *pre = builder_.GetInsertBlock();
  llvm::BasicBlock *loop = llvm::BasicBlock::Create(c, name + ".loop", function_);
  llvm::BasicBlock *exit = llvm::BasicBlock::Create(c, name + ".exit", function_);
  builder_.CreateCondBr(builder_.CreateICmpSLT(begin, end), loop, exit);
  builder_.SetInsertPoint(loop);
  llvm::PHINode *iv = builder_.CreatePHI(builder_.getInt64Ty(), 2, name);
  iv->addIncoming(begin, pre);
  body(iv);
  llvm::Value *next = builder_.CreateAdd(iv, i64(step), name + ".next",
                                         /*HasNUW=*/true, /*HasNSW=*/true);
  iv->addIncoming(next, builder_.GetInsertBlock());
  llvm::BranchInst *latch =
      builder_.CreateCondBr(builder_.CreateICmpSLT(next, end), loop, exit);
  // Neither vectorize nor unroll: these loops have explicit vectors or
  // calls in their bodies, and LLVM would only spend compile time on them
  // (runtime-unrolled copies of masked vector code, above all).
  llvm::Metadata *noVec[] = {
      llvm::MDString::get(c, "llvm.loop.vectorize.enable"),
      llvm::ConstantAsMetadata::get(llvm::ConstantInt::getFalse(c))};
  llvm::Metadata *noUnroll[] = {
      llvm::MDString::get(c, "llvm.loop.unroll.disable")};
  llvm::Metadata *ops[] = {nullptr, llvm::MDNode::get(c, noVec),
                           llvm::MDNode::get(c, noUnroll)};
  llvm::MDNode *id = llvm::MDNode::getDistinct(c, ops);
  id->replaceOperandWith(0, id);
  latch->setMetadata(llvm::LLVMContext::MD_loop, id);
  builder_.SetInsertPoint(exit);
}

void LoweringContext::emitParallelFor(
    int64_t n, int64_t grain, std::vector<llvm::Value *> &captured,
    const std::function<void(llvm::Value *, llvm::Value *)> &body) {
  if (n <= 0)
    return;
  grain = std::max<int64_t>(grain, 1);
  if (n <= grain) {
    body(i64(0), i64(n));
    return;
  }
  llvm::LLVMContext &c = builder_.getContext();
  llvm::Type *i64Ty = builder_.getInt64Ty(), *ptrTy = builder_.getPtrTy();

  // Context: buffers, chunk, error code, then the captured values.
  constexpr unsigned kFirstCaptured = 3;
  std::vector<llvm::Type *> fields = {ptrTy, i64Ty, builder_.getInt32Ty()};
  for (llvm::Value *v : captured)
    fields.push_back(v->getType());
  llvm::StructType *ctxTy = llvm::StructType::get(c, fields);
  llvm::AllocaInst *ctxMem;
  {
    llvm::IRBuilder<> eb(&function_->getEntryBlock(),
                         function_->getEntryBlock().begin());
    ctxMem = eb.CreateAlloca(ctxTy, nullptr, "par.ctx");
  }

  // Tasks: at most 4 per thread and at least `grain` indices each.
  const int64_t maxTasks = (n + grain - 1) / grain;
  llvm::Value *threads = builder_.CreateCall(
      module_.getOrInsertFunction("tcpu_num_threads",
                                  llvm::FunctionType::get(i64Ty, false)),
      {});
  llvm::Value *tasks = builder_.CreateBinaryIntrinsic(
      llvm::Intrinsic::smin, builder_.CreateMul(threads, i64(4)), i64(maxTasks));
  tasks = builder_.CreateBinaryIntrinsic(llvm::Intrinsic::smax, tasks, i64(1));
  // chunk = ceil(n / tasks); count = ceil(n / chunk).
  llvm::Value *chunk =
      builder_.CreateUDiv(builder_.CreateAdd(i64(n - 1), tasks), tasks);
  llvm::Value *count =
      builder_.CreateUDiv(builder_.CreateAdd(i64(n - 1), chunk), chunk);
  builder_.CreateStore(buffers_, builder_.CreateStructGEP(ctxTy, ctxMem, 0));
  builder_.CreateStore(chunk, builder_.CreateStructGEP(ctxTy, ctxMem, 1));
  llvm::Value *errorField = builder_.CreateStructGEP(ctxTy, ctxMem, 2);
  builder_.CreateStore(builder_.getInt32(0), errorField);
  for (size_t i = 0; i < captured.size(); ++i)
    builder_.CreateStore(captured[i], builder_.CreateStructGEP(
                                          ctxTy, ctxMem, kFirstCaptured + i));

  // The outlined body, with the kernel's function attributes.
  auto *bodyTy = llvm::FunctionType::get(builder_.getVoidTy(),
                                         {ptrTy, i64Ty, i64Ty}, false);
  llvm::Function *fn = llvm::Function::Create(
      bodyTy, llvm::Function::InternalLinkage,
      function_->getName() + ".par", module_);
  fn->addFnAttrs(llvm::AttrBuilder(c, function_->getAttributes().getFnAttrs()));
  builder_.CreateCall(
      module_.getOrInsertFunction(
          "tcpu_parallel_for",
          llvm::FunctionType::get(builder_.getVoidTy(), {i64Ty, ptrTy, ptrTy},
                                  false)),
      {count, fn, ctxMem});
  llvm::BasicBlock *after = builder_.GetInsertBlock();

  // Emit the body there.
  llvm::Function *savedFn = function_;
  llvm::BasicBlock *savedEntry = entry_;
  llvm::Value *savedBuffers = buffers_;
  llvm::Value *savedErrorSlot = errorSlot_;
  bool savedErrorSlotUsed = errorSlotUsed_;
  std::vector<llvm::Value *> savedCaptured = captured;
  function_ = fn;
  entry_ = llvm::BasicBlock::Create(c, "entry", fn);
  builder_.SetInsertPoint(entry_);
  llvm::Value *ctxArg = fn->getArg(0), *first = fn->getArg(1),
              *last = fn->getArg(2);
  auto field = [&](unsigned i) {
    return builder_.CreateLoad(fields[i],
                               builder_.CreateStructGEP(ctxTy, ctxArg, i));
  };
  buffers_ = field(0);
  llvm::Value *chunkIn = field(1);
  errorSlot_ = builder_.CreateStructGEP(ctxTy, ctxArg, 2);
  errorSlotUsed_ = false;
  for (size_t i = 0; i < captured.size(); ++i)
    captured[i] = field(kFirstCaptured + static_cast<unsigned>(i));
  emitLoop(first, last, 1, [&](llvm::Value *t) {
    llvm::Value *lo = builder_.CreateMul(t, chunkIn);
    llvm::Value *hi = builder_.CreateBinaryIntrinsic(
        llvm::Intrinsic::smin, builder_.CreateAdd(lo, chunkIn), i64(n));
    body(lo, hi);
  }, "task");
  builder_.CreateRetVoid();

  function_ = savedFn;
  entry_ = savedEntry;
  buffers_ = savedBuffers;
  captured = savedCaptured;
  bool bodyMayFail = errorSlotUsed_;
  errorSlot_ = savedErrorSlot;
  errorSlotUsed_ = savedErrorSlotUsed;
  builder_.SetInsertPoint(after);
  if (bodyMayFail) { // the tasks have joined: a plain load sees their codes
    llvm::Value *code = builder_.CreateLoad(builder_.getInt32Ty(), errorField);
    failWith(builder_.CreateICmpNE(code, builder_.getInt32(0)), code);
  }
}

} // namespace tcpu

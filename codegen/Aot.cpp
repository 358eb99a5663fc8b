//===- Aot.cpp - Ahead-of-time compilation of a whole model ----------------===//
//
// The kernels come from lowerGraph (codegen/ModuleBuilder.h), as in the JIT;
// this file adds the entry point that runs them in order, the constants,
// and emission through LLVM's TargetMachine for any registered target.
//
//===----------------------------------------------------------------------===//
#include "codegen/Aot.h"

#include "codegen/AotSupport.h"
#include "codegen/Lowering.h"
#include "codegen/ModuleBuilder.h"
#include "codegen/TargetMachine.h"
#include "ir/Verifier.h"
#include "runtime/AotRuntime.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/bit.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/MDBuilder.h"
#include "llvm/Support/raw_ostream.h"

#include <unordered_map>

namespace tcpu {

static_assert(static_cast<int32_t>(KernelError::IndexOutOfRange) ==
                  TCPU_ERROR_INDEX_OUT_OF_RANGE &&
              static_cast<int32_t>(KernelError::DivisionByZero) ==
                  TCPU_ERROR_DIVISION_BY_ZERO,
              "kernel error codes are part of the AOT C API");

namespace {

/// Builds `int32_t <prefix>_run(inputs, outputs, arena, weights)`.
class EntryBuilder {
public:
  EntryBuilder(llvm::Module &m, const Graph &graph, const LoweredGraph &g,
               const WeightsLayout *external)
      : m_(m), c_(m.getContext()), b_(c_), graph_(graph), g_(g),
        external_(external) {}

  llvm::Function *build(const std::string &name) {
    llvm::Type *ptr = b_.getPtrTy();
    auto *type = llvm::FunctionType::get(b_.getInt32Ty(), {ptr, ptr, ptr, ptr},
                                         false);
    fn_ = llvm::Function::Create(type, llvm::Function::ExternalLinkage, name, m_);
    fn_->addFnAttr(llvm::Attribute::NoUnwind);
    const char *argNames[] = {"inputs", "outputs", "arena", "weights"};
    for (unsigned i = 0; i < 4; ++i)
      fn_->getArg(i)->setName(argNames[i]);
    b_.SetInsertPoint(llvm::BasicBlock::Create(c_, "entry", fn_));
    checkArguments();
    runSteps();
    copyOutputs();
    b_.CreateRet(b_.getInt32(TCPU_OK));
    return fn_;
  }

private:
  llvm::Value *arg(unsigned i) { return fn_->getArg(i); }

  /// if (condition) return code;
  void failIf(llvm::Value *condition, llvm::Value *code, const char *what) {
    auto *fail = llvm::BasicBlock::Create(c_, std::string(what) + ".fail", fn_);
    auto *next = llvm::BasicBlock::Create(c_, std::string(what) + ".ok", fn_);
    b_.CreateCondBr(condition, fail, next,
                    llvm::MDBuilder(c_).createUnlikelyBranchWeights());
    b_.SetInsertPoint(fail);
    b_.CreateRet(code);
    b_.SetInsertPoint(next);
  }

  /// Loads the n pointers of `array` (argument i); null arrays and null
  /// pointers of non-empty tensors are TCPU_ERROR_INVALID_ARGUMENT.
  std::vector<llvm::Value *> loadPointers(unsigned i,
                                          const std::vector<int64_t> &bytes,
                                          const char *what) {
    std::vector<llvm::Value *> out;
    if (bytes.empty())
      return out;
    llvm::Value *invalid = b_.CreateIsNull(arg(i));
    failIf(invalid, b_.getInt32(TCPU_ERROR_INVALID_ARGUMENT), what);
    invalid = b_.getFalse();
    for (size_t k = 0; k < bytes.size(); ++k) {
      llvm::Value *p = b_.CreateLoad(
          b_.getPtrTy(), b_.CreateConstInBoundsGEP1_64(b_.getPtrTy(), arg(i), k),
          std::string(what) + "." + std::to_string(k));
      out.push_back(p);
      if (bytes[k] > 0)
        invalid = b_.CreateOr(invalid, b_.CreateIsNull(p));
    }
    failIf(invalid, b_.getInt32(TCPU_ERROR_INVALID_ARGUMENT), what);
    return out;
  }

  uint64_t targetOrder(uint64_t le) {
    return m_.getDataLayout().isBigEndian() ? llvm::byteswap(le) : le;
  }

  void checkArguments() {
    std::vector<int64_t> inBytes, outBytes;
    for (const Value *v : graph_.inputs())
      inBytes.push_back(v->type.byteSize());
    for (const GraphOutput &o : graph_.outputs())
      outBytes.push_back(o.value->type.byteSize());
    inputs_ = loadPointers(0, inBytes, "inputs");
    outputs_ = loadPointers(1, outBytes, "outputs");
    if (g_.plan.peakBytes > 0)
      failIf(b_.CreateIsNull(arg(2)), b_.getInt32(TCPU_ERROR_INVALID_ARGUMENT),
             "arena");
    if (!external_)
      return;
    // The weights file's header: its magic, size and fingerprint must be
    // the ones this object was compiled with.
    failIf(b_.CreateIsNull(arg(3)), b_.getInt32(TCPU_ERROR_WEIGHTS_MISSING),
           "weights");
    uint64_t magic = 0;
    for (int i = 7; i >= 0; --i)
      magic = magic << 8 | static_cast<unsigned char>(TCPU_WEIGHTS_MAGIC[i]);
    const uint64_t expected[3] = {magic, external_->fileBytes,
                                  external_->fingerprint};
    llvm::Value *wrong = b_.getFalse();
    for (int i = 0; i < 3; ++i) {
      llvm::Value *field = b_.CreateAlignedLoad(
          b_.getInt64Ty(), b_.CreateConstInBoundsGEP1_64(b_.getInt8Ty(), arg(3), 8 * i),
          llvm::Align(8));
      wrong = b_.CreateOr(wrong,
                          b_.CreateICmpNE(field, b_.getInt64(targetOrder(expected[i]))));
    }
    failIf(wrong, b_.getInt32(TCPU_ERROR_WEIGHTS_MISMATCH), "weights.header");
  }

  /// The data of constant k: a 64-byte aligned read-only global, or its
  /// offset in the weights file.
  llvm::Value *constant(int64_t k) {
    const Value *v = g_.constants[k];
    const Tensor &t = *v->definingOp()->constantValue();
    if (t.byteSize() == 0)
      return llvm::ConstantPointerNull::get(b_.getPtrTy());
    if (external_)
      return b_.CreateConstInBoundsGEP1_64(b_.getInt8Ty(), arg(3),
                                           external_->offsets[k]);
    return embed(globals_[k], t.data(), t.byteSize(),
                 "const." + (v->name.empty() ? std::to_string(k) : v->name));
  }

  /// Packed constant k (LoweredGraph::packedConstants), as constant() does.
  llvm::Value *packedConstant(int64_t k) {
    const PackedConstant &p = *g_.packedConstants[k];
    if (external_)
      return b_.CreateConstInBoundsGEP1_64(b_.getInt8Ty(), arg(3),
                                           external_->packedOffsets[k]);
    return embed(packedGlobals_[k], p.data(), p.bytes(),
                 "packed." + std::to_string(k));
  }

  /// `bytes` at `data` as a 64-byte aligned read-only global, created once
  /// (in `gv`).
  llvm::GlobalVariable *embed(llvm::GlobalVariable *&gv, const void *data,
                              int64_t bytes, const std::string &name) {
    if (gv)
      return gv;
    llvm::Constant *init = llvm::ConstantDataArray::getRaw(
        llvm::StringRef(static_cast<const char *>(data), bytes), bytes,
        b_.getInt8Ty());
    gv = new llvm::GlobalVariable(m_, init->getType(), /*isConstant=*/true,
                                  llvm::GlobalValue::PrivateLinkage, init, name);
    gv->setAlignment(llvm::Align(64));
    gv->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
    return gv;
  }

  /// The output argument holding output slot `slot`: the first graph output
  /// with that value.
  llvm::Value *outputSlot(int64_t slot) {
    const Value *v = g_.outputValues[slot];
    const auto &outs = graph_.outputs();
    for (size_t k = 0; k < outs.size(); ++k)
      if (outs[k].value == v)
        return outputs_[k];
    return nullptr; // unreachable: every slot is a graph output
  }

  llvm::Value *address(const ValueLocation &l) {
    switch (l.kind) {
    case ValueLocation::Input:
      return inputs_[l.index];
    case ValueLocation::Constant:
      return l.packed >= 0 ? packedConstant(l.packed) : constant(l.index);
    case ValueLocation::Output:
      return outputSlot(l.index);
    case ValueLocation::Arena:
      return b_.CreateConstInBoundsGEP1_64(b_.getInt8Ty(), arg(2), l.index);
    case ValueLocation::Absent:
      break;
    }
    return llvm::ConstantPointerNull::get(b_.getPtrTy());
  }

  void runSteps() {
    size_t slots = 1;
    for (const LoweredStep &s : g_.steps)
      slots = std::max(slots, s.buffers.size());
    llvm::Type *tableType = llvm::ArrayType::get(b_.getPtrTy(), slots);
    llvm::Value *table = b_.CreateAlloca(tableType, nullptr, "buffers");
    for (const LoweredStep &s : g_.steps) {
      for (size_t i = 0; i < s.buffers.size(); ++i)
        b_.CreateStore(address(s.buffers[i]),
                       b_.CreateConstInBoundsGEP2_64(tableType, table, 0, i));
      llvm::Function *kernel = m_.getFunction(s.kernel);
      // Kernels stay functions of their own (readable assembly, and one
      // call per op as in the JIT).
      kernel->addFnAttr(llvm::Attribute::NoInline);
      llvm::Value *code = b_.CreateCall(kernel, {table}, "code");
      failIf(b_.CreateICmpNE(code, b_.getInt32(0)), code,
             s.kernel.c_str());
    }
  }

  /// Outputs that are inputs, constants or repeats of another output are
  /// copied at the end, as the JIT engine does.
  void copyOutputs() {
    const auto &outs = graph_.outputs();
    for (size_t k = 0; k < outs.size(); ++k) {
      const ValueLocation &l = g_.locations.at(outs[k].value);
      int64_t bytes = outs[k].value->type.byteSize();
      if (bytes == 0)
        continue;
      llvm::Value *src = nullptr;
      if (l.kind == ValueLocation::Output) {
        src = outputSlot(l.index);
        if (src == outputs_[k])
          continue; // the kernel wrote it in place
      } else {
        src = address(l);
      }
      b_.CreateMemCpy(outputs_[k], llvm::MaybeAlign(1), src, llvm::MaybeAlign(1),
                      bytes);
    }
  }

  llvm::Module &m_;
  llvm::LLVMContext &c_;
  llvm::IRBuilder<> b_;
  const Graph &graph_;
  const LoweredGraph &g_;
  const WeightsLayout *external_;
  llvm::Function *fn_ = nullptr;
  std::vector<llvm::Value *> inputs_, outputs_;
  std::unordered_map<int64_t, llvm::GlobalVariable *> globals_;
  std::unordered_map<int64_t, llvm::GlobalVariable *> packedGlobals_;
};

/// The target, its machine and `graph` lowered for it.
struct AotLowering {
  TargetDescription target;
  std::unique_ptr<llvm::TargetMachine> tm;
  LoweredGraph lowered;
};

absl::StatusOr<AotLowering> lowerForAot(const Graph &graph,
                                        const AotOptions &options) {
  AotLowering l;
  absl::StatusOr<TargetDescription> target =
      selectTarget(options.triple, options.cpu);
  if (!target.ok())
    return target.status();
  l.target = *target;
  absl::StatusOr<std::unique_ptr<llvm::TargetMachine>> tm =
      createTargetMachine(l.target, options.optLevel);
  if (!tm.ok())
    return tm.status();
  l.tm = std::move(*tm);
  absl::StatusOr<LoweredGraph> lowered =
      lowerGraph(graph, l.target, l.tm->createDataLayout());
  if (!lowered.ok())
    return lowered.status();
  l.lowered = std::move(*lowered);
  return l;
}

/// The weights file of `graph` lowered as `lowered`: constants that only
/// reach the code as packed copies are left out.
WeightsLayout weightsOf(const Graph &graph, const LoweredGraph &lowered) {
  std::vector<bool> read(lowered.constants.size(), false);
  for (const LoweredStep &step : lowered.steps)
    for (const ValueLocation &l : step.buffers)
      if (l.kind == ValueLocation::Constant && l.packed < 0)
        read[l.index] = true;
  // Outputs that are constants are copied from their data.
  for (const GraphOutput &o : graph.outputs())
    for (size_t k = 0; k < lowered.constants.size(); ++k)
      if (lowered.constants[k] == o.value)
        read[k] = true;
  return layoutWeights(graph, lowered.packedConstants, read);
}

} // namespace

absl::StatusOr<WeightsLayout> aotWeightsLayout(const Graph &graph,
                                               const AotOptions &options) {
  if (absl::Status s = verify(graph); !s.ok())
    return s;
  absl::StatusOr<AotLowering> l = lowerForAot(graph, options);
  if (!l.ok())
    return l.status();
  return weightsOf(graph, l->lowered);
}

absl::Status writeAotWeights(const Graph &graph, const std::string &path,
                             const AotOptions &options) {
  absl::StatusOr<WeightsLayout> w = aotWeightsLayout(graph, options);
  if (!w.ok())
    return w.status();
  return writeWeightsFile(*w, path);
}

absl::StatusOr<std::string> emitAot(const Graph &graph,
                                    const AotOptions &options) {
  if (absl::Status s = verify(graph); !s.ok())
    return s;
  absl::StatusOr<std::string> prefix = aotEntryPrefix(graph, options);
  if (!prefix.ok())
    return prefix.status();
  absl::StatusOr<TargetDescription> target =
      selectTarget(options.triple, options.cpu);
  if (!target.ok())
    return target.status();
  if (options.kind == AotEmitKind::Header) {
    // The weights file's size and fingerprint cover the packed constants,
    // which only lowering knows.
    WeightsLayout weights;
    if (options.externalWeights) {
      absl::StatusOr<WeightsLayout> w = aotWeightsLayout(graph, options);
      if (!w.ok())
        return w.status();
      weights = std::move(*w);
    }
    return aotHeader(graph, options, *prefix, *target, planMemory(graph),
                     weights);
  }

  absl::StatusOr<AotLowering> aot = lowerForAot(graph, options);
  if (!aot.ok())
    return aot.status();
  std::unique_ptr<llvm::TargetMachine> &tm = aot->tm;
  LoweredGraph *lowered = &aot->lowered;
  WeightsLayout weights = weightsOf(graph, *lowered);
  if (!lowered->unlowered.empty())
    return unloweredOpsError(graph, *lowered, " ahead of time",
                             "compiled code has no interpreter to fall back on");

  llvm::Module &m = *lowered->module;
  llvm::Function *entry =
      EntryBuilder(m, graph, *lowered, options.externalWeights ? &weights : nullptr)
          .build(*prefix + "_run");
  // Only the entry point is visible: two models linked into one program
  // never clash, and the optimizer sees every caller.
  for (llvm::GlobalValue &gv : m.global_values())
    if (!gv.isDeclaration() && &gv != entry && !gv.hasLocalLinkage())
      gv.setLinkage(llvm::GlobalValue::InternalLinkage);
  configureModule(m, *target, tm->createDataLayout());
  if (absl::Status s = verifyGeneratedModule(m); !s.ok())
    return s;
  optimizeModule(m, *tm, options.optLevel);

  llvm::SmallVector<char, 0> bytes;
  llvm::raw_svector_ostream os(bytes);
  if (options.kind == AotEmitKind::LLVMIR) {
    m.print(os, nullptr);
  } else {
    llvm::legacy::PassManager pm;
    if (tm->addPassesToEmitFile(pm, os, nullptr,
                                   options.kind == AotEmitKind::Object
                                       ? llvm::CodeGenFileType::ObjectFile
                                       : llvm::CodeGenFileType::AssemblyFile))
      return absl::UnimplementedError("target '" + target->triple +
                                      "' cannot emit this kind of file");
    pm.run(m);
  }
  return std::string(bytes.begin(), bytes.end());
}

} // namespace tcpu

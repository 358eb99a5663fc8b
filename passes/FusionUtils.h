//===- FusionUtils.h - Shared by the fusion passes and their lowering -*- C++ -*-===//
//
// Building a `fused` op from a group of ops, and the rule that says which
// operands a GEMM/conv epilogue can read (used by fuse-epilogue to decide
// and by codegen/lower/Fused.cpp to address them).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"

#include <optional>
#include <ostream>
#include <string>
#include <unordered_map>
#include <vector>

namespace tcpu {

/// Replaces `group` (ops of `graph` in graph order, each result but the
/// last used only inside the group and not a graph output) by one `fused`
/// op of `kind` at the position of the last op, whose body holds copies of
/// the group's ops. External operands become the fused op's operands, in
/// order of first use. Returns the new op.
Op *fuseGroup(Graph &graph, const std::vector<Op *> &group,
              const std::string &kind);

/// How an operand broadcast to the output of an epilogue anchor (conv2d,
/// linear, matmul, gemm) is read at output element (row, col) of one GEMM:
///   offset = image * imageStride + row * rowStride + col * colStride.
/// For conv2d a GEMM covers one image (batch index `image`): rows are the
/// output channels, cols the output pixels (oh * OW + ow). For the others,
/// image is 0, rows are the output's leading dims flattened and cols its
/// last dim. colStride is 0 (broadcast along cols) or 1.
struct EpilogueAccess {
  int64_t imageStride = 0, rowStride = 0, colStride = 0;
};

/// The access of an operand of shape `operand` (which broadcasts to the
/// anchor's output), or nullopt when it is not of that form (broadcast
/// along some axes of the pixels or of the rows but not others).
std::optional<EpilogueAccess> epilogueAccess(const Op &anchor,
                                             const Shape &operand);

/// The distinct ops using each value (graph outputs are not ops: see
/// isGraphOutput).
std::unordered_map<const Value *, std::vector<Op *>> usersOf(Graph &graph);
bool isGraphOutput(const Graph &graph, const Value *v);

/// The fusion report (tcpu-opt/tcpu-run --fusion-report) from remark lines
/// (Remark::str()): every group the fusion passes fused, every candidate
/// they left and why, and per pass a summary line with the counts of
/// groups, ops fused and candidates left. Other passes' remarks are
/// skipped.
std::string fusionReport(const std::vector<std::string> &remarks);

} // namespace tcpu

//===- Remarks.cpp - What passes did, and what they did not and why -------===//
#include "passes/Remarks.h"

namespace tcpu {

namespace {
// Per thread: two pipelines on two threads (two compile() calls) collect
// separately.
thread_local std::vector<Remark> *currentSink = nullptr;
} // namespace

std::string Remark::str() const {
  return pass + ": " + (kind == Applied ? "applied: " : "missed: ") + message;
}

void remark(Remark::Kind kind, std::string_view pass, std::string message) {
  if (currentSink)
    currentSink->push_back({kind, std::string(pass), std::move(message)});
}

bool remarksEnabled() { return currentSink != nullptr; }

std::string remarkName(const Op &op) {
  std::string s(op.mnemonic());
  const Value *v = op.numResults() ? op.result(0) : nullptr;
  if (v && !v->name.empty())
    return s + " %" + v->name;
  return s + " at " + op.loc.str();
}

RemarkCollector::RemarkCollector(std::vector<Remark> *sink)
    : previous_(currentSink) {
  currentSink = sink;
}

RemarkCollector::~RemarkCollector() { currentSink = previous_; }

} // namespace tcpu

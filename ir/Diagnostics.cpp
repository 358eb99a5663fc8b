//===- Diagnostics.cpp - Source locations and located errors --------------===//
#include "ir/Diagnostics.h"

#include <algorithm>
#include <tuple>

namespace tcpu {

std::string Location::str() const {
  if (!file)
    return "<unknown>";
  if (line <= 0)
    return *file;
  return *file + ":" + std::to_string(line) + ":" + std::to_string(col);
}

std::string Diagnostic::str() const {
  const char *kind = severity == Severity::Error     ? "error"
                     : severity == Severity::Warning ? "warning"
                                                     : "note";
  return loc.str() + ": " + kind + ": " + message;
}

bool DiagnosticEngine::hasErrors() const {
  for (const Diagnostic &d : diags_)
    if (d.severity == Severity::Error)
      return true;
  return false;
}

std::string DiagnosticEngine::str() const {
  // In source order, as a reader expects, although the parser and the
  // verifier find problems in two sweeps.
  std::vector<const Diagnostic *> sorted;
  for (const Diagnostic &d : diags_)
    sorted.push_back(&d);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Diagnostic *a, const Diagnostic *b) {
                     auto key = [](const Diagnostic *d) {
                       return std::tuple(d->loc.file ? *d->loc.file : "",
                                         d->loc.line, d->loc.col);
                     };
                     return key(a) < key(b);
                   });
  std::string s;
  for (const Diagnostic *d : sorted)
    s += d->str() + "\n";
  return s;
}

absl::Status DiagnosticEngine::toStatus() const {
  if (!hasErrors())
    return absl::OkStatus();
  std::string s = str();
  if (!s.empty() && s.back() == '\n')
    s.pop_back();
  return absl::InvalidArgumentError(s);
}

absl::Status locatedError(const Location &loc, const std::string &message) {
  return absl::InvalidArgumentError(loc.str() + ": error: " + message);
}

} // namespace tcpu

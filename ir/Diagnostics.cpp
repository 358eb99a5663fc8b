//===- Diagnostics.cpp - Source locations and located errors --------------===//
#include "ir/Diagnostics.h"

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
  std::string s;
  for (const Diagnostic &d : diags_)
    s += d.str() + "\n";
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

//===- Diagnostics.h - Source locations and located errors ------*- C++ -*-===//
//
// Every user-facing error names a place: "file:line:col: error: message".
// A DiagnosticEngine collects diagnostics so that the parser and the verifier
// can report every problem in a graph, not only the first one.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "absl/status/status.h"

#include <memory>
#include <string>
#include <vector>

namespace tcpu {

/// A position in a source: a text file (line and column, 1-based), or an
/// imported model (line 0, the name says where, e.g. "model.onnx:node 'conv1'").
struct Location {
  std::shared_ptr<const std::string> file;
  int line = 0;
  int col = 0;

  Location() = default;
  Location(std::shared_ptr<const std::string> file, int line, int col)
      : file(std::move(file)), line(line), col(col) {}
  static Location named(std::string name) {
    return Location(std::make_shared<const std::string>(std::move(name)), 0, 0);
  }
  bool known() const { return file != nullptr; }
  /// "file:line:col", "file" when there is no line, "<unknown>" when unknown.
  std::string str() const;
};

enum class Severity { Error, Warning, Note };

struct Diagnostic {
  Location loc;
  Severity severity = Severity::Error;
  std::string message;
  /// "file:line:col: error: message"
  std::string str() const;
};

class DiagnosticEngine {
public:
  void error(const Location &loc, std::string message) {
    diags_.push_back({loc, Severity::Error, std::move(message)});
  }
  void warning(const Location &loc, std::string message) {
    diags_.push_back({loc, Severity::Warning, std::move(message)});
  }
  void note(const Location &loc, std::string message) {
    diags_.push_back({loc, Severity::Note, std::move(message)});
  }
  bool hasErrors() const;
  const std::vector<Diagnostic> &diagnostics() const { return diags_; }
  void clear() { diags_.clear(); }
  /// All diagnostics, one per line.
  std::string str() const;
  /// OK when there are no errors, else InvalidArgument with all of them.
  absl::Status toStatus() const;

private:
  std::vector<Diagnostic> diags_;
};

/// An InvalidArgument status whose message is "loc: error: message".
absl::Status locatedError(const Location &loc, const std::string &message);

} // namespace tcpu

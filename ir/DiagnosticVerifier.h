//===- DiagnosticVerifier.h - expected-error checking -----------*- C++ -*-===//
//
// Support for `tcpu-opt --verify-diagnostics` and `--split-input-file`, in the
// manner of mlir-opt: a test states the diagnostics it expects in comments,
//   // expected-error@+1 {{use of undefined value '%y'}}
//   // expected-error {{...}}        (same line)
//   // expected-warning@-2 {{...}}   (two lines up)
// and the tool checks that exactly those were produced: each expected one
// (matched by line, severity and substring) and nothing else.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Diagnostics.h"

#include <string>
#include <string_view>
#include <vector>

namespace tcpu {

/// One chunk of a file split on lines that start with "// -----".
struct SourceChunk {
  std::string_view text;
  /// Line number of the chunk's first line in the file, minus one.
  int lineOffset = 0;
};
std::vector<SourceChunk> splitInputFile(std::string_view text);

struct ExpectedDiagnostic {
  Severity severity;
  int line; // in the original file
  std::string substring;
  int commentLine;
  bool matched = false;
};

/// Reads the expected-* comments of `text` (lines numbered from
/// lineOffset+1). Malformed expectations are reported in `problems`.
std::vector<ExpectedDiagnostic>
parseExpectedDiagnostics(std::string_view text, int lineOffset,
                         std::vector<std::string> &problems);

/// Matches produced against expected diagnostics. Returns one message per
/// mismatch ("expected error ... was not produced", "unexpected error ...");
/// empty when everything matched. `bufferName` is used in locations.
std::vector<std::string>
checkDiagnostics(const std::vector<Diagnostic> &produced,
                 std::vector<ExpectedDiagnostic> &expected,
                 const std::string &bufferName);

} // namespace tcpu

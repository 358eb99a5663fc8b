//===- DiagnosticVerifier.cpp - expected-error checking --------------------===//
#include "ir/DiagnosticVerifier.h"

#include <charconv>

namespace tcpu {

std::vector<SourceChunk> splitInputFile(std::string_view text) {
  std::vector<SourceChunk> chunks;
  size_t chunkStart = 0, pos = 0;
  int line = 0, chunkFirstLine = 0;
  while (pos <= text.size()) {
    size_t eol = text.find('\n', pos);
    size_t lineEnd = eol == std::string_view::npos ? text.size() : eol;
    std::string_view l = text.substr(pos, lineEnd - pos);
    if (l.substr(0, 8) == "// -----") {
      chunks.push_back({text.substr(chunkStart, pos - chunkStart),
                        chunkFirstLine});
      chunkStart = eol == std::string_view::npos ? text.size() : eol + 1;
      chunkFirstLine = line + 1;
    }
    ++line;
    if (eol == std::string_view::npos)
      break;
    pos = eol + 1;
  }
  chunks.push_back({text.substr(chunkStart), chunkFirstLine});
  return chunks;
}

std::vector<ExpectedDiagnostic>
parseExpectedDiagnostics(std::string_view text, int lineOffset,
                         std::vector<std::string> &problems) {
  static const std::pair<std::string_view, Severity> kinds[] = {
      {"expected-error", Severity::Error},
      {"expected-warning", Severity::Warning},
      {"expected-note", Severity::Note}};
  std::vector<ExpectedDiagnostic> out;
  int line = lineOffset;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t eol = text.find('\n', pos);
    std::string_view l = text.substr(
        pos, (eol == std::string_view::npos ? text.size() : eol) - pos);
    ++line;
    for (auto [word, severity] : kinds) {
      size_t at = l.find(word);
      if (at == std::string_view::npos)
        continue;
      std::string_view rest = l.substr(at + word.size());
      int target = line;
      if (!rest.empty() && rest[0] == '@') {
        rest.remove_prefix(1);
        int sign = 1;
        if (!rest.empty() && (rest[0] == '+' || rest[0] == '-')) {
          sign = rest[0] == '-' ? -1 : 1;
          rest.remove_prefix(1);
        }
        int n = 0;
        auto res = std::from_chars(rest.data(), rest.data() + rest.size(), n);
        if (res.ec != std::errc()) {
          problems.push_back("line " + std::to_string(line) +
                             ": bad line offset after '@' in " +
                             std::string(word));
          break;
        }
        rest.remove_prefix(res.ptr - rest.data());
        target = line + sign * n;
      }
      size_t open = rest.find("{{"), close = rest.rfind("}}");
      if (open == std::string_view::npos || close == std::string_view::npos ||
          close < open) {
        problems.push_back("line " + std::to_string(line) + ": " +
                           std::string(word) + " needs a {{message}}");
        break;
      }
      out.push_back({severity, target,
                     std::string(rest.substr(open + 2, close - open - 2)), line});
      break;
    }
    if (eol == std::string_view::npos)
      break;
    pos = eol + 1;
  }
  return out;
}

std::vector<std::string>
checkDiagnostics(const std::vector<Diagnostic> &produced,
                 std::vector<ExpectedDiagnostic> &expected,
                 const std::string &bufferName) {
  static const char *names[] = {"error", "warning", "note"};
  std::vector<std::string> mismatches;
  for (const Diagnostic &d : produced) {
    bool matched = false;
    for (ExpectedDiagnostic &e : expected) {
      if (e.matched || e.severity != d.severity || e.line != d.loc.line ||
          d.message.find(e.substring) == std::string::npos)
        continue;
      e.matched = matched = true;
      break;
    }
    if (!matched)
      mismatches.push_back(d.loc.str() + ": unexpected " +
                           names[static_cast<int>(d.severity)] + ": " +
                           d.message);
  }
  for (const ExpectedDiagnostic &e : expected)
    if (!e.matched)
      mismatches.push_back(bufferName + ":" + std::to_string(e.commentLine) +
                           ": expected " + names[static_cast<int>(e.severity)] +
                           " on line " + std::to_string(e.line) +
                           " was not produced: {{" + e.substring + "}}");
  return mismatches;
}

} // namespace tcpu

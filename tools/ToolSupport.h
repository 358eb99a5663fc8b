//===- ToolSupport.h - Shared bits of the command-line tools ----*- C++ -*-===//
#pragma once

#include "ir/Graph.h"
#include "ir/Parser.h"

#include "absl/status/statusor.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace tcpu::tools {

/// Reads a whole file ("-" is standard input).
inline absl::StatusOr<std::string> readFile(const std::string &path) {
  if (path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return absl::NotFoundError(path + ": error: cannot open file");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad())
    return absl::DataLossError(path + ": error: cannot read file");
  return ss.str();
}

inline bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// Loads a model file (.tir text form) and verifies it.
inline absl::StatusOr<std::unique_ptr<Graph>>
loadModel(const std::string &path) {
  absl::StatusOr<std::string> text = readFile(path);
  if (!text.ok())
    return text.status();
  return parseGraph(*text, path == "-" ? "<stdin>" : path);
}

/// Prints a status message to stderr, prefixed by the tool name unless the
/// message already starts with a location.
inline int fail(const char *tool, const absl::Status &s) {
  std::string msg(s.message());
  if (msg.find(": error: ") == std::string::npos)
    msg = std::string(tool) + ": error: " + msg;
  std::fprintf(stderr, "%s\n", msg.c_str());
  return 1;
}

} // namespace tcpu::tools

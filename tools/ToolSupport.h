//===- ToolSupport.h - Shared bits of the command-line tools ----*- C++ -*-===//
#pragma once

#include "ir/Graph.h"
#include "ir/Parser.h"
#include "ir/onnx/OnnxImporter.h"

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

/// Parses the value of --input-shape, NAME=1x3x224x224 (a scalar is
/// NAME=scalar), into `options`; returns an error message or "".
inline std::string parseInputShapeFlag(const std::string &v,
                                       OnnxImportOptions &options) {
  size_t eq = v.rfind('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == v.size())
    return "--input-shape needs NAME=D0xD1x..., got '" + v + "'";
  std::string name = v.substr(0, eq), dims = v.substr(eq + 1);
  Shape shape;
  if (dims != "scalar") {
    for (size_t pos = 0; pos <= dims.size();) {
      size_t x = dims.find('x', pos);
      if (x == std::string::npos)
        x = dims.size();
      std::string d = dims.substr(pos, x - pos);
      if (d.empty() || d.size() > 18 ||
          d.find_first_not_of("0123456789") != std::string::npos)
        return "--input-shape needs NAME=D0xD1x... with non-negative integer "
               "dims, got '" + v + "'";
      shape.push_back(std::stoll(d));
      pos = x + 1;
    }
  }
  if (options.inputShapes.count(name))
    return "--input-shape for '" + name + "' is given twice";
  options.inputShapes[name] = shape;
  return "";
}

/// Loads a model file and verifies it: .onnx files are imported (with
/// `onnx` giving shapes for symbolic input dims), anything else is parsed
/// as the .tir text form.
inline absl::StatusOr<std::unique_ptr<Graph>>
loadModel(const std::string &path, const OnnxImportOptions &onnx = {}) {
  if (endsWith(path, ".onnx"))
    return importOnnxFile(path, onnx);
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

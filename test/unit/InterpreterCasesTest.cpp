//===- InterpreterCasesTest.cpp - The interpreter against NumPy oracles ---===//
//
// Runs every case under test/interp/cases/ (made by test/interp/gen_cases.py
// with NumPy, independently of the reference interpreter): parse model.tir,
// read input_<i>.npy, interpret, compare each output with expected_<i>.npy.
// Floats match when |got - want| <= atol + rtol * |want| (NaN matches NaN,
// infinities must match exactly); integers and bools match exactly. The
// tolerance is rtol 1e-5, atol 1e-6 unless the case has a tolerance.txt.
// Each case is its own test; another test checks that every op of the op
// table has at least one case, so a new op without an oracle fails here.
//
//===----------------------------------------------------------------------===//
#include "ir/Interpreter.h"
#include "ir/Npy.h"
#include "ir/OpTable.h"
#include "ir/Parser.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace tcpu;

namespace {

fs::path casesDir() {
  return fs::path(TCPU_SOURCE_DIR) / "test" / "interp" / "cases";
}

/// Names of the case directories, sorted.
std::vector<std::string> listCases() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto &e : fs::directory_iterator(casesDir(), ec))
    if (e.is_directory())
      names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

/// The op a case tests: the longest mnemonic that, followed by '_', starts
/// the case name ("max_pool2d_ceil" is max_pool2d, not max).
const OpInfo *opOfCase(const std::string &caseName) {
  const OpInfo *best = nullptr;
  for (const OpInfo &info : allOps()) {
    std::string prefix = std::string(info.mnemonic) + "_";
    if (caseName.rfind(prefix, 0) == 0 &&
        (!best || info.mnemonic.size() > best->mnemonic.size()))
      best = &info;
  }
  return best;
}

std::string str(const absl::Status &s) { return std::string(s.message()); }

struct Tolerance {
  double rtol = 1e-5;
  double atol = 1e-6;
};

/// tolerance.txt: '#' comment lines (saying why), then "rtol atol".
Tolerance readTolerance(const fs::path &dir) {
  Tolerance tol;
  std::ifstream in(dir / "tolerance.txt");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#')
      continue;
    std::istringstream ss(line);
    ss >> tol.rtol >> tol.atol;
    break;
  }
  return tol;
}

std::string multiIndex(const Shape &shape, int64_t flat) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  std::string s = "[";
  for (size_t d = 0; d < idx.size(); ++d)
    s += (d ? "," : "") + std::to_string(idx[d]);
  return s + "]";
}

/// Empty when `got` matches `want`, else a description of the mismatches.
std::string compare(const Tensor &got, const Tensor &want, Tolerance tol) {
  if (got.dtype() != want.dtype() || got.shape() != want.shape())
    return "type mismatch: got " + got.type().str() + ", want " +
           want.type().str();
  std::ostringstream out;
  out.precision(9);
  int64_t bad = 0;
  const bool fp = isFloat(want.dtype());
  for (int64_t i = 0; i < want.numElements(); ++i) {
    bool ok;
    if (fp) {
      double g = got.elementAsDouble(i), w = want.elementAsDouble(i);
      if (std::isnan(w) || std::isnan(g))
        ok = std::isnan(w) && std::isnan(g);
      else if (std::isinf(w) || std::isinf(g))
        ok = g == w;
      else
        ok = std::fabs(g - w) <= tol.atol + tol.rtol * std::fabs(w);
      if (!ok && ++bad <= 10)
        out << "  at " << multiIndex(want.shape(), i) << ": got " << g
            << ", want " << w << " (diff " << std::fabs(g - w) << ")\n";
    } else {
      int64_t g = got.elementAsInt(i), w = want.elementAsInt(i);
      ok = g == w;
      if (!ok && ++bad <= 10)
        out << "  at " << multiIndex(want.shape(), i) << ": got " << g
            << ", want " << w << "\n";
    }
  }
  if (bad == 0)
    return "";
  std::string head = std::to_string(bad) + " of " +
                     std::to_string(want.numElements()) + " elements differ";
  if (fp)
    head += " (rtol " + std::to_string(tol.rtol) + ", atol " +
            std::to_string(tol.atol) + ")";
  head += "\n";
  return head + out.str() + (bad > 10 ? "  ...\n" : "");
}

class InterpreterCase : public testing::TestWithParam<std::string> {};

TEST_P(InterpreterCase, MatchesOracle) {
  const std::string name = GetParam();
  const fs::path dir = casesDir() / name;
  SCOPED_TRACE("case " + name + " (" + dir.string() + ")");

  absl::StatusOr<std::unique_ptr<Graph>> graph =
      parseGraphFile((dir / "model.tir").string());
  ASSERT_TRUE(graph.ok()) << "parse failed: " << str(graph.status());

  // The case exercises the op its name says.
  const OpInfo *info = opOfCase(name);
  ASSERT_NE(info, nullptr) << "case name does not start with an op mnemonic";
  bool found = false;
  for (const auto &op : (*graph)->ops())
    found |= op->kind() == info->kind;
  EXPECT_TRUE(found) << "the graph has no '" << info->mnemonic << "' op";

  std::vector<Tensor> inputs;
  for (size_t i = 0; i < (*graph)->inputs().size(); ++i) {
    fs::path p = dir / ("input_" + std::to_string(i) + ".npy");
    absl::StatusOr<Tensor> t = readNpy(p.string());
    ASSERT_TRUE(t.ok()) << "reading " << p << ": " << str(t.status());
    inputs.push_back(std::move(*t));
  }
  ASSERT_FALSE(fs::exists(dir / ("input_" + std::to_string(inputs.size()) +
                                 ".npy")))
      << "more input files than graph inputs";

  absl::StatusOr<std::vector<Tensor>> outputs = interpret(**graph, inputs);
  ASSERT_TRUE(outputs.ok()) << "interpret failed: " << str(outputs.status());
  ASSERT_EQ(outputs->size(), (*graph)->outputs().size());
  ASSERT_FALSE(fs::exists(dir / ("expected_" +
                                 std::to_string(outputs->size()) + ".npy")))
      << "more expected files than graph outputs";

  Tolerance tol = readTolerance(dir);
  for (size_t i = 0; i < outputs->size(); ++i) {
    fs::path p = dir / ("expected_" + std::to_string(i) + ".npy");
    absl::StatusOr<Tensor> want = readNpy(p.string());
    ASSERT_TRUE(want.ok()) << "reading " << p << ": " << str(want.status());
    std::string diff = compare((*outputs)[i], *want, tol);
    EXPECT_TRUE(diff.empty())
        << "case " << name << ", output " << i << " ('"
        << (*graph)->outputs()[i].name << "'): " << diff;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, InterpreterCase, testing::ValuesIn(listCases()),
    [](const testing::TestParamInfo<std::string> &p) { return p.param; });

TEST(InterpreterCases, DirectoryIsPresent) {
  EXPECT_GT(listCases().size(), 100u)
      << "no cases under " << casesDir()
      << "; run /usr/bin/python3 test/interp/gen_cases.py";
}

TEST(InterpreterCases, EveryOpHasACase) {
  std::map<std::string, int> count;
  for (const std::string &name : listCases())
    if (const OpInfo *info = opOfCase(name))
      ++count[std::string(info->mnemonic)];
  for (const OpInfo &info : allOps()) {
    if (info.kind == OpKind::Constant) // every graph with weights uses it
      continue;
    EXPECT_GT(count[std::string(info.mnemonic)], 0)
        << "op '" << info.mnemonic << "' has no case under " << casesDir()
        << " (add one to test/interp/gen_cases.py)";
  }
}

} // namespace

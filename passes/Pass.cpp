//===- Pass.cpp - Passes, the registry and pipelines -----------------------===//
#include "passes/Pass.h"
#include "passes/Remarks.h"

#include "ir/Printer.h"
#include "ir/Verifier.h"

#include <charconv>

namespace tcpu {

absl::StatusOr<int64_t> PassOptions::getInt(const std::string &key,
                                            int64_t fallback) const {
  auto it = values.find(key);
  if (it == values.end())
    return fallback;
  int64_t v = 0;
  const std::string &s = it->second;
  auto res = std::from_chars(s.data(), s.data() + s.size(), v);
  if (res.ec != std::errc() || res.ptr != s.data() + s.size())
    return absl::InvalidArgumentError("option '" + key +
                                      "' must be an integer, got '" + s + "'");
  return v;
}

absl::Status PassOptions::checkKnown(const std::string &passName,
                                     const std::vector<std::string> &known) const {
  for (const auto &[key, value] : values) {
    bool ok = false;
    for (const std::string &k : known)
      ok |= k == key;
    if (!ok) {
      std::string list;
      for (const std::string &k : known)
        list += (list.empty() ? "" : ", ") + k;
      return absl::InvalidArgumentError(
          "pass '" + passName + "' has no option '" + key + "'" +
          (list.empty() ? " (it takes none)" : " (it takes: " + list + ")"));
    }
  }
  return absl::OkStatus();
}

const std::vector<PassInfo> &allPasses() {
  static const std::vector<PassInfo> passes = {
#define PASS(Name, Fn, Summary) {Name, &Fn, Summary},
#include "passes/Passes.def"
  };
  return passes;
}

const PassInfo *lookupPass(std::string_view name) {
  for (const PassInfo &p : allPasses())
    if (p.name == name)
      return &p;
  return nullptr;
}

namespace {
std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\n"), e = s.find_last_not_of(" \t\n");
  return b == std::string_view::npos ? "" : std::string(s.substr(b, e - b + 1));
}
} // namespace

absl::StatusOr<std::vector<PipelineStep>> parsePipeline(std::string_view text) {
  std::vector<PipelineStep> steps;
  size_t i = 0;
  while (i < text.size()) {
    size_t end = text.find_first_of(",{", i);
    std::string name = trim(text.substr(i, end == std::string_view::npos
                                               ? std::string_view::npos
                                               : end - i));
    PassOptions options;
    i = end == std::string_view::npos ? text.size() : end;
    if (i < text.size() && text[i] == '{') {
      size_t close = text.find('}', i);
      if (close == std::string_view::npos)
        return absl::InvalidArgumentError("pass pipeline: missing '}' after "
                                          "the options of '" + name + "'");
      std::string_view body = text.substr(i + 1, close - i - 1);
      size_t j = 0;
      while (j < body.size()) {
        size_t comma = body.find(',', j);
        std::string item(body.substr(j, comma == std::string_view::npos
                                            ? std::string_view::npos
                                            : comma - j));
        j = comma == std::string_view::npos ? body.size() : comma + 1;
        if (trim(item).empty())
          continue;
        size_t eq = item.find('=');
        if (eq == std::string::npos)
          return absl::InvalidArgumentError("pass pipeline: option '" +
                                            trim(item) + "' of '" + name +
                                            "' needs a value (key=value)");
        options.values[trim(item.substr(0, eq))] = trim(item.substr(eq + 1));
      }
      i = close + 1;
      while (i < text.size() && (text[i] == ' ' || text[i] == '\t'))
        ++i;
    }
    if (i < text.size()) {
      if (text[i] != ',')
        return absl::InvalidArgumentError(
            "pass pipeline: expected ',' after '" + name + "'");
      ++i;
    }
    if (name.empty())
      return absl::InvalidArgumentError("pass pipeline: empty pass name in '" +
                                        std::string(text) + "'");
    const PassInfo *pass = lookupPass(name);
    if (!pass) {
      std::string known;
      for (const PassInfo &p : allPasses())
        known += (known.empty() ? "" : ", ") + std::string(p.name);
      return absl::InvalidArgumentError("unknown pass '" + name +
                                        "' (registered passes: " + known + ")");
    }
    steps.push_back({pass, std::move(options)});
  }
  return steps;
}

absl::Status runPipeline(Graph &graph, const std::vector<PipelineStep> &steps,
                         const PipelineOptions &options) {
  RemarkCollector collector(options.remarks);
  for (const PipelineStep &step : steps) {
    absl::StatusOr<bool> changed = step.pass->run(graph, step.options);
    if (!changed.ok())
      return absl::Status(changed.status().code(),
                          "pass '" + std::string(step.pass->name) +
                              "' failed: " +
                              std::string(changed.status().message()));
    if (options.verifyEach) {
      if (absl::Status s = verify(graph); !s.ok())
        return absl::InternalError("the graph does not verify after pass '" +
                                   std::string(step.pass->name) +
                                   "':\n" + std::string(s.message()));
    }
    if (options.printAfterEach)
      *options.printAfterEach << "// -----// IR after " << step.pass->name
                              << " //----- //\n"
                              << printGraph(graph);
  }
  return absl::OkStatus();
}

} // namespace tcpu

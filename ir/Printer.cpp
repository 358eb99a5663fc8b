#include "ir/Printer.h"
namespace tcpu {
std::string printGraph(const Graph &, const PrintOptions &) { return ""; }
}

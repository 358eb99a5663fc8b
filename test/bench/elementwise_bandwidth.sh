#!/usr/bin/env bash
# Elementwise kernels (a fused chain, add, broadcast add, sigmoid on 16M f32) at 1 and 2
# threads against a STREAM copy/triad measured in the same run; prints a markdown table of
# GB/s and the share of the machine's bandwidth. Slow: not part of ctest (only --quick is).
#   test/bench/elementwise_bandwidth.sh [--build DIR] [--threads 1 2] [--runs N] [--quick]
# See test/bench/elementwise_bandwidth.py for every option.
set -euo pipefail
exec /usr/bin/python3 "${0%/*}/elementwise_bandwidth.py" "$@"

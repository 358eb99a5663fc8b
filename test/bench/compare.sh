#!/usr/bin/env bash
# tcpu against its peers (ONNX Runtime, PyTorch eager and jit.freeze) on the issue's
# workloads at 1 and 2 threads, timed in the same run; prints one markdown table with
# tcpu / best peer and the share of peak FLOP/s. Slow (minutes): not part of ctest.
#   test/bench/compare.sh [--quick] [--only SUBSTR] [--threads 1 2] [--runs N] [--build DIR]
# See test/bench/compare.py for every option.
set -euo pipefail
exec /usr/bin/python3 "${0%/*}/compare.py" "$@"

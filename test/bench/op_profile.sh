#!/usr/bin/env bash
# Per-op times of tcpu beside ONNX Runtime's on one workload (sorted by where tcpu
# loses most). Not part of ctest.
#   test/bench/op_profile.sh WORKLOAD [--threads T] [--runs N] [--build DIR] [--top K]
# See test/bench/op_profile.py.
set -euo pipefail
exec /usr/bin/python3 "${0%/*}/op_profile.py" "$@"

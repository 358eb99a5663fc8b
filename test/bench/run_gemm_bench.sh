#!/bin/bash
# Times tcpu's generated GEMM against OpenBLAS at 1 and 2 threads, the two
# alternating inside one gemm_bench process per thread count.
#   test/bench/run_gemm_bench.sh [BUILD_DIR] [ROUNDS]
# OpenBLAS picks its kernel from the CPU unless OPENBLAS_CORETYPE says
# otherwise, and OPENBLAS_L2_SIZE changes its blocking: both are unset for
# these runs only (gemm_bench prints the kernel OpenBLAS used).
set -euo pipefail
build=${1:-build}
rounds=${2:-9}
bench="$build/test/gemm_bench"
[ -x "$bench" ] || { echo "no $bench: build the gemm_bench target" >&2; exit 1; }
uptime
for t in 1 2; do
  echo "== $t thread(s)"
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
    OPENBLAS_NUM_THREADS=$t TCPU_NUM_THREADS=$t OMP_NUM_THREADS=$t \
    "$bench" --rounds="$rounds" --benchmark_color=false \
    | grep -v -e '^tcpu/' -e '^openblas/' -e '^----' -e '^Benchmark '
done

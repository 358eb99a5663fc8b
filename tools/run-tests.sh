#!/usr/bin/env bash
# Sets up everything on a fresh Debian 12 machine, builds tcpu, and runs the
# whole test suite (lit and unit tests) with ctest; then builds again with
# AddressSanitizer + UndefinedBehaviorSanitizer and runs the suite there too.
# TCPU_SANITIZE=0 skips the sanitizer pass.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${TCPU_BUILD_DIR:-$root/build}"
jobs="$(nproc)"

bash "$root/.ci/install-deps.sh"

run_suite() { # build-dir, extra cmake args...
  local dir="$1"; shift
  cmake -S "$root" -B "$dir" -G Ninja "$@" >/dev/null
  ninja -C "$dir"
  (cd "$dir" && ctest --output-on-failure -j "$jobs")
}

echo "== build and test: $build"
run_suite "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo

if [ "${TCPU_SANITIZE:-1}" != 0 ]; then
  echo "== build and test with ASan + UBSan: $build-sanitize"
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  run_suite "$build-sanitize" -DCMAKE_BUILD_TYPE=Debug -DTCPU_SANITIZE=ON
fi

#!/usr/bin/env bash
# check_aot.sh EMBEDDED_EXE EXTERNAL_EXE WEIGHTS MODEL_DIR WORK_DIR
#
# The AOT example end to end: both builds of the MLP (weights embedded in the
# object, and in a memory-mapped file) match PyTorch's output; neither links
# LLVM or the tcpu IR library; a missing, truncated, foreign or absent
# weights file is a clear error, not a crash.
set -euo pipefail
embedded="$1" external="$2" weights="$3" models="$4" work="$5"
in="$models/input.npy" want="$models/expected.npy"
mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

# No LLVM and no tcpu IR: not among the shared libraries, not linked in.
for exe in "$embedded" "$external"; do
  if ldd "$exe" | grep -i llvm; then fail "$exe links LLVM"; fi
  if nm -C "$exe" | grep -E 'llvm::|LLVM[A-Z]|tcpu::Graph|tcpu::interpret'; then
    fail "$exe contains LLVM or tcpu IR symbols"
  fi
  # grep -q would close the pipe early: nm then dies of SIGPIPE (pipefail)
  nm "$exe" | grep ' T mlp_run$' >/dev/null || fail "$exe has no mlp_run"
done

# Correct outputs, on one thread and on two (the GEMM's tcpu_parallel_for).
TCPU_NUM_THREADS=1 "$embedded" "$in" "$want" --runs 3
TCPU_NUM_THREADS=2 "$embedded" "$in" "$want" --runs 3
TCPU_NUM_THREADS=2 "$external" "$in" "$want" --weights "$weights" --runs 3

expect_error() { # message, command...
  local message="$1"; shift
  if "$@" >"$work/out.txt" 2>&1; then fail "'$*' succeeded"; fi
  grep -qF -- "$message" "$work/out.txt" ||
    fail "'$*' printed $(cat "$work/out.txt"), not '$message'"
  echo "expected error: $(head -1 "$work/out.txt")"
}
expect_error "cannot open: No such file or directory" \
  "$external" "$in" "$want" --weights "$work/missing.weights"
head -c 1000 "$weights" >"$work/truncated.weights"
expect_error "truncated or damaged" "$external" "$in" "$want" --weights "$work/truncated.weights"
cp "$in" "$work/not-weights.weights"
expect_error "not a tcpu weights file" "$external" "$in" "$want" --weights "$work/not-weights.weights"
# Another model's weights: same size, other fingerprint (byte 16 flipped).
cp "$weights" "$work/foreign.weights"
printf '\xff' | dd of="$work/foreign.weights" bs=1 seek=16 conv=notrunc status=none
expect_error "weights of another model or build" \
  "$external" "$in" "$want" --weights "$work/foreign.weights"
expect_error "mlp_run: error 65: the model's weights are in a separate file" \
  "$external" "$in" "$want"
echo "aot example: all checks passed"

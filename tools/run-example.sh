#!/usr/bin/env bash
# Sets up everything on a fresh Debian 12 machine, builds tcpu, and runs the
# bundled example (the MLP 784-256-10): compiled with the LLVM JIT, checked
# against the reference interpreter, timed, and its output printed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${TCPU_BUILD_DIR:-$root/build}"

bash "$root/.ci/install-deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$build" tcpu-run tcpu-opt

model="$root/test/models/mlp"
echo "== tcpu-run $model/mlp.tir (compiled; --check also runs the reference interpreter)"
"$build/tools/tcpu-run" "$model/mlp.tir" --check \
  --input "x=$model/input.npy" --output-dir "$build/example-out"
echo "== timing (one JSON line):"
"$build/tools/tcpu-run" "$model/mlp.tir" --input "x=$model/input.npy" --benchmark 100
echo "== wrote $build/example-out/logits.npy; PyTorch's output for the same input:"
/usr/bin/python3 -c "import numpy as np; print(np.load('$model/expected.npy'))"

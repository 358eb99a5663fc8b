#!/usr/bin/env bash
# Installs every build and test dependency of tcpu from Debian 12 packages.
# Safe to run again: apt-get skips what is already installed, and the update
# is skipped when the package lists are fresh (less than six hours old).
set -euo pipefail

packages=(
  build-essential cmake ninja-build git
  llvm-19-dev llvm-19-tools clang-19
  libtbb-dev libabsl-dev xtensor-dev xtl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libonnx-dev libprotobuf-dev protobuf-compiler
  zlib1g-dev libzstd-dev libedit-dev libxml2-dev libffi-dev libcurl4-openssl-dev
  libopenblas-dev
  python3 python3-numpy python3-onnx python3-torch python3-torchvision
)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
stamp=/var/lib/apt/periodic/update-success-stamp
lists_age=999999
if [ -d /var/lib/apt/lists ]; then
  newest=$(find /var/lib/apt/lists -maxdepth 1 -name '*_InRelease' -printf '%T@\n' 2>/dev/null | sort -n | tail -1)
  if [ -n "$newest" ]; then lists_age=$(( $(date +%s) - ${newest%.*} )); fi
fi
if [ "$lists_age" -gt 21600 ]; then $SUDO apt-get update -q; fi
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"

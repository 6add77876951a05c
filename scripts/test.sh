#!/usr/bin/env bash
# The README's test command: install dependencies, build, generate the model zoo, run every test.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
bash scripts/peers.sh
bash scripts/build.sh
# The zoo (torchvision exports + PyTorch reference outputs) is cached between runs.
zoo=${KTC_ZOO_DIR:-$HOME/.cache/ktc/zoo}
/usr/bin/python3 tools/zoo.py --out "$zoo"
/usr/bin/python3 tools/calibration_zoo.py --out "${KTC_CALIBRATION_DIR:-$HOME/.cache/ktc/calibration}"
# The optimizer tests compare against ONNX Runtime: here its absence is a failure, not a skip.
KTC_REQUIRE_PEERS=1 KTC_ZOO_DIR="$zoo" ctest --test-dir "${KTC_BUILD_DIR:-$root/build}" --output-on-failure "$@"

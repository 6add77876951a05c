#!/usr/bin/env bash
# ctest `format`: every C++ file of the repository is laid out as .clang-format says (applied once
# to the whole tree; regions that are tables, such as the converters' schema facts and generated
# test data, are between `// clang-format off` and `on`). Prints the first differences and fails.
# Format a change with: git ls-files '*.hpp' '*.ipp' '*.cpp' '*.h' | xargs clang-format -i
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
command -v clang-format >/dev/null || { echo "format: clang-format is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
  { echo "format: $root is not a git checkout: the files to check are the tracked ones" >&2; exit 1; }
cd "$root"
if ! out=$(git ls-files -z '*.hpp' '*.ipp' '*.cpp' '*.h' | xargs -0 clang-format --dry-run -Werror 2>&1); then
  echo "$out" | head -n 40
  echo "format: files above differ from .clang-format's layout" >&2
  exit 1
fi
echo "format: $(git ls-files '*.hpp' '*.ipp' '*.cpp' '*.h' | wc -l) files as .clang-format lays them out"

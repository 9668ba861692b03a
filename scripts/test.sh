#!/usr/bin/env bash
# Second README command: install what is missing, build the release and sanitizer (ASan+UBSan)
# presets, check formatting, and run every test in both. `.ci/run` runs exactly this script.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

echo "== clang-format"
scripts/check-format.sh

for preset in release asan; do
  echo "== build ($preset)"
  scripts/build.sh "$preset"
  echo "== test ($preset)"
  ctest --preset "$preset" -j 2 --timeout 900
done

# libFuzzer targets (fuzz/README.md): a fixed short run of each over its corpus (issue #5).
echo "== fuzz (${FUZZ_SECONDS:-30} s per target)"
scripts/fuzz.sh "${FUZZ_SECONDS:-30}"

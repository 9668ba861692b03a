#!/usr/bin/env bash
# First README command: install what is missing, build, and start `stakewatch demo`.
# Extra arguments go to `stakewatch demo` (e.g. --validators=10000 --slot-time=0.5).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release
exec build/release/exporter/stakewatch demo "$@"

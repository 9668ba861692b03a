#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang 14 and fuzzes each one for SECONDS (default
# 60) over a COPY of its seed corpus, so the repository is never modified. Fails (exit 1) if any
# target reports a crash, a sanitizer error, a leak, a timeout or running out of memory, and
# prints the reproducer path and the command to replay it.
#
#   scripts/fuzz.sh [SECONDS]
#
# Environment:
#   FUZZ_BUILD_DIR  build directory (default: <repo>/build-fuzz)
#   FUZZ_TARGETS    space-separated targets to run (default: all four)
#   FUZZ_WORK_DIR   where corpus copies, logs and reproducers go (default: a fresh mktemp -d)
#   FUZZ_JOBS       build parallelism (default: nproc)
#   FUZZ_EXTRA_ARGS extra libFuzzer flags, appended last (so they override ours)
# Needs the Debian 12 packages clang-14 and libclang-rt-14-dev (the libFuzzer runtime) on top
# of scripts/install-deps.sh. See fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
  echo "usage: scripts/fuzz.sh [SECONDS]   (SECONDS: a positive integer, default 60)" >&2
  exit 2
fi
build_dir="${FUZZ_BUILD_DIR:-$root/build-fuzz}"
targets="${FUZZ_TARGETS:-fuzz_promql_parser fuzz_rule_file fuzz_series_notation fuzz_textparse}"
jobs="${FUZZ_JOBS:-$(nproc)}"

# ---- toolchain check: clang++-14 and its libFuzzer runtime.
cxx=$(command -v clang++-14 || true)
fuzzer_rt=$(ls /usr/lib/llvm-14/lib/clang/14*/lib/linux/libclang_rt.fuzzer-x86_64.a 2>/dev/null |
  head -n 1 || true)
if [ -z "$cxx" ] || [ -z "$fuzzer_rt" ]; then
  echo "fuzz.sh: clang 14 with libFuzzer is required but missing:" >&2
  [ -z "$cxx" ] && echo "  - clang++-14 not found in PATH" >&2
  [ -z "$fuzzer_rt" ] && echo "  - libFuzzer runtime libclang_rt.fuzzer-x86_64.a not found" >&2
  echo "Install it with: sudo apt-get install clang-14 libclang-rt-14-dev" >&2
  exit 2
fi

# ---- configure and build.
generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  cmake -S fuzz -B "$build_dir" "${generator[@]}" -DCMAKE_CXX_COMPILER="$cxx" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
# shellcheck disable=SC2086
cmake --build "$build_dir" -j "$jobs" --target $targets

# ---- fuzz.
work="${FUZZ_WORK_DIR:-$(mktemp -d -t stakewatch-fuzz.XXXXXX)}"
mkdir -p "$work"
echo "fuzz.sh: ${seconds}s per target; corpus copies, logs and reproducers in $work"
failed=()
for t in $targets; do
  corpus="$work/$t/corpus"
  artifacts="$work/$t/artifacts"
  log="$work/$t/fuzz.log"
  rm -rf "$corpus" "$artifacts"
  mkdir -p "$corpus" "$artifacts"
  if [ -d "fuzz/corpus/$t" ]; then cp -R "fuzz/corpus/$t/." "$corpus/"; fi
  dict=()
  case "$t" in
    fuzz_promql_parser) dict=(-dict="$root/fuzz/dict/promql.dict") ;;
    fuzz_rule_file)
      cat fuzz/dict/promql.dict fuzz/dict/rules.dict >"$work/$t/rules_all.dict"
      dict=(-dict="$work/$t/rules_all.dict")
      ;;
  esac
  echo "== $t (seeds: $(find "$corpus" -type f | wc -l))"
  rc=0
  # shellcheck disable=SC2086
  "$build_dir/$t" "$corpus" "${dict[@]}" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix="$artifacts/" -print_final_stats=1 ${FUZZ_EXTRA_ARGS:-} \
    >"$log" 2>&1 || rc=$?
  repro=$(find "$artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
    -o -name 'oom-*' \) | sort)
  if [ "$rc" -ne 0 ] || [ -n "$repro" ]; then
    failed+=("$t")
    echo "FAILED: $t (exit code $rc). Last lines of $log:" >&2
    tail -n 60 "$log" >&2
    if [ -n "$repro" ]; then
      for r in $repro; do
        echo "  reproducer: $r" >&2
        echo "  replay:     $build_dir/$t $r" >&2
      done
    else
      echo "  no reproducer was written; see $log" >&2
    fi
  else
    grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" | sed 's/^/  /' || true
    echo "  ok"
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: FAILED: ${failed[*]} (save a reproducer under fuzz/crashes/ when reporting)" >&2
  exit 1
fi
echo "fuzz.sh: all targets passed (${seconds}s each)"

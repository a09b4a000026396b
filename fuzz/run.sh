#!/usr/bin/env bash
# Runs the fuzz targets built in build-fuzz/ (make fuzz, make fuzz-smoke;
# docs/FUZZING.md).
#
#   fuzz/run.sh smoke SECONDS [TARGET...]   each target over its committed
#       seeds for SECONDS; new inputs go to a scratch directory, removed after
#   fuzz/run.sh long SECONDS [TARGET...]    each target for SECONDS, its work
#       corpus in build-fuzz/corpus/TARGET (grown from the committed seeds,
#       kept between runs, never committed)
#
# Targets run FUZZ_JOBS at a time (default 2). Each one's libFuzzer output
# is in build-fuzz/logs/TARGET.log, a crashing input in
# build-fuzz/artifacts/TARGET/. Prints one line per target (executions,
# coverage, exec/s) and fails if any target crashed.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:?usage: fuzz/run.sh smoke|long SECONDS [TARGET...]}
seconds=${2:?usage: fuzz/run.sh smoke|long SECONDS [TARGET...]}
shift 2
out=build-fuzz
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for dir in fuzz/corpus/*/; do targets+=("$(basename "$dir")"); done
fi
# Every target has a corpus and every built target is run.
for bin in "$out"/fuzz/*_fuzz; do
  name=$(basename "$bin" _fuzz)
  [ -d "fuzz/corpus/$name" ] || { echo "fuzz: $name has no fuzz/corpus/$name/" >&2; exit 1; }
done
mkdir -p "$out/logs"
# Stacks with names (clang-19 ships no llvm-symbolizer of its own; any
# version reads its debug information).
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ] && command -v llvm-symbolizer >/dev/null; then
  export ASAN_SYMBOLIZER_PATH=$(command -v llvm-symbolizer)
fi
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

run_one() {
  local mode=$1 seconds=$2 out=$3 name=$4
  local bin="$out/fuzz/${name}_fuzz" log="$out/logs/$name.log" work
  [ -x "$bin" ] || { echo "$name: $bin not built (make fuzz-build)"; return 1; }
  if [ "$mode" = smoke ]; then
    work="$out/smoke/$name"
    rm -rf "$work"
  else
    work="$out/corpus/$name"
  fi
  mkdir -p "$work" "$out/artifacts/$name"
  local status=0
  # -timeout: an input that takes this long counts as a crash (a hang).
  "$bin" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$out/artifacts/$name/" "$work" "fuzz/corpus/$name" >"$log" 2>&1 || status=$?
  [ "$mode" = smoke ] && rm -rf "$work"
  local runs cov rate
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  if [ $status -ne 0 ]; then
    echo "$name: CRASHED (exit $status), see $log and $out/artifacts/$name/"
    return 1
  fi
  printf '%-20s %10s execs  cov %6s  %8s exec/s  %ss\n' "$name" "${runs:-?}" "${cov:-?}" \
    "${rate:-?}" "$seconds"
}
export -f run_one

printf '%s\n' "${targets[@]}" |
  xargs -P "${FUZZ_JOBS:-2}" -I{} bash -c 'run_one "$@"' _ "$mode" "$seconds" "$out" {}

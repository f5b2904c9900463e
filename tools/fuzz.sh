#!/usr/bin/env bash
# Runs every fuzz target (or those matching $1) with coverage-guided fuzzing
# (`go test -fuzz`) for FUZZTIME each (default 2m), JOBS at a time (default
# 2, one fuzzing worker each), then copies the corpus each run found from
# Go's cache into the package's testdata/fuzz/<Target>/, where `go test`
# replays it as seeds. A summary line per target goes to $OUT (default
# /tmp/bankbot-fuzz/summary.txt): target, elapsed time, executions, corpus
# size, result.
#
#   tools/fuzz.sh                      # all targets, 2 minutes each
#   FUZZTIME=30s tools/fuzz.sh Omise   # the targets whose name matches Omise
set -euo pipefail
cd "$(dirname "$0")/.."

match=${1:-.}
fuzztime=${FUZZTIME:-2m}
jobs=${JOBS:-2}
outdir=${OUTDIR:-/tmp/bankbot-fuzz}
mkdir -p "$outdir"
out=${OUT:-$outdir/summary.txt}
: >"$out"
cache=$(go env GOCACHE)/fuzz

# package<TAB>target for every fuzz target.
list=$(for pkg in $(go list ./...); do
  go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' | grep -E -- "$match" | sed "s|^|$pkg\t|" || true
done)
[ -n "$list" ] || { echo "no fuzz target matches $match" >&2; exit 1; }

run_one() {
  pkg=$1 target=$2
  log="$outdir/$target.log"
  start=$(date +%s)
  if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -parallel 1 "$pkg" >"$log" 2>&1; then
    result=ok
  else
    result=FAIL
  fi
  secs=$(( $(date +%s) - start ))
  execs=$(grep -o 'execs: [0-9]*' "$log" | tail -n1 | grep -o '[0-9]*' || echo 0)
  dir=$(go list -f '{{.Dir}}' "$pkg")/testdata/fuzz/$target
  n=0
  if [ -d "$cache/$pkg/$target" ]; then
    mkdir -p "$dir"
    cp "$cache/$pkg/$target"/* "$dir"/ 2>/dev/null || true
    n=$(ls "$dir" | wc -l)
  fi
  printf '%-40s %-34s %5ss %12s execs %5s corpus %s\n' "$pkg" "$target" "$secs" "$execs" "$n" "$result" | tee -a "$OUT_FILE"
}
export -f run_one
export fuzztime outdir cache OUT_FILE="$out"

printf '%s\n' "$list" | xargs -P "$jobs" -L 1 bash -c 'run_one "$0" "$1"'
echo "summary: $out"
! grep -q ' FAIL$' "$out"

#!/usr/bin/env bash
# Path-argument benchmark (not a test; issue 10): create with N path arguments and extract with
# N/2 selected paths, against GNU tar on the same arguments, with a release build. Runs alternate
# kseal, tar, kseal, tar, ... (this machine's speed drifts), and the median of each is printed.
#
#   Benchmarks/paths.sh [N] [RUNS]      (default 16000 paths, 5 runs each)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-16000}
runs=${2:-5}
swift build -c release --product kseal >/dev/null
kseal=$(swift build -c release --show-bin-path)/kseal
work=$(mktemp -d "${TMPDIR:-/tmp}/kseal-paths.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir d && (cd d && seq -f 'file-%06g' 1 "$n" | xargs touch)
mapfile -t paths < <(seq -f 'd/file-%06g' 1 "$n")
mapfile -t selected < <(seq -f 'd/file-%06g' 1 2 "$n")
"$kseal" keygen -o key 2>/dev/null
export KSEAL_KEY_FILE=$work/key
"$kseal" create -q all.kseal d
tar cf all.tar d
seconds() { local t0; t0=$(date +%s.%N); "$@" >/dev/null; awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f\n", b - a }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
declare -A times
for ((i = 0; i < runs; i++)); do
    times[kc]+="$(seconds "$kseal" create -q c.kseal "${paths[@]}") "
    times[tc]+="$(seconds tar cf c.tar "${paths[@]}") "
    rm -rf x && mkdir x
    times[kx]+="$(seconds "$kseal" extract -q all.kseal -C x "${selected[@]}") "
    rm -rf x && mkdir x
    times[tx]+="$(seconds tar xf all.tar -C x "${selected[@]}") "
done
for key in kc tc kx tx; do
    case $key in
        kc) label="kseal create, $n path arguments" ;; tc) label="tar cf, $n path arguments" ;;
        kx) label="kseal extract, ${#selected[@]} selected paths" ;; tx) label="tar xf, ${#selected[@]} selected paths" ;;
    esac
    echo "$label: median $(tr ' ' '\n' <<< "${times[$key]}" | grep . | median) s (runs: ${times[$key]})"
done

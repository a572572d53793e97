#!/usr/bin/env bash
# Peak memory of kseal against input size (not a test): create, verify and extract of the
# deterministic corpus at several sizes, user-space backend, one run each. Data buffers are
# bounded, so what grows is the index (it is authenticated and decoded whole before use).
#
#   Benchmarks/rss.sh [SIZE_MIB...]        (default: 256 512 1024)
#
# Corpora are kept in $KSEAL_RSS_DIR (default /tmp/kseal-rss) for the next run; outputs are deleted.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- 256 512 1024
dpkg-query -W -f='${Status}' time 2>/dev/null | grep -q "ok installed" || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
Scripts/setup -c release >/dev/null 2>&1
kseal=$(swift build -c release --show-bin-path)/kseal
work=${KSEAL_RSS_DIR:-/tmp/kseal-rss}
mkdir -p "$work"
[ -f "$work/key" ] || "$kseal" keygen -o "$work/key" 2>/dev/null
export KSEAL_KEY_FILE="$work/key"
echo "| corpus | files | index | create MB/s | verify MB/s | extract MB/s | peak RSS create / verify / extract |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for size in "$@"; do
    corpus="$work/c$size"
    [ -d "$corpus/corpus" ] || { mkdir -p "$corpus" && python3 Benchmarks/make-corpus.py "$corpus/corpus" "$size"; }
    tar -cf - -C "$corpus" corpus > /dev/null
    bytes=$(du -sb "$corpus/corpus" | cut -f1)
    out="$work/out$size"; archive="$work/a$size.kseal"
    rm -rf "$out" "$archive"; mkdir "$out"
    row=() rss=()
    for op in create verify extract; do
        case $op in
            create) cmd=(sh -c "cd '$corpus' && '$kseal' create -q --crypto userspace '$archive' corpus") ;;
            verify) cmd=("$kseal" verify -q --crypto userspace "$archive") ;;
            extract) cmd=("$kseal" extract -q --crypto userspace "$archive" -C "$out") ;;
        esac
        /usr/bin/time -o "$work/timing" -f "%e %M" "${cmd[@]}" > /dev/null
        read -r secs kib < "$work/timing"
        row+=("$(awk -v b="$bytes" -v s="$secs" 'BEGIN { printf "%.0f", b / s / 1e6 }')")
        rss+=("$((kib / 1024))")
    done
    diff -r --no-dereference "$corpus/corpus" "$out/corpus" > /dev/null || { echo "FAILED: extracted tree differs ($size MiB)"; exit 1; }
    index=$("$kseal" info -q --crypto userspace "$archive" | awk '/^index:/ { printf "%.1f MiB", $2 / 1048576 }')
    echo "| $size MiB | $(find "$corpus/corpus" -type f | wc -l) | $index | ${row[0]} | ${row[1]} | ${row[2]} | ${rss[0]} / ${rss[1]} / ${rss[2]} MiB |"
    rm -rf "$out" "$archive"
done

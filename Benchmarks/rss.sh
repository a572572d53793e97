#!/usr/bin/env bash
# Peak memory of kseal against the number of files (not a test): create, verify and extract of
# corpora of COUNT small files (Benchmarks/make-corpus.py --files), one run each. Each cell is the
# peak RSS (the kernel's high-water mark, as /usr/bin/time reports it) and, in brackets, the peak
# of anonymous memory (Benchmarks/peak-memory.py): what the run allocated itself. The RSS also
# counts the pages of the binary the run mapped, which move with the page cache by half a MiB
# from one run to the next; the anonymous peak does not.
#
#   Benchmarks/rss.sh [COUNT...]            (default: 1000 10000 30000 100000)
#       the release build, user-space backend, on this host
#   Benchmarks/rss.sh --device [COUNT...]
#       verify and extract by the device binary (Scripts/setup --device, kernel-only) inside
#       Debian's 6.12 under QEMU (Scripts/kernel-run); the archives are made on the host
#
# Corpora are kept in $KSEAL_RSS_DIR (default /tmp/kseal-rss) for the next run; outputs are deleted.
set -euo pipefail
cd "$(dirname "$0")/.."
device=0
[ "${1:-}" = --device ] && { device=1; shift; }
[ $# -gt 0 ] || set -- 1000 10000 30000 100000
dpkg-query -W -f='${Status}' time 2>/dev/null | grep -q "ok installed" || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
Scripts/setup -c release >/dev/null 2>&1
kseal=$(swift build -c release --show-bin-path)/kseal
work=${KSEAL_RSS_DIR:-/tmp/kseal-rss}
mkdir -p "$work"
[ -f "$work/key" ] || "$kseal" keygen -o "$work/key" 2>/dev/null
export KSEAL_KEY_FILE="$work/key"
mib() { awk -v k="$1" -v a="$2" 'BEGIN { printf "%.1f (%.1f) MiB", k / 1024, a / 1024 }'; }  # KiB as MiB: RSS (anonymous)
peak="$PWD/Benchmarks/peak-memory.py"
measure() {  # measure COMMAND...: prints "SECONDS RSS_KIB ANON_KIB"
    python3 "$peak" "$@"
}
for count in "$@"; do
    corpus="$work/files$count"
    [ -d "$corpus/corpus" ] || { mkdir -p "$corpus" && python3 Benchmarks/make-corpus.py --files "$corpus/corpus" "$count"; }
done
if [ $device = 1 ]; then
    bin=$(Scripts/setup --device | tail -n 1)
    for count in "$@"; do
        [ -f "$work/files$count.kseal" ] || (cd "$work/files$count" && "$kseal" create -q --crypto userspace "$work/files$count.kseal" corpus)
    done
    cat > "$work/guest.sh" <<GUEST
set -e
$(declare -f measure mib)
work="$work" peak="$peak"
for count in $*; do
    out=\$TMPDIR/out\$count; mkdir "\$out"
    read -r vs vk va <<< "\$(measure "$bin" verify -q -k "$work/key" "$work/files\$count.kseal")"
    read -r es ek ea <<< "\$(measure "$bin" extract -q -k "$work/key" "$work/files\$count.kseal" -C "\$out")"
    [ "\$(find "\$out/corpus" -type f | wc -l)" = \$count ] || { echo "FAILED: \$count files expected"; exit 1; }
    rm -rf "\$out"
    echo "| \$count | device (kernel-only, static), Linux \$(uname -r) | - | \$(mib \$vk \$va) | \$(mib \$ek \$ea) |"
done
GUEST
    echo "| files | build | create: peak RSS (anonymous) | verify | extract |"
    echo "|---:|---|---:|---:|---:|"
    KERNEL_TMPFS=${KERNEL_TMPFS:-1536m} KERNEL_MEM=${KERNEL_MEM:-3G} Scripts/kernel-run 6.12 bash "$work/guest.sh" 2>/dev/null
    exit
fi
echo "| files | build | create: peak RSS (anonymous) | verify | extract | index |"
echo "|---:|---|---:|---:|---:|---:|"
for count in "$@"; do
    corpus="$work/files$count" archive="$work/a.kseal" out="$work/out"
    rm -rf "$out" "$archive"; mkdir "$out"
    read -r _ ck ca <<< "$(cd "$corpus" && measure "$kseal" create -q --crypto userspace "$archive" corpus)"
    read -r _ vk va <<< "$(measure "$kseal" verify -q --crypto userspace "$archive")"
    read -r _ ek ea <<< "$(measure "$kseal" extract -q --crypto userspace "$archive" -C "$out")"
    diff -r "$corpus/corpus" "$out/corpus" > /dev/null || { echo "FAILED: extracted tree differs ($count files)"; exit 1; }
    index=$("$kseal" info -q --crypto userspace "$archive" | awk '/^index:/ { printf "%.1f MiB", $2 / 1048576 }')
    echo "| $count | host (release, user space) | $(mib $ck $ca) | $(mib $vk $va) | $(mib $ek $ea) | $index |"
    rm -rf "$out" "$archive"
done

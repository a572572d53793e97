#!/usr/bin/env bash
# Rekey benchmark (not a test; issue 11): adding a key slot to a 1 GiB archive with
# `kseal rekey` (header and slots rewritten, index and frames copied with copy_file_range)
# against re-creating the archive from its tree, release build, alternating the two (A B A B).
# Both write and fsync the whole archive, so on a file system without shared extents both are
# bound by the disk; rekey's gain is the CPU (nothing decrypted, compressed or hashed), which
# the "cpu" figures show. (copy_file_range cannot share extents here even on XFS or btrfs: the
# frames move by the size of the slots added, and clones need block-aligned offsets.)
#
#   Benchmarks/rekey.sh [MiB] [RUNS]      (default 1024 MiB of incompressible data, 5 pairs)
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-1024}
runs=${2:-5}
Scripts/setup -c release >/dev/null 2>&1
kseal=$(swift build -c release --show-bin-path)/kseal
work=$(mktemp -d "${TMPDIR:-/var/tmp}/kseal-rekey.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir tree && head -c "$((mib << 20))" /dev/urandom > tree/data
"$kseal" keygen -q -o key && "$kseal" keygen -q -o extra
"$kseal" create -q -k key a.kseal tree
# Each timed command starts with no dirty pages left from the one before (sync first): both end
# with an fsync of their 1 GiB, and leftover writeback would be billed to whichever runs next.
# Prints "wall cpu" (cpu = user + system of the command).
timed() { sync; local TIMEFORMAT='%R %U %S'; { time "$@" >/dev/null 2>&1; } 2>&1 | awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
rekey=() create=() ratios=() rcpu=() ccpu=()
for ((i = 0; i < runs; i++)); do
    read -r r rc < <(timed "$kseal" rekey -q -k key --add-key extra a.kseal)
    "$kseal" rekey -q -k key --remove-slot 1 a.kseal  # back to one live slot for the next pair
    read -r c cc < <(timed "$kseal" create -q -k key -k extra b.kseal tree)
    rekey+=("$r") create+=("$c") rcpu+=("$rc") ccpu+=("$cc") ratios+=("$(awk -v c="$c" -v r="$r" 'BEGIN { printf "%.1f", c / r }')")
    echo "pair $((i + 1)): rekey ${r} s (cpu ${rc} s), re-create ${c} s (cpu ${cc} s): ${ratios[-1]}x"
done
echo "archive $(stat -c %s a.kseal) bytes; median rekey $(printf '%s\n' "${rekey[@]}" | median) s (cpu $(printf '%s\n' "${rcpu[@]}" | median) s)," \
     "median re-create $(printf '%s\n' "${create[@]}" | median) s (cpu $(printf '%s\n' "${ccpu[@]}" | median) s)," \
     "wall ratio median $(printf '%s\n' "${ratios[@]}" | median)x (range $(printf '%s\n' "${ratios[@]}" | sort -n | head -1)x-$(printf '%s\n' "${ratios[@]}" | sort -n | tail -1)x)"
"$kseal" verify -q -k extra a.kseal >/dev/null 2>&1 && echo "unexpected: the removed slot still opens" && exit 1
"$kseal" verify -q -k key a.kseal

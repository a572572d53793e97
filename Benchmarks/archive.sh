#!/usr/bin/env bash
# Archive benchmark (not a test): create, verify and extract one real tree with a release build,
# on the host (user space) and inside user-mode-linux (kernel and user space), reporting archive
# size, wall time and MB/s of input. UML timings are only meaningful as ratios.
#
#   Benchmarks/archive.sh [TREE]      (default: a copy of /usr/share/doc)
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/setup -c release >/dev/null 2>&1
kseal=$(swift build -c release --show-bin-path)/kseal
source_tree=${1:-/usr/share/doc}
work=$(mktemp -d "${TMPDIR:-/tmp}/kseal-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/tree" && cp -a "$source_tree/." "$work/tree/"
bytes=$(du -sb "$work/tree" | cut -f1)
"$kseal" keygen -o "$work/key" 2>/dev/null
cat > "$work/run.sh" <<RUN
set -e
label=\$1; crypto=\$2; dir=\$3
cd "$work"
export KSEAL_KEY_FILE="$work/key"
t() { local a=\$(date +%s.%N); "\$@" >/dev/null; awk -v a=\$a -v b=\$(date +%s.%N) -v n=$bytes -v w="\$op" -v l="\$label" \
      'BEGIN { printf "%-22s %-8s %7.2f s %8.1f MB/s\n", l, w, b - a, n / (b - a) / 1e6 }'; }
rm -rf "\$dir" && mkdir -p "\$dir/out"
op=create;  t "$kseal" create -q --crypto \$crypto "\$dir/a.kseal" tree
op=verify;  t "$kseal" verify -q --crypto \$crypto "\$dir/a.kseal"
op=extract; t "$kseal" extract -q --crypto \$crypto "\$dir/a.kseal" -C "\$dir/out"
echo "\$label archive: \$(stat -c %s "\$dir/a.kseal") bytes from $bytes bytes of input"
RUN
echo "tree: $source_tree, $bytes bytes, $(find "$work/tree" -type f | wc -l) files"
sh "$work/run.sh" "host $(uname -r | cut -d- -f1) userspace" userspace "$work/host"
Scripts/uml-run sh -c "sh $work/run.sh 'uml 6.1 kernel' kernel $work/uml-k && sh $work/run.sh 'uml 6.1 userspace' userspace $work/uml-u"

# Syscalls on the kernel path for whole archive operations: every AEAD operation should be one
# sendmsg and one recvmsg, every chunk hash one send and one receive, and operation sockets
# (accept) a fixed number per worker, not one per chunk.
echo "== syscalls inside user-mode-linux, kernel backend (strace -c -f)"
cat > "$work/trace.sh" <<TRACE
set -e
cd "$work"
export KSEAL_KEY_FILE="$work/key"
mkdir -p "$work/trace"
strace -c -f -o "$work/trace/create" "$kseal" create -q --crypto kernel "$work/trace/a.kseal" tree
strace -c -f -o "$work/trace/verify" "$kseal" verify -q --crypto kernel "$work/trace/a.kseal"
"$kseal" info -q --crypto kernel "$work/trace/a.kseal" > "$work/trace/info"
TRACE
Scripts/uml-run sh "$work/trace.sh" >/dev/null
chunks=$(awk '/^chunks:/ { print $2 }' "$work/trace/info")
segments=$(awk '/^index:/ { c = $4; printf "%d", (c + 131071) / 131072 }' "$work/trace/info")
files=$(find "$work/tree" -type f | wc -l)
for op in create verify; do
    calls() { awk -v s="$1" '$NF == s { print $4 }' "$work/trace/$op" | head -n 1; }
    echo "-- $op: $chunks frames (+$segments index segments), $files files"
    for s in socket accept accept4 sendmsg sendto recvmsg recvfrom read; do
        printf '   %-9s %s\n' "$s" "$(calls $s || true)"
    done
done

#!/usr/bin/env bash
# Crypto backend benchmark (not a test): per-operation cost and throughput of seal, open and
# sha256 at 4 KiB, 64 KiB and the largest AF_ALG message, on the host (user space) and inside
# user-mode-linux (both backends), plus syscalls per operation on the kernel path (strace -c).
# UML timings are only meaningful as ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v strace >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace >/dev/null; }
swift build -c release --static-swift-stdlib --product kseal-bench >&2
bench=$(swift build -c release --show-bin-path)/kseal-bench
echo "== host ($(uname -r)), user space"
"$bench" --backend userspace
echo "== user-mode-linux, both backends"
Scripts/uml-run "$bench" --backend all
echo "== user-mode-linux, syscalls for 1000 kernel operations of 64 KiB each"
for op in seal open sha256; do
    echo "-- $op"
    trace=$(mktemp)
    Scripts/uml-run strace -c -f -o "$trace" "$bench" --backend kernel --op "$op" --size 65536 --count 1000 >/dev/null
    grep -E "calls|sendmsg|recvmsg|sendto|recvfrom|accept|socket|total" "$trace" || true
    rm -f "$trace"
done

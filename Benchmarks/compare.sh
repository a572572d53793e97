#!/usr/bin/env bash
# Side-by-side benchmark (not a test): kseal against the tools people use today, on one
# deterministic corpus, in one run. This machine's steal time swings a run by 20 %, so kseal
# and the tar | zstd | age pipeline alternate run by run (kseal create, age create, kseal
# verify, age verify, kseal extract, age extract; then again), and what is reported is the
# ratio of each adjacent pair, its median and its spread. An older kseal (KSEAL_BEFORE) runs
# after age in odd pairs and before it in even ones, where kseal runs after it.
#
#   Benchmarks/compare.sh [SIZE_MIB] [PAIRS]        (defaults: 1024 MiB, 5 pairs)
#   KSEAL_BEFORE=/path/to/older/kseal Benchmarks/compare.sh ...
#       also alternates an older kseal binary (before/after in the same run)
#
# restic (zstd auto), borg 1.2 (zstd,3) and tar alone run once, in the first pair, except tar's
# extraction of the corpus as a plain tar, which runs in every pair: the floor of extraction on
# this file system. Nothing is deleted between measured tools (ext4 is slow to create files for
# minutes after a mass delete); the work directory (default /tmp/kseal-compare, about
# 5 × SIZE × PAIRS while it runs) keeps only the corpus afterwards, and the next run waits for
# the cleanup to settle.
#
# Tools: kseal (user-space backend; the kernel backend only inside the kernel harnesses), installs
# the others from Debian. Every extraction is compared with the corpus (diff -r). Prints MB/s of
# input, archive size, peak RSS and CPU-seconds (from /usr/bin/time), and writes
# Benchmarks/results-<date>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1024}
runs=${2:-5}
before=${KSEAL_BEFORE:-}
export DEBIAN_FRONTEND=noninteractive
missing=()
for p in zstd age restic borgbackup time python3; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] || { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; }
Scripts/setup -c release >/dev/null 2>&1
kseal=$(swift build -c release --show-bin-path)/kseal

work=${KSEAL_BENCH_DIR:-/tmp/kseal-compare}
mkdir -p "$work"
# The corpus is deterministic, so one of the same size is reused. Outputs of the last run are
# deleted at its end, not here: ext4 creates files 2-5x slower for minutes after a mass delete,
# so a run waits until 6 minutes have passed since the last cleanup.
if [ "$(cat "$work/corpus.size" 2>/dev/null)" != "$size" ]; then
    rm -rf "$work/corpus" && touch "$work/cleaned"
    python3 Benchmarks/make-corpus.py "$work/corpus" "$size"
    echo "$size" > "$work/corpus.size"
fi
# Outputs left by an interrupted run.
stale=$(find "$work" -mindepth 1 -maxdepth 1 ! -name corpus ! -name corpus.size ! -name cleaned ! -name '*.key' ! -name timing ! -name err)
[ -z "$stale" ] || { echo "$stale" | xargs rm -rf; touch "$work/cleaned"; }
if [ -f "$work/cleaned" ]; then
    wait_s=$(( $(stat -c %Y "$work/cleaned") + 360 - $(date +%s) ))
    [ "$wait_s" -le 0 ] || { echo "waiting ${wait_s} s for ext4 to settle after the last delete" >&2; sleep "$wait_s"; }
fi
outputs=()
trap '[ ${#outputs[@]} -eq 0 ] || { rm -rf "${outputs[@]}"; touch "$work/cleaned"; }' EXIT
bytes=$(du -sb "$work/corpus" | cut -f1)
files=$(find "$work/corpus" -type f | wc -l)
# The corpus as a plain tar, for the floor of extraction below; making it also warms the page
# cache, so the first tool is not charged for reading the corpus.
plain="$work/plain.tar"
outputs+=("$plain")
tar -cf "$plain" -C "$work" corpus

[ -f "$work/kseal.key" ] || "$kseal" keygen -o "$work/kseal.key" 2>/dev/null
[ -f "$work/age.key" ] || age-keygen -o "$work/age.key" 2>/dev/null
recipient=$(age-keygen -y "$work/age.key")
export RESTIC_PASSWORD=bench BORG_PASSPHRASE=bench BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes

# measure LABEL PHASE CMD...: runs CMD under /usr/bin/time, records seconds, peak RSS and CPU
# seconds (user + system, of the whole pipeline for the shell-run tools).
declare -A secs rss cpu sizes
measure() {
    local label=$1 phase=$2; shift 2
    local e m u s
    /usr/bin/time -o "$work/timing" -f "%e %M %U %S" "$@" > /dev/null 2>"$work/err" || { echo "FAILED: $label $phase: $(tail -3 "$work/err")"; exit 1; }
    read -r e m u s < <(tail -n 1 "$work/timing")
    secs[$label,$phase]+="$e "
    rss[$label,$phase]+="$m "
    cpu[$label,$phase]+="$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }') "
}
# check DIR: the extracted corpus must equal the original.
check() { diff -r --no-dereference "$work/corpus" "$1/corpus" > /dev/null || { echo "FAILED: $1 differs from the corpus"; exit 1; }; }
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{a[NR]=$1} END { if (NR) print a[int((NR+1)/2)] }'; }
# pair_ratio TOOL PHASE: age's seconds over TOOL's, pair by pair, as "MEDIAN× (MIN-MAX)".
pair_ratio() {
    local ratios
    ratios=$(paste -d' ' <(echo "${secs[age,$2]}" | tr ' ' '\n' | sed '/^$/d') <(echo "${secs[$1,$2]}" | tr ' ' '\n' | sed '/^$/d') \
             | awk '{ printf "%.2f ", $1 / $2 }')
    echo "$(echo "$ratios" | median)× ($(echo "$ratios" | tr ' ' '\n' | sed '/^$/d' | sort -g | sed -n '1p;$p' | paste -sd '-'))"
}

kseal_run() {  # kseal_run LABEL BINARY PHASE RUN
    local label=$1 bin=$2 phase=$3 run=$4 k="$work/$1-$4.kseal" ko="$work/$1-out$4"
    case $phase in
        create) outputs+=("$k" "$ko"); mkdir "$ko"
                measure "$label" create sh -c "cd '$work' && '$bin' create -q --crypto userspace -k kseal.key '$k' corpus"
                sizes[$label]=$(stat -c %s "$k") ;;
        verify) measure "$label" verify "$bin" verify -q --crypto userspace -k "$work/kseal.key" "$k" ;;
        extract) measure "$label" extract "$bin" extract -q --crypto userspace -k "$work/kseal.key" "$k" -C "$ko"; check "$ko" ;;
    esac
}
age_run() {  # age_run PHASE RUN
    local a="$work/a$2.tar.zst.age" ao="$work/a-out$2"
    case $1 in
        create) outputs+=("$a" "$ao"); mkdir "$ao"
                measure age create sh -c "tar -cf - -C '$work' corpus | zstd -q -T0 -3 | age -r $recipient > '$a'"
                sizes[age]=$(stat -c %s "$a") ;;
        verify) measure age verify sh -c "age -d -i '$work/age.key' '$a' | zstd -q -d > /dev/null" ;;
        extract) measure age extract sh -c "age -d -i '$work/age.key' '$a' | zstd -q -d | tar -xf - -C '$ao'"; check "$ao" ;;
    esac
}

# tar_extract RUN: `tar -x` of the plain tar, in every pair: writing the files and decoding
# nothing, the floor of any extraction on this file system, measured beside the others.
tar_extract() {
    local to="$work/t-out$1"
    outputs+=("$to"); mkdir "$to"
    measure tar extract tar -xf "$plain" -C "$to"
    check "$to"
}

for run in $(seq 1 "$runs"); do
    echo "== pair $run of $runs" >&2
    for phase in create verify extract; do
        # With an older kseal, the two swap ends every pair (age stays between them): whatever
        # runs first pays more for the previous phase's writeback and page reclaim.
        if [ -n "$before" ] && [ $((run % 2)) = 0 ]; then
            kseal_run kseal-before "$before" $phase $run
            age_run $phase $run
            kseal_run kseal "$kseal" $phase $run
        else
            kseal_run kseal "$kseal" $phase $run
            age_run $phase $run
            [ -z "$before" ] || kseal_run kseal-before "$before" $phase $run
        fi
    done
    tar_extract "$run"
    [ "$run" = 1 ] || continue
    # restic
    r="$work/restic$run"; ro="$work/r-out$run"; mkdir "$ro"
    outputs+=("$r" "$ro")
    restic init -q -r "$r" > /dev/null
    measure restic create sh -c "cd '$work' && restic -q -r '$r' backup --compression auto corpus"
    measure restic verify restic -q -r "$r" check --read-data
    measure restic extract restic -q -r "$r" restore latest --target "$ro"
    check "$ro"; sizes[restic]=$(du -sb "$r" | cut -f1)
    # borg
    b="$work/borg$run"; bo="$work/b-out$run"; mkdir "$bo"
    outputs+=("$b" "$bo")
    borg init -e repokey-blake2 "$b" > /dev/null 2>&1
    measure borg create sh -c "cd '$work' && borg create --compression zstd,3 '$b::a' corpus"
    measure borg verify borg check --verify-data "$b"
    measure borg extract sh -c "cd '$bo' && borg extract '$b::a'"
    check "$bo"; sizes[borg]=$(du -sb "$b" | cut -f1)
    # tar alone (its extraction runs in every pair, above)
    t="$work/t$run.tar"
    outputs+=("$t")
    measure tar create tar -cf "$t" -C "$work" corpus
    sizes[tar]=$(stat -c %s "$t")
done

result="Benchmarks/results-$(date +%Y-%m-%d).md"
{
    echo "Corpus: $((bytes / 1048576)) MiB, $files files ($(nproc) cores, $(uname -r); kseal and age, and tar's extraction: medians of $runs alternating pairs; restic, borg, tar's creation: one run; MB/s of input)."
    echo
    echo "| tool | create | verify | extract | archive | peak RSS create / verify / extract |"
    echo "|---|---:|---:|---:|---:|---:|"
    spread=""
    tools=(kseal age restic borg tar)
    [ -z "$before" ] || tools=(kseal kseal-before age restic borg tar)
    for tool in "${tools[@]}"; do
        row="| $tool"
        for phase in create verify extract; do
            s=$(echo "${secs[$tool,$phase]:-}" | median)
            if [ -n "$s" ]; then row+=" | $(awk -v b="$bytes" -v s="$s" 'BEGIN { printf "%.0f (%.2f s)", b / s / 1e6, s }')"; else row+=" | —"; fi
            [ -z "${secs[$tool,$phase]:-}" ] || spread+="$tool $phase: ${secs[$tool,$phase]% }; "
        done
        row+=" | $(( ${sizes[$tool]} / 1048576 )) MiB |"
        r=""
        for phase in create verify extract; do
            m=$(echo "${rss[$tool,$phase]:-}" | median)
            if [ -n "$m" ]; then r+="$((m / 1024)) / "; else r+="— / "; fi
        done
        echo "$row ${r% / } MiB |"
    done
    # Each pair's throughput ratio (age's seconds over the tool's), its median and spread.
    echo
    echo "| throughput ratio, pair by pair | create | verify | extract |"
    echo "|---|---:|---:|---:|"
    for tool in kseal ${before:+kseal-before}; do
        row="| $tool ÷ tar \\| zstd \\| age"
        for phase in create verify extract; do row+=" | $(pair_ratio "$tool" "$phase")"; done
        echo "$row |"
    done
    # The floor: tar -x alone against the pipeline, pair by pair. An extraction faster than the
    # pipeline by more than this would write files faster than tar does without decoding anything.
    echo "| tar -x alone (writes the files, decodes nothing) ÷ tar \\| zstd \\| age | — | — | $(pair_ratio tar extract) |"
    # CPU time against wall time: how many of the cores each tool kept busy.
    echo
    echo "| CPU-seconds (cores busy), median | create | verify | extract |"
    echo "|---|---:|---:|---:|"
    for tool in kseal ${before:+kseal-before} age tar; do
        row="| $tool"
        for phase in create verify extract; do
            if [ -n "${cpu[$tool,$phase]:-}" ]; then
                c=$(echo "${cpu[$tool,$phase]}" | median) s=$(echo "${secs[$tool,$phase]}" | median)
                row+=" | $(awk -v c="$c" -v s="$s" 'BEGIN { printf "%.2f (%.2f)", c, c / s }')"
            else row+=" | —"; fi
        done
        echo "$row |"
    done
    echo
    echo "Seconds per run: ${spread% ; }"
} | tee "$result"

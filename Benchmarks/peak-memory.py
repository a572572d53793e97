#!/usr/bin/env python3
"""Runs a command and prints its peak memory as "SECONDS PEAK_RSS_KIB PEAK_ANON_KIB" (not a test).

Peak RSS is the kernel's own high-water mark, as /usr/bin/time reports it (%M). It counts
the pages of the executable and its libraries that the run mapped, and which of those a run maps
depends on what of the binary file is in the page cache (the same binary measured 15.3-15.7 MiB
run from the file the linker wrote and 15.7-16.4 MiB from a copy of it). Peak anonymous memory
(RssAnon of /proc/PID/status, sampled every 2 ms) is what the run itself allocated: heap,
buffers, thread stacks; it does not move with the page cache, and it is what grows, or not, with
the archive.

    Benchmarks/peak-memory.py COMMAND [ARG...]     (the command's output goes to /dev/null)
"""
import subprocess
import sys
import tempfile
import time


def first_child(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            found = children.read().split()
            return int(found[0]) if found else None
    except OSError:
        return None


def anon_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    # The command runs under /usr/bin/time, which reports its peak RSS: the kernel charges a
    # process with the peak of the memory it ran in before exec, so a command started from this
    # interpreter directly would report at least the interpreter's 10 MiB.
    with tempfile.NamedTemporaryFile("r") as timing:
        child = subprocess.Popen(["/usr/bin/time", "-o", timing.name, "-f", "%e %M", *sys.argv[1:]], stdout=subprocess.DEVNULL)
        peak_anon = 0
        command = None
        while child.poll() is None:
            command = command or first_child(child.pid)
            if command:
                peak_anon = max(peak_anon, anon_kib(command))
            time.sleep(0.002)
        if child.returncode != 0:
            sys.exit(f"peak-memory: {sys.argv[1]} exited with status {child.returncode}")
        seconds, peak_rss = timing.read().split()[-2:]
    print(f"{seconds} {peak_rss} {peak_anon}")


if __name__ == "__main__":
    main()

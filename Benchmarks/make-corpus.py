#!/usr/bin/env python3
"""Deterministic benchmark corpus, shaped like the one in issue 5: source trees found on the
machine, binaries and seeded random data, 10,000 files under 4 KiB, three large files and
duplicated files. Same machine + same size + same seed = same corpus.

    make-corpus.py DIR [SIZE_MIB]     (default 1024)
    make-corpus.py --files DIR COUNT  COUNT small files (1 byte to 4 KiB of text, 100 a directory),
                                      for memory against the number of files (Benchmarks/rss.sh)
"""
import os, random, shutil, sys

def many_files(root, count):
    rng = random.Random(20261129)
    words = [bytes(rng.choice("abcdefghijklmnopqrstuvwxyz") * rng.randint(1, 9), "ascii") for _ in range(512)]
    for i in range(count):
        d = os.path.join(root, f"d{i // 10000:02d}", f"d{i // 100 % 100:02d}")
        if i % 100 == 0:
            os.makedirs(d)
        size, out = rng.randint(1, 4096), bytearray()
        while len(out) < size:
            out += rng.choice(words) + b" "
        out[:8] = f"{i:08d}".encode()  # every file distinct: no dedup to hide the count
        with open(os.path.join(d, f"f{i:06d}.txt"), "wb") as f:
            f.write(bytes(out[:size]))

def main():
    if sys.argv[1] == "--files":
        many_files(sys.argv[2], int(sys.argv[3]))
        return
    root = sys.argv[1]
    total = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    scale = total / 988.0
    rng = random.Random(20261128)
    os.makedirs(root, exist_ok=False)

    def copy_tree_share(sources, dest, budget):
        """Copies regular files from the sources, in sorted order, until the budget (bytes) is used."""
        used = 0
        for source in sources:
            for dirpath, dirnames, filenames in os.walk(source):
                dirnames.sort()
                for name in sorted(filenames):
                    path = os.path.join(dirpath, name)
                    if not os.path.isfile(path) or os.path.islink(path):
                        continue
                    size = os.path.getsize(path)
                    if used + size > budget:
                        continue
                    target = os.path.join(dest, os.path.relpath(path, "/"))
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    shutil.copyfile(path, target)
                    used += size
                    if used >= budget * 0.98:
                        return used
        return used

    def random_bytes(n, compressible):
        if compressible:
            words = [bytes(rng.choice("abcdefghijklmnopqrstuvwxyz") * rng.randint(1, 9), "ascii") for _ in range(512)]
            out = bytearray()
            while len(out) < n:
                out += rng.choice(words) + b" "
            return bytes(out[:n])
        return rng.randbytes(n)

    mib = 1 << 20
    # 213 MiB of source trees.
    copy_tree_share(["/usr/share/doc", "/usr/include", "/opt/swift/usr/lib/swift/linux"], os.path.join(root, "src"), int(213 * mib * scale))
    # 142 MiB of binaries and random data, half each.
    copy_tree_share(["/opt/swift/usr/bin", "/usr/lib/x86_64-linux-gnu"], os.path.join(root, "bin"), int(71 * mib * scale))
    os.makedirs(os.path.join(root, "random"))
    for i in range(max(1, int(71 * scale))):
        with open(os.path.join(root, "random", f"r{i:04d}.bin"), "wb") as f:
            f.write(rng.randbytes(mib))
    # 10,000 small files under 4 KiB.
    for i in range(int(10000 * min(scale, 1.0)) or 1):
        d = os.path.join(root, "small", f"d{i // 100:03d}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"f{i:05d}.txt"), "wb") as f:
            f.write(random_bytes(rng.randint(1, 4095), compressible=True))
    # Three large files: text, random, mixed.
    big = int((988 - 213 - 142 - 150 - 20) * scale * mib / 3)
    os.makedirs(os.path.join(root, "large"))
    with open(os.path.join(root, "large", "text.log"), "wb") as f:
        for _ in range(big // mib):
            f.write(random_bytes(mib, True))
    with open(os.path.join(root, "large", "random.img"), "wb") as f:
        for _ in range(big // mib):
            f.write(rng.randbytes(mib))
    with open(os.path.join(root, "large", "mixed.bin"), "wb") as f:
        for i in range(big // mib):
            f.write(random_bytes(mib, i % 2 == 0))
    # 150 MiB of duplicated files: copies of files already in the corpus.
    pool = sorted(os.path.join(dp, n) for dp, _, fs in os.walk(os.path.join(root, "src")) for n in fs) + \
           sorted(os.path.join(root, "random", n) for n in os.listdir(os.path.join(root, "random")))
    used, budget, i = 0, int(150 * mib * scale), 0
    os.makedirs(os.path.join(root, "dups"))
    while used < budget and pool:
        source = pool[rng.randrange(len(pool))]
        shutil.copyfile(source, os.path.join(root, "dups", f"{i:05d}-" + os.path.basename(source)))
        used += os.path.getsize(source)
        i += 1

main()

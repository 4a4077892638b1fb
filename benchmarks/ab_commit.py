#!/usr/bin/env python3
"""Interleaved A/B of `lstore commit --file` between builds, for changes too small to see
in one `run.sh` row on a machine whose speed drifts through the hour.

    python3 benchmarks/ab_commit.py ROUNDS EVENTS.ndjson LSTORE_A LSTORE_B [...]

Each round commits EVENTS.ndjson (e.g. the first 300,000 lines of the half set's
commit.ndjson, which run.sh generates) into a new store with every binary, alternating the
order from round to round so neither build always runs first after a sync. Prints, per
binary, the minimum and median wall clock and CPU time (user + sys) and the peak RSS, as
GNU time reports them, and the median over rounds of each binary's time divided by the
first binary's in the same round. A "binary" can be a script that sets an environment variable and
execs lstore, for switches of an experimental build.
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMA = os.path.join(ROOT, "examples", "todomvc", "schema.yaml")


def one_commit(binary, events):
    store = tempfile.mkdtemp(prefix="lstore-ab-")
    try:
        subprocess.run([binary, "-q", "init", "--schema", SCHEMA, "--store-id", "ab"], cwd=store, check=True,
                       stdout=subprocess.DEVNULL)
        os.sync()  # the previous run's writeback must not land on this one
        timed = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", binary, "-q", "commit", "-m", "bulk", "--file", events],
                               cwd=store, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wall, user, system, rss = timed.stderr.split()[-4:]
        return float(wall), float(user) + float(system), int(rss)
    finally:
        shutil.rmtree(store, ignore_errors=True)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    rounds, events, binaries = int(sys.argv[1]), os.path.abspath(sys.argv[2]), sys.argv[3:]
    results = {binary: [] for binary in binaries}
    for round_number in range(rounds):
        for binary in binaries if round_number % 2 == 0 else reversed(binaries):
            results[binary].append(one_commit(binary, events))
    for binary in binaries:
        walls = [r[0] for r in results[binary]]
        cpus = [r[1] for r in results[binary]]
        print(f"{binary}: wall min {min(walls):.3f} s, median {statistics.median(walls):.3f} s; "
              f"CPU min {min(cpus):.3f} s, median {statistics.median(cpus):.3f} s; "
              f"peak {max(r[2] for r in results[binary]) // 1024} MB")
    # Within a round the builds run back to back, so the machine's drift through the hour
    # mostly cancels in their ratio: the median of the per-round ratios is the figure to read.
    first = binaries[0]
    for binary in binaries[1:]:
        walls = [b[0] / a[0] for a, b in zip(results[first], results[binary])]
        cpus = [b[1] / a[1] for a, b in zip(results[first], results[binary])]
        print(f"{binary} / {first}: wall ratio median {statistics.median(walls):.3f} "
              f"(range {min(walls):.3f}-{max(walls):.3f}); CPU ratio median {statistics.median(cpus):.3f}")


if __name__ == "__main__":
    main()

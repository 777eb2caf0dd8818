"""Debug only: what grew between two tracemalloc snapshots of one process (written by bench/tracemalloc_site).

    python bench/tracemalloc_diff.py EARLIER.snapshot LATER.snapshot [--top 25] [--frames 8] [--key traceback|lineno|filename]
"""

from __future__ import annotations

import argparse
import tracemalloc

IGNORED = (tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib._bootstrap*>"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("earlier")
    parser.add_argument("later")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--key", default="traceback", choices=("traceback", "lineno", "filename"))
    args = parser.parse_args()
    earlier = tracemalloc.Snapshot.load(args.earlier).filter_traces(IGNORED)
    later = tracemalloc.Snapshot.load(args.later).filter_traces(IGNORED)
    total = sum(stat.size for stat in later.statistics("filename")) - sum(stat.size for stat in earlier.statistics("filename"))
    print(f"traced memory: {sum(s.size for s in earlier.statistics('filename')) / 2**20:.2f} MiB -> "
          f"{sum(s.size for s in later.statistics('filename')) / 2**20:.2f} MiB ({total / 2**10:+.0f} KiB)\n")
    for stat in later.compare_to(earlier, args.key)[: args.top]:
        print(f"{stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks  (now {stat.size / 1024:.0f} KiB, {stat.count} blocks)")
        for line in stat.traceback.format(limit=args.frames, most_recent_first=True):
            print(f"    {line}")
        print()


if __name__ == "__main__":
    main()

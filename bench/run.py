"""Run Herald's benchmarks and print a Markdown report for docs/benchmarks.md.

    .venv/bin/python bench/run.py [--rounds N] [--only NAME]

Each `bench/bench_*.py` module exposes `pairs() -> list[Pair]`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from harness import Pair, measure


def _machine() -> str:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--only", help="run only the modules whose name contains this")
    args = parser.parse_args()
    pairs: list[Pair] = []
    for path in sorted(Path(__file__).parent.glob("bench_*.py")):
        if args.only and args.only not in path.stem:
            continue
        pairs.extend(importlib.import_module(path.stem).pairs())
    print(f"Machine: {_machine()}\n")
    print("| operation | ops/s | µs/op | floor | floor ops/s | x floor | goal |")
    print("|---|---:|---:|---|---:|---:|---|")
    for pair in pairs:
        r = measure(pair, rounds=args.rounds)
        print(
            f"| {pair.name} | {r.ops_per_s:,.0f} | {r.us_per_op:.2f} | {pair.floor_name} | "
            f"{r.floor_ops_per_s:,.0f} | {r.ratio:.2f} | {pair.goal} |",
            flush=True,
        )


if __name__ == "__main__":
    main()

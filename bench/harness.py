"""A tiny benchmark harness: each measurement runs side by side with its floor, in one process.

These machines are noisy, so absolute figures move from run to run; the ratio of a measurement
to a floor measured in the same run, interleaved, is what `docs/benchmarks.md` reports.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable


@dataclasses.dataclass(frozen=True)
class Pair:
    """One measured operation and the floor it is compared with.

    `run` and `floor` each perform `batch` operations per call.
    """

    name: str
    run: Callable[[], object]
    floor_name: str
    floor: Callable[[], object]
    batch: int
    goal: str = ""


@dataclasses.dataclass(frozen=True)
class Result:
    pair: Pair
    ops_per_s: float
    floor_ops_per_s: float

    @property
    def ratio(self) -> float:
        """How many times slower than the floor (1.0 = as fast as the floor)."""
        return self.floor_ops_per_s / self.ops_per_s

    @property
    def us_per_op(self) -> float:
        return 1e6 / self.ops_per_s


def _time(fn: Callable[[], object], batch: int) -> float:
    start = time.perf_counter()
    fn()
    return batch / (time.perf_counter() - start)


def measure(pair: Pair, rounds: int = 7) -> Result:
    """Median ops/s of `rounds` alternating runs of the operation and its floor."""
    pair.run()
    pair.floor()
    runs, floors = [], []
    for _ in range(rounds):
        runs.append(_time(pair.run, pair.batch))
        floors.append(_time(pair.floor, pair.batch))
    return Result(pair, statistics.median(runs), statistics.median(floors))

"""Waiting jobs over the last minutes, per function, as a line of block characters.

Samples go into fixed time buckets (the highest count seen in each), so memory per function is
bounded by the line's width whatever the poll interval, and the line only changes when a
bucket's value does or time moves on by a bucket.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable

BLOCKS = "▁▂▃▄▅▆▇█"
DEFAULT_WIDTH = 10
DEFAULT_BUCKET_SECONDS = 30.0  # 10 × 30 s: the last five minutes


def sparkline(values: list[int]) -> str:
    """One character per value, scaled to the largest; a space for 0."""
    peak = max(values, default=0)
    if peak <= 0:
        return " " * len(values)
    levels = len(BLOCKS)
    # v/peak rounded up to eighths: the smallest non-zero value still shows.
    return "".join(
        " " if v <= 0 else BLOCKS[min(levels, -(-v * levels // peak)) - 1] for v in values
    )


class WaitingHistory:
    """The highest waiting count per time bucket, for every function still listed."""

    def __init__(
        self,
        width: int = DEFAULT_WIDTH,
        bucket_seconds: float = DEFAULT_BUCKET_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.width = width
        self.bucket_seconds = bucket_seconds
        self.clock = clock
        self._buckets: dict[str, deque[tuple[int, int]]] = {}
        self._lines: dict[str, tuple[int, str]] = {}  # key -> (bucket it was drawn at, line)
        self._bucket = self._now_bucket()  # the bucket of the latest record()

    @property
    def minutes(self) -> float:
        return self.width * self.bucket_seconds / 60

    def _now_bucket(self) -> int:
        return int(self.clock() // self.bucket_seconds)

    def is_current(self) -> bool:
        """True while time has not moved on by a bucket since the latest record()."""
        return self._now_bucket() == self._bucket

    def record(self, samples: Iterable[tuple[str, int]]) -> None:
        """Add one poll's waiting counts; functions absent from it are forgotten."""
        self._bucket = bucket = self._now_bucket()
        seen = set()
        for key, waiting in samples:
            seen.add(key)
            history = self._buckets.get(key)
            if history is None:
                history = self._buckets[key] = deque(maxlen=self.width)
            if history and history[-1][0] == bucket:
                if waiting > history[-1][1]:
                    history[-1] = (bucket, waiting)
                    self._lines.pop(key, None)
            else:
                history.append((bucket, waiting))
                self._lines.pop(key, None)
        for key in self._buckets.keys() - seen:
            del self._buckets[key]
            self._lines.pop(key, None)

    def line(self, key: str) -> str:
        """The line as of the latest record(); drawn once per key and bucket."""
        newest = self._bucket
        cached = self._lines.get(key)
        if cached is not None and cached[0] == newest:
            return cached[1]
        values = [0] * self.width
        for bucket, waiting in self._buckets.get(key, ()):
            slot = self.width - 1 - (newest - bucket)
            if 0 <= slot < self.width:
                values[slot] = waiting
        line = sparkline(values)
        self._lines[key] = (newest, line)
        return line

"""What one poll of a job server learned: each function's counts and the connections."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from atomctl_tui.gearman.admin import FunctionPriorities, FunctionStatus, WorkerConnection


@dataclass(frozen=True)
class FunctionStats:
    """One function on one server: ``status`` and ``prioritystatus`` joined."""

    function: str
    total: int  # queued + running
    running: int
    workers: int  # connections that can do this function
    high: int  # waiting jobs per priority
    normal: int
    low: int

    @property
    def waiting(self) -> int:
        return max(0, self.total - self.running)


@dataclass(frozen=True)
class ServerSnapshot:
    """What one poll learned about one server."""

    server: str
    reachable: bool
    since: float  # time.time() when the server last became reachable or unreachable
    polled_at: float
    error: str | None = None  # why it is unreachable or a poll failed, in words
    version: str | None = None
    pid: int | None = None
    rtt: float | None = None  # seconds from a poll's commands to their first reply
    functions: tuple[FunctionStats, ...] = ()
    connections: tuple[WorkerConnection, ...] = ()
    malformed: int = 0  # reply lines that could not be read, skipped
    functions_left_out: int = 0
    """Functions the server listed beyond ``MAX_FUNCTIONS_KEPT``, the least busy: counted in
    the sums, not kept one by one."""
    total: int = 0  # the sums over every function, those left out included
    running: int = 0
    waiting: int = 0
    via: str | None = None  # the host whose SSH connection reaches the server, if any
    started: float | None = None
    """When gearmand started (time.time() scale), read on the host it runs on; None: not known
    (no host the console reaches runs it, or it could not be read there)."""

    @property
    def worker_connections(self) -> tuple[WorkerConnection, ...]:
        """Connections that registered at least one function: workers, not clients or us."""
        return tuple(c for c in self.connections if c.functions)


StatsMemo = dict[tuple[FunctionStatus, FunctionPriorities], "FunctionStats"]
"""The stats joined from each pair of reply lines, kept between polls."""


def join_functions(
    status: Iterable[FunctionStatus],
    priorities: Iterable[FunctionPriorities],
    reuse: StatsMemo | None = None,
) -> tuple[FunctionStats, ...]:
    """Join `status` and `prioritystatus` by function, in `status` order.

    The two replies are taken a moment apart: a function missing from `prioritystatus`
    counts its waiting jobs as normal priority rather than losing them. ``reuse`` (kept by the
    caller between polls) gives back the same object for a function whose lines did not change.
    """
    by_function = {p.function: p for p in priorities}
    known = reuse if reuse is not None else {}
    joined = {}
    for s in status:
        p = by_function.get(s.function)
        if p is None:
            p = FunctionPriorities(s.function, 0, s.waiting, 0, s.workers)
        stats = known.get((s, p))
        if stats is None:
            stats = FunctionStats(
                s.function, s.total, s.running, s.workers, p.high, p.normal, p.low
            )
        joined[(s, p)] = stats
    if reuse is not None:
        reuse.clear()
        reuse.update(joined)
    return tuple(joined.values())

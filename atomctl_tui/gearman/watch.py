"""Polling job servers: one snapshot per server per poll, reachable or not and since when.

A poll asks ``getpid`` (its round trip is the server's response time), ``status``,
``prioritystatus`` and ``workers``; ``version`` is asked once per connection. Servers are
polled concurrently, each with its own client, so a silent server never delays another.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from atomctl_tui.gearman.admin import (
    DEFAULT_CALL_TIMEOUT,
    DEFAULT_CONNECT_TIMEOUT,
    FunctionPriorities,
    FunctionStatus,
    GearmanAdminClient,
    GearmanAdminError,
    WorkerConnection,
)
from atomctl_tui.gearman.servers import ServerAddress

if TYPE_CHECKING:
    from atomctl_tui.fleet import GearmanTarget


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
    rtt: float | None = None  # seconds for `getpid`
    functions: tuple[FunctionStats, ...] = ()
    connections: tuple[WorkerConnection, ...] = ()
    malformed: int = 0  # reply lines that could not be read, skipped
    total: int = 0  # the sums over ``functions``
    running: int = 0
    waiting: int = 0

    @property
    def worker_connections(self) -> tuple[WorkerConnection, ...]:
        """Connections that registered at least one function: workers, not clients or us."""
        return tuple(c for c in self.connections if c.functions)


def join_functions(
    status: Iterable[FunctionStatus],
    priorities: Iterable[FunctionPriorities],
    reuse: dict | None = None,
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


class ServerWatcher:
    """Polls one server, keeping its connection between polls and its state's start time."""

    def __init__(
        self,
        address: ServerAddress,
        *,
        name: str | None = None,
        unix_path: Path | None = None,
        via: str | None = None,
        blocked: Callable[[], str | None] | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        call_timeout: float = DEFAULT_CALL_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.address = address
        self.name = name or str(address)
        self.via = via  # the host whose SSH connection reaches the server (unix_path), if any
        self.blocked = blocked  # why the way to the server is down now (no SSH), if it is
        self.client = GearmanAdminClient(
            address.host,
            address.port,
            connect_timeout=connect_timeout,
            call_timeout=call_timeout,
            unix_path=unix_path,
        )
        self.clock = clock
        self._last: ServerSnapshot | None = None
        self._version: str | None = None
        self._pid: int | None = None
        self._joined: tuple[object, object, tuple[FunctionStats, ...], tuple[int, ...]] | None
        self._joined = None
        self._stats_by_lines: dict = {}

    async def poll(self) -> ServerSnapshot:
        now = self.clock()
        try:
            why = self.blocked() if self.blocked is not None else None
            if why is not None:
                await self.client.close()
                raise GearmanAdminError(why)
            started = time.perf_counter()
            pid = await self.client.getpid()
            rtt = time.perf_counter() - started
            if self._version is None or pid != self._pid:
                self._version = await self.client.version()
            self._pid = pid
            status = await self.client.status()
            priorities = await self.client.priority_status()
            workers = await self.client.workers()
        except GearmanAdminError as exc:
            self._version = None
            snapshot = ServerSnapshot(
                server=self.name,
                reachable=False,
                since=self._since(now, reachable=False),
                polled_at=now,
                error=self._error_words(exc),
            )
        else:
            snapshot = ServerSnapshot(
                server=self.name,
                reachable=True,
                since=self._since(now, reachable=True),
                polled_at=now,
                version=self._version,
                pid=pid,
                rtt=rtt,
                **self._join(status.items, priorities.items),
                connections=workers.items,
                malformed=status.malformed + priorities.malformed + workers.malformed,
            )
        self._last = snapshot
        return snapshot

    def _error_words(self, exc: GearmanAdminError) -> str:
        words = str(exc).removeprefix(f"{self.address}: ")
        if self.via is not None and self.blocked is not None and self.blocked() is None:
            # Through a forward, "refused" on the host arrives as a reset or an early close.
            words += f" (through the SSH connection to {self.via}: is gearmand listening there?)"
        return words

    def _join(self, status, priorities) -> dict:
        """The snapshot's functions and their sums. Unchanged replies come back as the same
        objects: then so do these, without another pass over a thousand functions."""
        if self._joined is None or self._joined[:2] != (status, priorities):
            joined = join_functions(status, priorities, self._stats_by_lines)
            sums = (
                sum(f.total for f in joined),
                sum(f.running for f in joined),
                sum(f.waiting for f in joined),
            )
            self._joined = (status, priorities, joined, sums)
        _, _, joined, (total, running, waiting) = self._joined
        return {"functions": joined, "total": total, "running": running, "waiting": waiting}

    def _since(self, now: float, *, reachable: bool) -> float:
        if self._last is not None and self._last.reachable == reachable:
            return self._last.since
        return now

    async def close(self) -> None:
        await self.client.close()


class JobServersWatch:
    """Every configured server, polled together."""

    def __init__(self, addresses: Iterable[ServerAddress], **watcher_options) -> None:
        self.watchers = [ServerWatcher(a, **watcher_options) for a in addresses]

    @classmethod
    def of_targets(cls, targets: Iterable[GearmanTarget], **watcher_options) -> JobServersWatch:
        """The servers of a fleet, each reached its own way (directly, or through SSH)."""
        watch = cls(())
        watch.watchers = [
            ServerWatcher(
                target.address,
                name=target.name,
                unix_path=target.socket_path,
                via=target.via,
                blocked=target.blocked,
                **watcher_options,
            )
            for target in targets
        ]
        return watch

    async def poll(self) -> tuple[ServerSnapshot, ...]:
        return tuple(await asyncio.gather(*(w.poll() for w in self.watchers)))

    def watcher(self, server: str) -> ServerWatcher | None:
        return next((w for w in self.watchers if w.name == server), None)

    async def close(self) -> None:
        await asyncio.gather(*(w.close() for w in self.watchers))


async def pause_between_polls(wake: asyncio.Event, seconds: float) -> None:
    """Wait ``seconds`` (none when negative), or until ``wake`` is set; then clear it."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wake.wait(), timeout=max(0.0, seconds))
    wake.clear()

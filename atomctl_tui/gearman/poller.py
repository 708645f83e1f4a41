"""Polling job servers: one snapshot per server per poll, reachable or not and since when.

A poll asks ``getpid``, ``version``, ``status``, ``prioritystatus`` and ``workers`` in one
write (the time to the first reply is the server's response time). Servers are polled
concurrently, each with its own client, so a silent server never delays another.
When gearmand started is read once per pid on the host it runs on (``gearmand_start.py``), in
a thread: a poll waits for it a moment at most, the next poll has it otherwise.

A snapshot keeps at most ``MAX_FUNCTIONS_KEPT`` functions of a server, the busiest (waiting,
then running jobs, then workers): a server that lists 100,000 functions costs every pane, the
health rules and the outputs what 2,000 do, and its sums still count them all.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from atomctl_tui.gearman.admin import (
    DEFAULT_CALL_TIMEOUT,
    DEFAULT_CONNECT_TIMEOUT,
    MAX_ERROR_CHARS,
    FunctionPriorities,
    FunctionStatus,
    GearmanAdminClient,
    GearmanAdminError,
)
from atomctl_tui.gearman.gearmand_start import StartReader
from atomctl_tui.gearman.servers import ServerAddress
from atomctl_tui.gearman.snapshot import (
    FunctionStats,
    ServerSnapshot,
    StatsMemo,
    join_functions,
)
from atomctl_tui.outside_text import clean_line

if TYPE_CHECKING:
    from atomctl_tui.fleet import GearmanTarget

Replies = tuple[tuple[FunctionStatus, ...], tuple[FunctionPriorities, ...]]
# Far more than any AtoM site has (a few dozen) or a table is read for; see benchmarks/README.md
# "Many functions" for what 100,000 cost with this bound.
MAX_FUNCTIONS_KEPT = 2_000
START_WAIT_SECONDS = 0.5  # what a poll waits for gearmand's start to be read, at most
START_RETRY_SECONDS = 60.0  # when it could not be read: asked again after this long


@dataclass(frozen=True)
class Joined:
    """One poll's functions, joined from its replies, and their sums."""

    functions: tuple[FunctionStats, ...]
    total: int
    running: int
    waiting: int
    left_out: int  # functions beyond MAX_FUNCTIONS_KEPT, in the sums only


class ServerPoller:
    """Polls one server, keeping its connection between polls and its state's start time."""

    def __init__(
        self,
        address: ServerAddress,
        *,
        name: str | None = None,
        unix_path: Path | None = None,
        via: str | None = None,
        blocked: Callable[[], str | None] | None = None,
        start_of: StartReader | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        call_timeout: float = DEFAULT_CALL_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.address = address
        self.name = name or str(address)
        self.via = via  # the host whose SSH connection reaches the server (unix_path), if any
        self.blocked = blocked  # why the way to the server is down now (no SSH), if it is
        self.start_of = start_of
        """Reads when gearmand started on the host it runs on (blocks); None: no such host."""
        self.client = GearmanAdminClient(
            address.host,
            address.port,
            connect_timeout=connect_timeout,
            call_timeout=call_timeout,
            unix_path=unix_path,
        )
        self.clock = clock
        self._last: ServerSnapshot | None = None
        self._joined: tuple[Replies, Joined] | None = None
        self._stats_by_lines: StatsMemo = {}
        self._started: tuple[int, float | None, float] | None = None  # pid, start, read at
        self._start_read: tuple[int, asyncio.Task[float | None]] | None = None

    async def poll(self) -> ServerSnapshot:
        now = self.clock()
        try:
            why = self.blocked() if self.blocked is not None else None
            if why is not None:
                await self.client.close()
                # The client cleans gearmand's words; these come from the way to the server.
                raise GearmanAdminError(clean_line(why, max_chars=MAX_ERROR_CHARS))
            replies = await self.client.poll()
        except GearmanAdminError as exc:
            snapshot = ServerSnapshot(
                server=self.name,
                via=self.via,
                reachable=False,
                since=self._since(now, reachable=False),
                polled_at=now,
                error=self._error_words(exc),
            )
        else:
            status, priorities, workers = replies.status, replies.priorities, replies.workers
            joined = self._join(status.items, priorities.items)
            gearmand_start = await self._start(replies.pid, now)
            snapshot = ServerSnapshot(
                server=self.name,
                via=self.via,
                reachable=True,
                since=self._since(now, reachable=True),
                polled_at=now,
                version=replies.version,
                pid=replies.pid,
                started=gearmand_start,
                rtt=replies.round_trip,
                functions=joined.functions,
                total=joined.total,
                running=joined.running,
                waiting=joined.waiting,
                connections=workers.items,
                malformed=status.malformed + priorities.malformed + workers.malformed,
                functions_left_out=joined.left_out,
            )
        self._last = snapshot
        return snapshot

    async def _start(self, pid: int, now: float) -> float | None:
        """When gearmand ``pid`` started: read once per pid (again a while after a failed
        read), in a thread; waited for ``START_WAIT_SECONDS`` at most."""
        if self.start_of is None:
            return None
        known = self._started
        fresh = known is not None and (known[1] is not None or now - known[2] < START_RETRY_SECONDS)
        if known is not None and known[0] == pid and fresh:
            return known[1]
        if self._start_read is None or self._start_read[0] != pid:
            if self._start_read is not None:
                self._start_read[1].cancel()  # a gearmand gone since
            task = asyncio.create_task(asyncio.to_thread(self.start_of, pid))
            self._start_read = (pid, task)
        task = self._start_read[1]
        await asyncio.wait({task}, timeout=START_WAIT_SECONDS)
        if not task.done():
            return known[1] if known is not None and known[0] == pid else None
        self._start_read = None
        self._started = (pid, task.result(), now)
        return self._started[1]

    def _error_words(self, exc: GearmanAdminError) -> str:
        words = str(exc).removeprefix(f"{self.address}: ")
        if self.via is not None and self.blocked is not None and self.blocked() is None:
            # Through a forward, "refused" on the host arrives as a reset or an early close.
            words += f" (through the SSH connection to {self.via}: is gearmand listening there?)"
        return words

    def _join(
        self, status: tuple[FunctionStatus, ...], priorities: tuple[FunctionPriorities, ...]
    ) -> Joined:
        """The snapshot's functions (the busiest ``MAX_FUNCTIONS_KEPT``) and the sums of all.
        Unchanged replies come back as the same objects: then so do these, without another
        pass over a thousand functions."""
        if self._joined is None or self._joined[0] != (status, priorities):
            kept = status
            if len(status) > MAX_FUNCTIONS_KEPT:
                busiest = heapq.nsmallest(MAX_FUNCTIONS_KEPT, range(len(status)), key=_busy(status))
                kept = tuple(status[index] for index in sorted(busiest))
            functions = join_functions(kept, priorities, self._stats_by_lines)
            joined = Joined(
                functions,
                total=sum(s.total for s in status),
                running=sum(s.running for s in status),
                waiting=sum(s.waiting for s in status),
                left_out=len(status) - len(kept),
            )
            self._joined = ((status, priorities), joined)
        return self._joined[1]

    def _since(self, now: float, *, reachable: bool) -> float:
        if self._last is not None and self._last.reachable == reachable:
            return self._last.since
        return now

    async def close(self) -> None:
        if self._start_read is not None:
            self._start_read[1].cancel()  # its thread ends within its command's timeout
        await self.client.close()


def _busy(status: tuple[FunctionStatus, ...]) -> Callable[[int], tuple[int, int, int]]:
    """The sort key of a line's index: most waiting, then running jobs, then workers first."""

    def key(index: int) -> tuple[int, int, int]:
        line = status[index]
        return (-line.waiting, -line.running, -line.workers)

    return key


class JobServersPoller:
    """Every configured server, polled together (once per ``poll()``)."""

    def __init__(
        self,
        addresses: Iterable[ServerAddress],
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        call_timeout: float = DEFAULT_CALL_TIMEOUT,
    ) -> None:
        self.pollers = [
            ServerPoller(a, connect_timeout=connect_timeout, call_timeout=call_timeout)
            for a in addresses
        ]

    @classmethod
    def of_targets(
        cls,
        targets: Iterable[GearmanTarget],
        *,
        start_readers: Mapping[str, StartReader] | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        call_timeout: float = DEFAULT_CALL_TIMEOUT,
    ) -> JobServersPoller:
        """The servers of a fleet, each reached its own way (directly, or through SSH).
        ``start_readers``: by server name, how to read when its gearmand started, for the
        servers running on a host the console reaches."""
        readers = start_readers or {}
        polls = cls(())
        polls.pollers = [
            ServerPoller(
                target.address,
                name=target.name,
                unix_path=target.socket_path,
                via=target.via,
                blocked=target.blocked,
                start_of=readers.get(target.name),
                connect_timeout=connect_timeout,
                call_timeout=call_timeout,
            )
            for target in targets
        ]
        return polls

    async def poll(self) -> tuple[ServerSnapshot, ...]:
        return tuple(await asyncio.gather(*(w.poll() for w in self.pollers)))

    def poller(self, server: str) -> ServerPoller | None:
        return next((w for w in self.pollers if w.name == server), None)

    async def close(self) -> None:
        await asyncio.gather(*(w.close() for w in self.pollers))

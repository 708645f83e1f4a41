"""Following a host's journal live: ``journalctl -o json --follow`` as a subprocess.

The follower runs journalctl through ``Host.argv`` (so inside a lab, or later over SSH),
reads its JSON lines asynchronously, turns each into a bounded, display-safe ``JournalEntry``
and hands them over in batches (about every 50 ms), so that a flood costs one screen update
per batch rather than one per line.

Scope (``scope.py``): the worker units, the job server's unit and the console's own audit
identifier, with a backlog of the last lines. journalctl is given the unit patterns, not the
units they match, and some of its matches are wider than the scope: the lines outside it are
passed over here (the backlog's ``--lines`` counts them too).

The backlog comes from a one-shot journalctl; following starts at its last entry. If
journalctl ends (crash, killed, scope widened) the follower starts it again from the last
entry it received (``--cursor`` plus dropping that entry — not ``--after-cursor``, which in
systemd 252 skips one entry when the cursor entry is outside the new filter): no line lost,
none repeated.

``JournalWatch`` (``watch.py``) runs a follower on a thread of its own for any number of
listeners; the follower itself runs as a coroutine and hands over through two callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import os
import signal
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from atomctl_tui.journal.entries import JournalEntry, parse_entry
from atomctl_tui.journal.scope import (
    JournalSettings,
    in_scope,
    journal_matches,
    matches_need_known_units,
    resolve_units,
)
from atomctl_tui.outside_text import clean_line
from atomctl_tui.remote.hosts import Host

BATCH_SECONDS = 0.05
BATCH_MAX_LINES = 1000  # a flood's batch is handed over early: the UI's share stays small
MAX_JSON_LINE = 16 * 1024 * 1024  # a 1 MB non-UTF-8 message is ~4 MB of JSON byte values
READ_CHUNK = 64 * 1024  # parsed between two turns of the event loop: ~150 lines, ~2 ms
STDERR_TAIL = 2048
RESOLVE_TIMEOUT = 15.0
RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 5.0
STEADY_RUN_SECONDS = 5.0  # a journalctl that ran this long was healthy: retry fast again
LEADER_POLL_SECONDS = 0.25  # where the kernel has no pidfd to wait on
EXIT_GRACE = 5.0  # for a journalctl at end of file to exit by itself

# The units the journal knows, from both of its unit fields, in one command: one session on a
# remote host rather than two. A fixed script; journalctl's options are its arguments, never
# written into it.
KNOWN_UNITS_SCRIPT = """\
journalctl --no-pager --quiet "$@" -F _SYSTEMD_UNIT
journalctl --no-pager --quiet "$@" -F UNIT
"""

# What the pane needs of an entry; asking only for these keeps journalctl and JSON parsing
# fast (journalctl adds __CURSOR and the timestamps itself).
OUTPUT_FIELDS = (
    "MESSAGE",
    "PRIORITY",
    "_SYSTEMD_UNIT",
    "UNIT",
    "OBJECT_SYSTEMD_UNIT",
    "COREDUMP_UNIT",
    "_PID",
    "_UID",  # UNIT= and the like count only from systemd or root (entries.parse_entry)
    "SYSLOG_IDENTIFIER",
    "_COMM",
    "_HOSTNAME",
)


@dataclass(frozen=True)
class FollowerStatus:
    """What the follower is doing, in words for the pane."""

    healthy: bool
    text: str


@dataclass
class _LineSplitter:
    """Bytes in, complete lines out; a line longer than ``limit`` is dropped, counted."""

    limit: int = MAX_JSON_LINE
    pieces: list[bytes] = field(default_factory=list)
    size: int = 0
    discarding: bool = False
    dropped: int = 0

    def feed(self, chunk: bytes) -> list[bytes]:
        lines = chunk.split(b"\n")
        tail = lines.pop()
        if lines:
            first = lines[0]
            if self.discarding:
                lines = lines[1:]
                self.discarding = False
            elif self.pieces:
                lines[0] = b"".join([*self.pieces, first])
            self.pieces, self.size = [], 0
        if tail:
            self._keep(tail)
        return lines

    def _keep(self, piece: bytes) -> None:
        if self.discarding:
            return
        self.size += len(piece)
        if self.size > self.limit:
            self.pieces, self.size, self.discarding = [], 0, True
            self.dropped += 1
        else:
            self.pieces.append(piece)


class JournalFollower:
    """Follows ``host``'s journal for ``settings``, calling ``on_entries`` with each batch.

    ``run()`` is a coroutine that lasts until ``stop()`` (or cancellation); callbacks run on
    its event loop, as must ``include_unit``, ``restart`` and ``stop``. ``room`` is awaited
    between two reads: it returns when whoever takes the batches can take more.
    ``units`` are the scope's units the journal knew at journalctl's last start;
    ``scope_units()`` may be asked from any thread.
    """

    def __init__(
        self,
        host: Host,
        settings: JournalSettings,
        on_entries: Callable[[list[JournalEntry]], None],
        on_status: Callable[[FollowerStatus], None] = lambda status: None,
        batch_seconds: float = BATCH_SECONDS,
        room: Callable[[], Awaitable[None]] = lambda: asyncio.sleep(0),
    ) -> None:
        self.host = host
        self.settings = settings
        self.on_entries = on_entries
        self.on_status = on_status
        self.batch_seconds = batch_seconds
        self.room = room
        self.cursor: str | None = None  # of the last entry received: where a restart resumes
        self.units: set[str] = set()
        self.extra_units: set[str] = set()
        self.process: asyncio.subprocess.Process | None = None
        self.new_units: set[str] = set()  # in scope, seen through a slice since the start
        self.runs = 0  # journalctl --follow processes started so far
        self._scope_lock = threading.Lock()  # units and new_units, for scope_units()
        self._pending: list[JournalEntry] = []
        self._flush_handle: asyncio.TimerHandle | None = None
        self._restart_requested = False
        self._wake = asyncio.Event()
        self._stopping = False

    # -- the command -------------------------------------------------------------------

    def command(self, *, follow: bool = True) -> list[str]:
        """The journalctl argv: following from the resume point, or (``follow=False``) the
        backlog, the scope's last lines."""
        argv = [
            "journalctl",
            "--output=json",
            "--all",  # long messages as text, not null: log_text cuts them for display
            "--no-pager",
            "--quiet",
            f"--output-fields={','.join(OUTPUT_FIELDS)}",
            *self.settings.journal_args,
        ]
        if not follow:
            argv.append(f"--lines={self.settings.backlog}")
        elif self.cursor is not None:
            argv.extend(["--follow", f"--cursor={self.cursor}"])
        else:  # an empty or unreadable journal: nowhere to start from but its end
            argv.extend(["--follow", "--lines=0"])
        argv.extend(
            journal_matches(
                self.settings.unit_patterns,
                self.settings.identifiers,
                self.extra_units,
                known_units=self.units,
            )
        )
        return self.host.argv(*argv)

    async def resolve_units(self) -> set[str]:
        """The scope's units: patterns resolved against the units the journal knows."""
        try:
            output = await self._output(
                self.host.argv("sh", "-c", KNOWN_UNITS_SCRIPT, "sh", *self.settings.journal_args)
            )
        except (OSError, TimeoutError):
            output = b""  # journalctl itself will say what is wrong when it runs
        known = {line for line in output.decode(errors="replace").splitlines() if line}
        return resolve_units(self.settings.unit_patterns, known) | self.extra_units

    async def tail_cursor(self) -> str | None:
        """The cursor of the journal's newest entry, whatever its unit."""
        options = ("--output=json", "--lines=1", "--output-fields=_PID")
        argv = self.host.argv(
            "journalctl", "--no-pager", "--quiet", *self.settings.journal_args, *options
        )
        try:
            output = await self._output(argv)
        except (OSError, TimeoutError):
            return None
        entry = parse_entry(output.strip().rsplit(b"\n", 1)[-1]) if output.strip() else None
        return entry.cursor if entry else None

    async def _output(self, argv: list[str]) -> bytes:
        """The output of a short command (its errors left to the journalctl that follows)."""
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            output, _ = await asyncio.wait_for(process.communicate(), RESOLVE_TIMEOUT)
        finally:
            _end_process_group(process)
            await process.wait()
        return output

    # -- control -----------------------------------------------------------------------

    def include_unit(self, unit: str) -> bool:
        """Make sure ``unit``'s lines are followed; True when that needs a restart."""
        if unit in self.units or unit in self.extra_units:
            return False
        self.extra_units.add(unit)
        self.restart()
        return True

    def restart(self) -> None:
        """Start journalctl again (new scope), resuming after the last entry received."""
        self._restart_requested = True
        self._wake.set()
        if self.process is not None:
            _end_process_group(self.process)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self.process is not None:
            _end_process_group(self.process)

    # -- the loop ----------------------------------------------------------------------

    async def run(self) -> None:
        retry = RETRY_FIRST_SECONDS
        try:
            while not self._stopping:
                self._restart_requested = False
                self._wake.clear()
                started = time.monotonic()
                ending = await self._start_and_follow()
                if self._stopping:
                    break
                if self._restart_requested:
                    continue
                if time.monotonic() - started >= STEADY_RUN_SECONDS:
                    retry = RETRY_FIRST_SECONDS
                self.on_status(
                    FollowerStatus(False, f"journalctl {ending}; following again in {retry:g} s")
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), retry)
                retry = min(retry * 2, RETRY_MAX_SECONDS)
        finally:
            self._cancel_flush()
            if self.process is not None:
                _end_process_group(self.process)

    async def _start_and_follow(self) -> str:
        """Follow until journalctl ends; how it ended, in words.

        The first time, the backlog comes from a journalctl of its own, and following starts
        at its last entry: ``--follow --lines=N`` alone loses the lines written while it
        starts when the scope has no line yet (seen with systemd 252). With no backlog, it
        starts at the journal's newest entry, whatever its unit.
        """
        resuming = self.cursor is not None
        resolving: asyncio.Future[None] | None = None
        if resuming or matches_need_known_units(self.settings.unit_patterns):
            await self._resolve_scope()
        else:
            # The command does not depend on the units: resolving them goes on meanwhile.
            resolving = asyncio.ensure_future(self._resolve_scope())
        tail: asyncio.Future[str | None] | None = None
        try:
            if resuming:
                return await self._stream(self.command(), follow=True) or "ended"
            # The newest entry, asked beside the backlog: where to follow from when the scope
            # has no line yet.
            tail = asyncio.ensure_future(self.tail_cursor())
            if self.settings.backlog:
                ending = await self._stream(self.command(follow=False), follow=False)
                if ending is None and self.cursor is None:
                    # No line yet. The newest entry may have been read after a line of the
                    # scope was written: read the backlog again once it is known, so that
                    # such a line is in it or comes after where following starts.
                    await asyncio.wait([tail])
                    ending = await self._stream(self.command(follow=False), follow=False)
                if ending is not None:
                    return ending
            newest = await tail
            if resolving is not None:
                await resolving
        finally:
            for task in (tail, resolving):
                if task is not None:
                    task.cancel()
        if self.cursor is None:
            self.cursor = newest
        ending = await self._stream(self.command(), follow=True)
        return ending or "ended"

    async def _resolve_scope(self) -> None:
        units = await self.resolve_units()
        with self._scope_lock:
            self.units = units

    async def _stream(self, argv: list[str], *, follow: bool) -> str | None:
        """Run journalctl, taking each entry it writes; None if it ended well by itself,
        else how it ended, in words."""
        if self._stopping or self._restart_requested:  # asked while resolving the scope
            return "was not started"
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                # Its own process group: journalctl may run as a child of the prefix (nsenter
                # forks), and ending the group ends both.
                start_new_session=True,
                limit=READ_CHUNK,
            )
        except OSError as exc:
            return f"could not be started ({argv[0]}: {exc.strerror or exc})"
        self.process = process
        if self._stopping or self._restart_requested:  # asked while it was starting
            _end_process_group(process)
        if follow:  # not read from argv: through ssh, the command is one quoted word
            self.runs += 1
            self.on_status(FollowerStatus(True, "following"))
        stderr_task = asyncio.ensure_future(_read_tail(process.stderr, STDERR_TAIL))
        # If the process we started ends while a child of it still holds the pipe open (the
        # prefix killed, journalctl orphaned), end the group so the reader sees end of file.
        watcher = asyncio.ensure_future(_end_group_when_leader_exits(process))
        skip_cursor = self.cursor
        host_label = self.host.label
        splitter = _LineSplitter()
        unreadable = 0
        try:
            assert process.stdout is not None
            while chunk := await process.stdout.read(READ_CHUNK):
                for line in splitter.feed(chunk):
                    entry = parse_entry(line, host_label)
                    if entry is None:
                        unreadable += 1
                        continue
                    if skip_cursor is not None:
                        skipped_cursor, skip_cursor = skip_cursor, None
                        if entry.cursor == skipped_cursor:
                            continue  # --cursor starts at the entry already received
                    if self._wanted(entry):
                        self._take(entry)
                    else:  # brought by a wide match (scope.py): passed, and resumed after
                        self.cursor = entry.cursor
                await self.room()  # a flood waits for its takers, and leaves the loop its turn
        except BaseException:  # cancelled, or a bug: the process must not outlive us
            _end_process_group(process)
            raise
        finally:
            try:
                # At end of file journalctl is exiting by itself: give it the time to.
                returncode = await asyncio.wait_for(asyncio.shield(process.wait()), EXIT_GRACE)
            except TimeoutError:
                _end_process_group(process)
                returncode = await process.wait()
            watcher.cancel()
            stderr = await stderr_task
            self.process = None
            if not self._stopping:
                self._flush()
        if returncode == 0 and not self._restart_requested and not follow:
            return None
        words = f"ended (exit status {returncode})"
        if returncode < 0:
            words = f"was stopped by signal {-returncode}"
        if stderr:
            words += f": {clean_line(stderr.strip(), max_chars=200)}"
        if unreadable or splitter.dropped:
            words += f" ({unreadable + splitter.dropped} unreadable lines skipped)"
        return words

    def _take(self, entry: JournalEntry) -> None:
        self.cursor = entry.cursor
        unit = entry.unit
        if unit and unit not in self.units and unit not in self.new_units and self._in_scope(unit):
            with self._scope_lock:
                self.new_units.add(unit)
        self._pending.append(entry)
        if len(self._pending) >= BATCH_MAX_LINES:
            self._flush()
        elif self._flush_handle is None:
            loop = asyncio.get_running_loop()
            self._flush_handle = loop.call_later(self.batch_seconds, self._flush)

    def _wanted(self, entry: JournalEntry) -> bool:
        settings = self.settings
        return in_scope(
            entry.unit,
            entry.identifier,
            settings.unit_patterns,
            settings.identifiers,
            self.extra_units,
        )

    def _in_scope(self, unit: str) -> bool:
        return any(fnmatch.fnmatchcase(unit, p) for p in self.settings.unit_patterns)

    def scope_units(self) -> list[str]:
        """Every unit of the scope known so far, for a unit picker."""
        with self._scope_lock:
            return sorted(self.units | self.new_units)

    def _flush(self) -> None:
        self._cancel_flush()
        if self._pending:
            batch, self._pending = self._pending, []
            self.on_entries(batch)

    def _cancel_flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None


def _end_process_group(process: asyncio.subprocess.Process) -> None:
    """SIGTERM to the process group the follower started (pid == pgid), if it still exists."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)


async def _end_group_when_leader_exits(process: asyncio.subprocess.Process) -> None:
    # Not Process.wait(): it also waits for the pipes, which the orphan still holds open.
    try:
        pidfd = os.pidfd_open(process.pid)
    except ProcessLookupError:
        pidfd = None  # gone already
    except OSError:  # a kernel without pidfds (before 5.3): polled
        while process.returncode is None:
            await asyncio.sleep(LEADER_POLL_SECONDS)
        pidfd = None
    if pidfd is not None:
        # Readable once the leader exits: a fleet's twenty followers wait without waking.
        loop = asyncio.get_running_loop()
        exited = asyncio.Event()
        loop.add_reader(pidfd, exited.set)
        try:
            await exited.wait()
        finally:
            loop.remove_reader(pidfd)
            os.close(pidfd)
    _end_process_group(process)


async def _read_tail(stream: asyncio.StreamReader | None, keep: int) -> str:
    """Everything ``stream`` says until it closes, keeping only the last ``keep`` bytes."""
    tail = b""
    if stream is not None:
        while chunk := await stream.read(4096):
            tail = (tail + chunk)[-keep:]
    return tail.decode(errors="replace")

"""gearmand's text admin protocol: an asyncio client and typed replies.

One command per line; multi-line replies end with a line holding ``.``; errors come back as
``ERR CODE url+encoded+text``. The client never trusts the server: every call has a timeout,
every line a size limit and every reply a line limit, and a line it cannot read is counted
and skipped. After a timeout or a reply it could not follow, the connection is dropped so a
later call never reads an earlier call's leftovers.

What a reply says is outside text: every name, id, handle, version and error text is passed
through ``clean_line`` here, where it enters, so no screen or output downstream can show it
raw; every number is ASCII digits of a bounded length, and a line that is not is malformed.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import unquote_plus

from atomctl_tui.gearman.connection import GearmanAdminError as GearmanAdminError
from atomctl_tui.gearman.connection import ServerConnection, reason, seconds_text
from atomctl_tui.gearman.connection import ServerUnreachable as ServerUnreachable
from atomctl_tui.gearman.reply_stream import ProtocolError as ProtocolError
from atomctl_tui.gearman.reply_stream import ReplyStream
from atomctl_tui.outside_text import clean_line

DEFAULT_PORT = 4730
DEFAULT_CONNECT_TIMEOUT = 2.0
DEFAULT_CALL_TIMEOUT = 2.0
# A function name is at most a few hundred bytes in practice; one status line of gearmand is
# name + 3 numbers. 64 KiB is far above any honest line and far below a hostile one.
DEFAULT_MAX_LINE_BYTES = 64 * 1024
# An AtoM site has a few dozen functions and rarely more than thousands of queued jobs.
# 200,000 lines (or 16 MiB) is far beyond that and keeps a hostile reply's parsed objects
# within the console's memory budget (benchmarks/README.md, "Many functions"); a longer
# reply is treated as one that never ends.
DEFAULT_MAX_REPLY_LINES = 200_000
DEFAULT_MAX_REPLY_BYTES = 16 * 1024 * 1024
# Numbers in replies: ASCII digits, at most 9 of them (gearmand's counters are 32-bit; a
# billion jobs or a pid that long is not an answer, and int() of 5,000 digits raises).
MAX_NUMBER_DIGITS = 9
# How much of a name, client id or handle is kept: far beyond any honest one.
MAX_NAME_CHARS = 1024
MAX_ERROR_CHARS = 500
# Replies up to this many lines keep each line's parsed object for the next poll; a longer one
# (a hostile or broken server) is parsed anew when it changes rather than held twice.
MEMO_MAX_LINES = 10_000

T = TypeVar("T")
R = TypeVar("R")

# A job handle or function name goes on the command line: one token, printable, no spaces.
_TOKEN = re.compile(r"^[\x21-\x7e]{1,512}$")
# Names read from a reply: anything but tabs and control characters (a terminal would obey
# them; the rest, bidi overrides included, clean_line escapes); numbers: ASCII digits only.
_NAME = r"([^\x00-\x1f\x7f-\x9f]+)"
_NUMBER = f"[0-9]{{1,{MAX_NUMBER_DIGITS}}}"
_COUNT = rf"\t({_NUMBER})"
_WHOLE_NUMBER = re.compile(f"^{_NUMBER}$")
_STATUS_LINE = re.compile(_NAME + _COUNT * 3 + "$")
_PRIORITY_LINE = re.compile(_NAME + _COUNT * 4 + "$")
_JOB_LINE = re.compile(_NAME + _COUNT + r"\t([01])\t([01])$")


class AdminTimeout(GearmanAdminError):
    """The server did not finish its reply in time."""


class CommandRefused(GearmanAdminError):
    """gearmand answered ``ERR CODE text``: the command was understood and refused."""

    def __init__(self, code: str, text: str) -> None:
        self.code = code
        self.text = text
        super().__init__(f"{code}: {text}" if text else code)


@dataclass(frozen=True, slots=True)
class WorkerConnection:
    """One line of `workers`: a connection, the client id it set, the functions it can do."""

    fd: int
    ip: str
    client_id: str | None  # None when the connection set none (gearmand prints '-')
    functions: tuple[str, ...]

    @property
    def pid(self) -> int | None:
        """The worker's pid when the client id is AtoM's ``pid_<pid>_<uniqid>``."""
        if self.client_id and self.client_id.startswith("pid_"):
            return parse_number(self.client_id.split("_")[1])
        return None


@dataclass(frozen=True, slots=True)
class FunctionStatus:
    """One line of `status`: ``total`` counts queued and running jobs."""

    function: str
    total: int
    running: int
    workers: int

    @property
    def waiting(self) -> int:
        return max(0, self.total - self.running)


@dataclass(frozen=True, slots=True)
class FunctionPriorities:
    """One line of `prioritystatus`: jobs waiting (not running) per priority."""

    function: str
    high: int
    normal: int
    low: int
    workers: int


@dataclass(frozen=True, slots=True)
class QueuedJob:
    """One line of `show jobs`. A cancelled job stays listed, ignored and no longer queued,
    until a worker asks for it and gearmand drops it."""

    handle: str
    retries: int
    ignored: bool
    queued: bool


@dataclass(frozen=True, slots=True)
class Listing(Generic[T]):
    """A multi-line reply: the lines understood, and how many were not."""

    items: tuple[T, ...]
    malformed: int = 0


POLL_COMMANDS = ("getpid", "version", "status", "prioritystatus", "workers")


@dataclass(frozen=True, slots=True)
class ServerReplies:
    """The replies to ``POLL_COMMANDS``."""

    pid: int
    version: str
    status: Listing[FunctionStatus]
    priorities: Listing[FunctionPriorities]
    workers: Listing[WorkerConnection]
    round_trip: float
    """Seconds from sending the commands to the first reply's line: the server's response
    time, as one getpid alone would measure it."""


def parse_number(text: str) -> int | None:
    """A number of a reply: ASCII digits, at most ``MAX_NUMBER_DIGITS``; None otherwise."""
    return int(text) if _WHOLE_NUMBER.match(text) else None


def outside_name(text: str) -> str:
    """A name, id or handle from a reply, safe to show (see ``outside_text``)."""
    return clean_line(text, max_chars=MAX_NAME_CHARS)


def parse_workers_line(line: str) -> WorkerConnection | None:
    """``FD IP CLIENT_ID : func1 func2``; None for a line of another shape."""
    head, colon, tail = line.partition(" :")
    fields = head.split()
    if not colon or len(fields) != 3:
        return None
    fd = parse_number(fields[0])
    if fd is None:
        return None
    _, ip, client_id = fields
    return WorkerConnection(
        fd=fd,
        ip=outside_name(ip),
        client_id=None if client_id == "-" else outside_name(client_id),
        functions=tuple(outside_name(function) for function in tail.split()),
    )


def parse_status_line(line: str) -> FunctionStatus | None:
    """``FUNCTION\\tTOTAL\\tRUNNING\\tWORKERS``; None for a line of another shape."""
    match = _STATUS_LINE.match(line)
    if match is None:
        return None
    function, total, running, workers = match.groups()
    return FunctionStatus(outside_name(function), int(total), int(running), int(workers))


def parse_priority_line(line: str) -> FunctionPriorities | None:
    """``FUNCTION\\tHIGH\\tNORMAL\\tLOW\\tWORKERS``; None for a line of another shape."""
    match = _PRIORITY_LINE.match(line)
    if match is None:
        return None
    function, high, normal, low, workers = match.groups()
    return FunctionPriorities(
        outside_name(function), int(high), int(normal), int(low), int(workers)
    )


def parse_job_line(line: str) -> QueuedJob | None:
    """``HANDLE\\tRETRIES\\tIGNORE_JOB\\tJOB_QUEUED``; None for a line of another shape."""
    match = _JOB_LINE.match(line)
    if match is None:
        return None
    handle, retries, ignored, queued = match.groups()
    return QueuedJob(outside_name(handle), int(retries), ignored == "1", queued == "1")


def parse_unique_line(line: str) -> str | None:
    return line if line and _TOKEN.match(line) else None


def parse_error_line(line: str) -> CommandRefused | None:
    """``ERR CODE url+encoded+text`` as an error; None when the line is not an error."""
    if line != "ERR" and not line.startswith("ERR "):
        return None
    _, _, rest = line.partition(" ")
    code, _, text = rest.strip().partition(" ")
    return CommandRefused(
        clean_line(code, max_chars=MAX_ERROR_CHARS) or "UNKNOWN_ERROR",
        clean_line(unquote_plus(text).strip(), max_chars=MAX_ERROR_CHARS),
    )


class GearmanAdminClient:
    """An asyncio client for one job server's admin port, one call at a time.

    The connection is opened on the first call and kept; it is dropped after any call that
    did not end cleanly, and reopened by the next call.
    """

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        call_timeout: float = DEFAULT_CALL_TIMEOUT,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        max_reply_lines: int = DEFAULT_MAX_REPLY_LINES,
        max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES,
        unix_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.server = ServerConnection(
            host, port, connect_timeout=connect_timeout, unix_path=unix_path, limit=max_line_bytes
        )
        self.call_timeout = call_timeout
        self.max_line_bytes = max_line_bytes
        self.max_reply_lines = max_reply_lines
        self.max_reply_bytes = max_reply_bytes
        self._lock = asyncio.Lock()
        # Per command; Any because each command's listing holds items of its own type.
        self._last_listing: dict[str, tuple[bytes, Listing[Any]]] = {}
        self._parsed_lines: dict[str, dict[str, Any]] = {}

    @property
    def address(self) -> str:
        return self.server.address

    async def __aenter__(self) -> GearmanAdminClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    # -- commands -------------------------------------------------------------------------

    async def status(self) -> Listing[FunctionStatus]:
        return await self._listing("status", parse_status_line)

    async def priority_status(self) -> Listing[FunctionPriorities]:
        return await self._listing("prioritystatus", parse_priority_line)

    async def workers(self) -> Listing[WorkerConnection]:
        return await self._listing("workers", parse_workers_line)

    async def show_jobs(self) -> Listing[QueuedJob]:
        return await self._listing("show jobs", parse_job_line)

    async def show_unique_jobs(self) -> Listing[str]:
        return await self._listing("show unique jobs", parse_unique_line)

    async def version(self) -> str:
        return outside_name(await self._ok("version"))

    async def getpid(self) -> int:
        return self._pid(await self._ok("getpid"))

    async def poll(self) -> ServerReplies:
        """What a poll asks (``POLL_COMMANDS``), sent in one write and read in order: one
        round trip where five would cross an SSH connection one after another."""

        async def read(stream: ReplyStream) -> ServerReplies:
            pid = self._pid(await self._ok_reply(stream, "getpid"))
            version = outside_name(await self._ok_reply(stream, "version"))
            status = await self._listing_reply(stream, "status", parse_status_line)
            priorities = await self._listing_reply(stream, "prioritystatus", parse_priority_line)
            workers = await self._listing_reply(stream, "workers", parse_workers_line)
            return ServerReplies(pid, version, status, priorities, workers, stream.round_trip)

        return await self._exchange(POLL_COMMANDS, read)

    async def cancel_job(self, handle: str) -> None:
        """Ask gearmand to drop a queued job; CommandRefused (UNKNOWN_JOB) when it has none."""
        await self._ok(f"cancel job {_token(handle, 'job handle')}")

    async def maxqueue(
        self, function: str, high: int, normal: int | None = None, low: int | None = None
    ) -> None:
        """Limit a function's queue: one size for all priorities, or one per priority."""
        sizes = [high] if normal is None and low is None else [high, normal, low]
        if any(not isinstance(n, int) or n < 0 for n in sizes):
            raise GearmanAdminError(f"queue sizes must be whole numbers ≥ 0, not {sizes}")
        words = " ".join(str(n) for n in sizes)
        await self._ok(f"maxqueue {_token(function, 'function name')} {words}")

    # -- the wire -------------------------------------------------------------------------

    async def _listing(self, command: str, parse: Callable[[str], T | None]) -> Listing[T]:
        return await self._exchange((command,), lambda s: self._listing_reply(s, command, parse))

    async def _ok(self, command: str) -> str:
        return await self._exchange((command,), lambda stream: self._ok_reply(stream, command))

    async def _listing_reply(
        self, stream: ReplyStream, command: str, parse: Callable[[str], T | None]
    ) -> Listing[T]:
        """A multi-line reply. Its first line is read alone: it may be an ERR."""
        first = await self._line_reply(stream, command)
        body = b""
        if first != ".":
            body = first.encode() + b"\n" + await stream.rest_of_listing(command)
        # A quiet server repeats itself: the same bytes give back the same Listing, not even
        # decoded again, and callers can tell "nothing changed" by identity.
        previous = self._last_listing.get(command)
        if previous is not None and previous[0] == body:
            return previous[1]
        # Lines that did not change keep their parsed object: only news is parsed.
        known = self._parsed_lines.get(command, {})
        parsed: dict[str, T | None] = {}
        items: list[T] = []
        malformed = 0
        for line in self._split_lines(stream, body, command):
            item = known[line] if line in known else parse(line)
            parsed[line] = item
            if item is None:
                malformed += 1
            else:
                items.append(item)
        listing = Listing(tuple(items), malformed)
        self._last_listing[command] = (body, listing)
        self._parsed_lines[command] = parsed if len(parsed) <= MEMO_MAX_LINES else {}
        return listing

    async def _ok_reply(self, stream: ReplyStream, command: str) -> str:
        """A one-line reply ``OK [text]``; its text."""
        line = await self._line_reply(stream, command)
        if line == "OK" or line.startswith("OK "):
            return line[3:].strip()
        verb = command.split(" ")[0]
        raise ProtocolError(f"{self.address}: unexpected reply to '{verb}': {line[:80]!r}")

    async def _line_reply(self, stream: ReplyStream, command: str) -> str:
        line = await stream.line(command)
        refused = parse_error_line(line)
        if refused is not None:
            raise refused
        return line

    async def _exchange(
        self, commands: tuple[str, ...], read: Callable[[ReplyStream], Awaitable[R]]
    ) -> R:
        """Send ``commands`` in one write and ``read`` their replies, within the call timeout;
        a reply beyond them is an error."""
        async with self._lock:
            stream: ReplyStream | None = None
            try:
                async with asyncio.timeout(self.call_timeout):
                    reader, writer = await self._connection()
                    stream = ReplyStream(
                        reader,
                        self.address,
                        max_line_bytes=self.max_line_bytes,
                        max_reply_lines=self.max_reply_lines,
                        max_reply_bytes=self.max_reply_bytes,
                    )
                    writer.write(b"".join(command.encode() + b"\n" for command in commands))
                    await writer.drain()
                    result = await read(stream)
                    stream.ensure_drained(commands[-1])
                    return result
            except CommandRefused:
                if len(commands) > 1:
                    await self.close()  # the replies after the refused one were not read
                raise  # one command: its whole reply was read, the connection is in step
            except TimeoutError as exc:
                await self.close()
                raise AdminTimeout(
                    f"{self.address}: no complete reply to '{_reading(stream, commands)}' within"
                    f" {seconds_text(self.call_timeout)} s"
                ) from exc
            except GearmanAdminError:
                await self.close()
                raise
            except (OSError, EOFError) as exc:
                await self.close()
                raise ProtocolError(
                    f"{self.address}: connection lost during '{_reading(stream, commands)}'"
                    f" ({reason(exc)})"
                ) from exc

    def _pid(self, text: str) -> int:
        pid = parse_number(text)
        if not pid:
            raise ProtocolError(f"{self.address}: 'getpid' answered {text[:80]!r}, not a pid")
        return pid

    def _split_lines(self, stream: ReplyStream, body: bytes, command: str) -> list[str]:
        raw_lines = body.split(b"\n")[:-1]  # every line ends with "\n"
        if max(map(len, raw_lines), default=0) > self.max_line_bytes:
            raise stream.line_too_long(command)
        text = body.decode("utf-8", errors="replace")
        return [line.removesuffix("\r") for line in text.split("\n")[:-1]]

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await self.server.streams()

    async def close(self) -> None:
        await self.server.close()


def _reading(stream: ReplyStream | None, commands: tuple[str, ...]) -> str:
    """The command whose reply was being read (the first, before any was)."""
    return stream.reading if stream is not None and stream.reading else commands[0]


def _token(value: str, what: str) -> str:
    if not isinstance(value, str) or not _TOKEN.match(value):
        raise GearmanAdminError(f"{value!r} is not a {what}: one word of printable characters")
    return value

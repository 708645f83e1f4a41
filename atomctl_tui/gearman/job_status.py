"""gearmand's binary protocol, for one question the admin protocol cannot answer: is this job
running or still waiting?

`show jobs` lists a running job exactly like a waiting one. A client's GET_STATUS (request
type 15, the payload a job handle) is answered by STATUS_RES (type 20, payload
``handle\\0known\\0running\\0numerator\\0denominator``), which gearmand 1.1.20 sends for any
handle, its own job or not (checked in the lab: a running job ``1 1``, a waiting or cancelled
one ``1 0``, a finished or unknown one ``0 0``; a worker's WORK_STATUS shows as ``3 10``).
A packet is a 4-byte magic (``\\0REQ`` asked, ``\\0RES`` answered), its type and its payload's
size as 4-byte big-endian numbers, then the payload.

The questions go out together on one connection of the client's own, and gearmand answers
them in order. At most ``MAX_HANDLES`` are asked per call: the rest are counted, not asked.
A handle gearmand could not answer (longer than ``MAX_HANDLE_BYTES``, or not one printable
word) is never sent: gearmand 1.1.20 goes silent on a 64-byte handle and cuts one at a NUL.
Every call has a timeout, every reply packet a size limit, and a packet that is not a
STATUS_RES for a handle asked is counted as malformed, never trusted.
"""

from __future__ import annotations

import asyncio
import os
import re
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from atomctl_tui.gearman.admin import (
    DEFAULT_CALL_TIMEOUT,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_PORT,
    AdminTimeout,
    GearmanAdminError,
    ProtocolError,
    outside_name,
    parse_number,
)
from atomctl_tui.gearman.connection import ServerConnection, reason, seconds_text

REQUEST_MAGIC = b"\0REQ"
RESPONSE_MAGIC = b"\0RES"
GET_STATUS = 15
ERROR = 19
STATUS_RES = 20
HEADER = struct.Struct(">4sII")
# A busy AtoM site has a handful of jobs running and rarely hundreds waiting; the oldest
# handles, asked first, are the ones a worker has. 500 answers take ~45 ms on a lab.
MAX_HANDLES = 500
# gearmand keeps a handle in 64 bytes with its NUL; asked for a longer one it never answers.
MAX_HANDLE_BYTES = 63
# A STATUS_RES is a handle and four short numbers; an ERROR a code and a sentence.
MAX_PAYLOAD_BYTES = 1024
_HANDLE = re.compile(rf"[\x21-\x7e]{{1,{MAX_HANDLE_BYTES}}}")


@dataclass(frozen=True, slots=True)
class JobStatus:
    """gearmand's STATUS_RES for one handle. ``known`` False: gearmand has no such job (it
    finished, or was dropped, since it was listed)."""

    handle: str
    known: bool
    running: bool
    numerator: int
    denominator: int


@dataclass(frozen=True, slots=True)
class JobStatuses:
    """The answers of one call, by handle, and what was left unanswered and why."""

    by_handle: Mapping[str, JobStatus] = field(default_factory=dict)
    asked: int = 0
    left_out: int = 0
    """Handles beyond ``MAX_HANDLES``: not asked."""
    refused: int = 0
    """Handles gearmand could not answer (too long, not one printable word): not asked."""
    malformed: int = 0
    """Reply packets that were not a STATUS_RES for a handle asked."""

    def words(self) -> str:
        """What was not answered, in words; "" when every handle was."""
        parts = []
        if self.left_out:
            parts.append(f"the first {self.asked:,} asked, {self.left_out:,} more not")
        if self.refused:
            parts.append(f"{self.refused:,} handles gearmand cannot answer not asked")
        if self.malformed:
            parts.append(f"{self.malformed:,} unreadable replies")
        return ", ".join(parts)


def askable(handle: str) -> bool:
    """A handle gearmand can answer: one printable word of at most ``MAX_HANDLE_BYTES``."""
    return isinstance(handle, str) and _HANDLE.fullmatch(handle) is not None


def encode_get_status(handle: str) -> bytes:
    """The GET_STATUS request for ``handle``; ValueError for a handle gearmand cannot answer."""
    if not askable(handle):
        raise ValueError(f"{handle[:80]!r} is not a job handle gearmand can answer")
    payload = handle.encode("ascii")
    return HEADER.pack(REQUEST_MAGIC, GET_STATUS, len(payload)) + payload


def decode_header(header: bytes) -> tuple[int, int]:
    """A reply packet's type and payload size; ValueError when it is not a gearmand reply."""
    if len(header) != HEADER.size:
        raise ValueError(f"a packet header is {HEADER.size} bytes, not {len(header)}")
    magic, kind, size = HEADER.unpack(header)
    if magic != RESPONSE_MAGIC:
        raise ValueError(f"a reply starts with \\0RES, not {magic!r}")
    return kind, size


def decode_status(payload: bytes) -> JobStatus | None:
    """A STATUS_RES payload; None when it is not one."""
    fields = payload.split(b"\0")
    if len(fields) != 5:
        return None
    raw_handle, known, running, raw_numerator, raw_denominator = fields
    numerator = parse_number(raw_numerator.decode("ascii", errors="replace"))
    denominator = parse_number(raw_denominator.decode("ascii", errors="replace"))
    handle = raw_handle.decode("ascii", errors="replace")
    flags = (b"0", b"1")
    if known not in flags or running not in flags or numerator is None or denominator is None:
        return None
    if not askable(handle):
        return None
    return JobStatus(handle, known == b"1", running == b"1", numerator, denominator)


def decode_error(payload: bytes) -> str:
    """An ERROR payload (``code\\0text``) in words, cleaned: it is outside text."""
    code, _, text = payload.partition(b"\0")
    words = f"{code.decode(errors='replace')}: {text.decode(errors='replace')}".strip(": ")
    return outside_name(words or "an error without words")


class JobStatusClient:
    """Asks one job server whether jobs are running, one call at a time, on a connection of
    its own (opened on the first call, kept, dropped after a call that did not end cleanly)."""

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        call_timeout: float = DEFAULT_CALL_TIMEOUT,
        max_handles: int = MAX_HANDLES,
        unix_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.server = ServerConnection(
            host, port, connect_timeout=connect_timeout, unix_path=unix_path
        )
        self.call_timeout = call_timeout
        self.max_handles = max_handles
        self._lock = asyncio.Lock()

    @property
    def address(self) -> str:
        return self.server.address

    async def __aenter__(self) -> JobStatusClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def statuses(self, handles: Iterable[str]) -> JobStatuses:
        """gearmand's answer for each handle, the first ``max_handles`` of them (in the order
        given); GearmanAdminError when the server could not be asked or did not answer."""
        wanted: list[str] = []
        left_out = refused = 0
        for handle in dict.fromkeys(handles):  # each handle once
            if not askable(handle):
                refused += 1
            elif len(wanted) < self.max_handles:
                wanted.append(handle)
            else:
                left_out += 1
        if not wanted:
            return JobStatuses(asked=0, left_out=left_out, refused=refused)
        by_handle, malformed = await self._ask(wanted)
        return JobStatuses(by_handle, len(wanted), left_out, refused, malformed)

    async def _ask(self, handles: Sequence[str]) -> tuple[dict[str, JobStatus], int]:
        async with self._lock:
            try:
                async with asyncio.timeout(self.call_timeout):
                    reader, writer = await self._connection()
                    writer.write(b"".join(encode_get_status(h) for h in handles))
                    await writer.drain()
                    return await self._read_replies(reader, handles)
            except TimeoutError as exc:
                await self.close()
                raise AdminTimeout(
                    f"{self.address}: no status of {len(handles)} jobs within"
                    f" {seconds_text(self.call_timeout)} s"
                ) from exc
            except GearmanAdminError:
                await self.close()
                raise
            except (OSError, EOFError) as exc:
                await self.close()
                raise ProtocolError(
                    f"{self.address}: connection lost while asking jobs' status ({reason(exc)})"
                ) from exc

    async def _read_replies(
        self, reader: asyncio.StreamReader, handles: Sequence[str]
    ) -> tuple[dict[str, JobStatus], int]:
        """One reply packet per question, in order; each read whole within its size limit."""
        asked = set(handles)
        by_handle: dict[str, JobStatus] = {}
        malformed = 0
        for _ in handles:
            try:
                kind, size = decode_header(await reader.readexactly(HEADER.size))
            except ValueError as exc:
                raise ProtocolError(
                    f"{self.address}: not gearmand's binary protocol ({exc})"
                ) from exc
            if size > MAX_PAYLOAD_BYTES:
                raise ProtocolError(
                    f"{self.address}: a reply of {size:,} bytes to a job status question"
                    f" (at most {MAX_PAYLOAD_BYTES:,} expected)"
                )
            payload = await reader.readexactly(size)
            if kind == ERROR:
                raise ProtocolError(f"{self.address}: gearmand refused: {decode_error(payload)}")
            status = decode_status(payload) if kind == STATUS_RES else None
            if status is None or status.handle not in asked or status.handle in by_handle:
                malformed += 1
            else:
                by_handle[status.handle] = status
        return by_handle, malformed

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await self.server.streams()

    async def close(self) -> None:
        await self.server.close()

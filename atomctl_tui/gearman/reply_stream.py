"""Replies of gearmand's admin protocol, read in order from one connection.

gearmand answers commands sent together in one write one after the other, in order (seen on
1.1.20, the lab's): a poll's commands go out at once and their replies come back in the same
few reads. A read may therefore bring the end of one reply and the start of the next; what a
reply did not use stays in the buffer for the next one. Limits hold per reply: a line's
length, a listing's lines and bytes.
"""

from __future__ import annotations

import asyncio
import time

from atomctl_tui.gearman.connection import GearmanAdminError

READ_BLOCK = 64 * 1024
_END_MARK = b"\n.\n"
_END_MARK_CR = b"\n.\r\n"


class ProtocolError(GearmanAdminError):
    """The reply was not gearmand's admin protocol (too long, cut off, unexpected)."""


class ReplyStream:
    """The replies on ``reader``, for one exchange of commands."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        address: str,
        *,
        max_line_bytes: int,
        max_reply_lines: int,
        max_reply_bytes: int,
    ) -> None:
        self.reader = reader
        self.address = address
        self.max_line_bytes = max_line_bytes
        self.max_reply_lines = max_reply_lines
        self.max_reply_bytes = max_reply_bytes
        self.buffer = bytearray()
        self.reading = ""
        """The command whose reply is being read (for words about a timeout)."""
        self.created_at = time.perf_counter()
        """Just before the commands were sent."""
        self.first_line_at: float | None = None
        """time.perf_counter() when the first reply's first line was whole."""

    @property
    def round_trip(self) -> float:
        """From sending the commands to the first reply's first line."""
        return (self.first_line_at or time.perf_counter()) - self.created_at

    async def line(self, command: str) -> str:
        """The next line, without its line end."""
        self.reading = command
        searched = 0
        while (end := self.buffer.find(b"\n", searched)) < 0:
            if len(self.buffer) > self.max_line_bytes:
                raise self.line_too_long(command)
            searched = len(self.buffer)
            await self._fill(command)
        if end > self.max_line_bytes:
            raise self.line_too_long(command)
        raw = bytes(self.buffer[:end])
        del self.buffer[: end + 1]
        if self.first_line_at is None:
            self.first_line_at = time.perf_counter()
        return raw.rstrip(b"\r").decode("utf-8", errors="replace")

    async def rest_of_listing(self, command: str) -> bytes:
        """The lines after a listing's first, each ending in "\n", up to its end mark (a line
        holding "."), which is consumed: read in blocks, so a thousand-function `status` is
        a few reads instead of a thousand."""
        self.reading = command
        searched = counted = newlines = 0
        while (found := self._end_of_listing(searched)) is None:
            # Checked before more is read: a reply that never ends is held to the same
            # limits as one that came whole.
            newlines += self.buffer.count(b"\n", counted)
            counted = len(self.buffer)
            if newlines > self.max_reply_lines or len(self.buffer) > self.max_reply_bytes:
                raise self._too_long(command)
            tail = len(self.buffer) - self.buffer.rfind(b"\n") - 1
            if tail > self.max_line_bytes:
                raise self.line_too_long(command)
            searched = max(0, len(self.buffer) - len(_END_MARK_CR))
            await self._fill(command)
        body_end, after = found
        body = bytes(self.buffer[:body_end])
        del self.buffer[:after]
        if body.count(b"\n") > self.max_reply_lines or len(body) > self.max_reply_bytes:
            raise self._too_long(command)
        return body

    def _end_of_listing(self, start: int) -> tuple[int, int] | None:
        """Where the listing's body ends and what follows its end mark begins; None when the
        buffer does not hold the mark yet. An empty rest is the mark alone."""
        for bare in (b".\n", b".\r\n"):
            if self.buffer.startswith(bare):
                return 0, len(bare)
        ends = [
            (end + 1, end + len(mark))
            for mark in (_END_MARK, _END_MARK_CR)
            if (end := self.buffer.find(mark, start)) >= 0
        ]
        return min(ends) if ends else None

    def ensure_drained(self, command: str) -> None:
        """Every reply read: anything more came unasked."""
        if self.buffer:
            raise ProtocolError(
                f"{self.address}: the server sent more after the end of '{command}'"
            )

    async def _fill(self, command: str) -> None:
        block = await self.reader.read(READ_BLOCK)
        if not block:
            in_line = bool(self.buffer) and not self.buffer.endswith(b"\n")
            what = "in the middle of a line" if in_line else "before the reply ended"
            raise ProtocolError(
                f"{self.address}: the server closed the connection {what} of '{command}'"
            )
        self.buffer += block

    def line_too_long(self, command: str) -> ProtocolError:
        return ProtocolError(
            f"{self.address}: a line of the reply to '{command}' is longer than"
            f" {self.max_line_bytes} bytes"
        )

    def _too_long(self, command: str) -> ProtocolError:
        return ProtocolError(
            f"{self.address}: reply to '{command}' went on past"
            f" {self.max_reply_lines} lines or {self.max_reply_bytes} bytes"
        )

"""One connection to a job server's port, for the admin client and the job status client:
opened when first needed, within its timeout, and kept; closed (by the client) after any call
that did not end cleanly, so a later call never reads an earlier one's leftovers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time


class GearmanAdminError(Exception):
    """A call to a job server that did not give an answer; the message says why in words."""


class ServerUnreachable(GearmanAdminError):
    """No connection could be made (refused, unknown host, no route, connect timeout)."""


def format_address(host: str, port: int) -> str:
    """``host:port``, with an IPv6 literal in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def seconds_text(seconds: float) -> str:
    """``1.5``, ``2``, ``120``: a timeout as words say it (what is left of a check's time
    divided can be 1.49965)."""
    return f"{round(seconds, 1):g}"


def reason(exc: BaseException) -> str:
    """An OSError in words: 'connection refused', 'name or service not known'…"""
    errno = getattr(exc, "errno", None)
    if isinstance(exc, socket.gaierror) or not errno or errno < 0:
        text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    else:
        text = os.strerror(errno)  # asyncio words refusals as "Connect call failed (…)"
    return text[:1].lower() + text[1:]


class ServerConnection:
    """The streams to ``host:port``, or to ``unix_path`` (a forward of that port through
    SSH) when it is given."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        connect_timeout: float,
        unix_path: str | os.PathLike[str] | None = None,
        limit: int | None = None,
    ) -> None:
        """``limit``: the longest line the reader takes (asyncio's default when None)."""
        self.host = host
        self.port = port
        self.unix_path = unix_path
        self.connect_timeout = connect_timeout
        self._limit = limit
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self.connected_at: float | None = None
        """time.monotonic() when the current connection was opened."""

    @property
    def address(self) -> str:
        return format_address(self.host, self.port)

    async def streams(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """The open connection, or a new one; ServerUnreachable when there is none."""
        if self._reader is not None and self._writer is not None:
            if not self._writer.is_closing() and not self._reader.at_eof():
                return self._reader, self._writer
            await self.close()
        limit = {"limit": self._limit} if self._limit is not None else {}
        try:
            async with asyncio.timeout(self.connect_timeout):
                if self.unix_path is not None:
                    reader, writer = await asyncio.open_unix_connection(self.unix_path, **limit)
                else:
                    reader, writer = await asyncio.open_connection(self.host, self.port, **limit)
        except TimeoutError as exc:
            raise ServerUnreachable(
                f"{self.address}: no connection within {seconds_text(self.connect_timeout)} s"
            ) from exc
        except OSError as exc:
            raise ServerUnreachable(f"{self.address}: {reason(exc)}") from exc
        self._reader, self._writer = reader, writer
        self.connected_at = time.monotonic()
        return reader, writer

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        self.connected_at = None
        if writer is not None:
            writer.close()
            # The peer may be gone or silent; the socket is closed on our side either way.
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), timeout=1.0)

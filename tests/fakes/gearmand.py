"""A job server's port that answers from gearmand's replies captured in tests/fixtures: admin
commands (text), and GET_STATUS questions of the binary protocol.

It serves on a Unix socket on a thread of its own (its own event loop), so that a console run
by ``App.run()`` — which makes its own loop — can reach it: give the console a
``GearmanTarget`` whose ``socket_path`` is ``path``, as a server reached through SSH is.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

FIXTURES = Path(__file__).parent.parent / "fixtures"
UNKNOWN_COMMAND = b"ERR UNKNOWN_COMMAND Unknown+server+command\n"
HEADER = struct.Struct(">4sII")  # magic, type, payload size
GET_STATUS = 15
START_TIMEOUT = 10.0


def status_packets(fixture: str) -> dict[bytes, bytes]:
    """gearmand's STATUS_RES packets of a capture, by the handle each answers."""
    data = (FIXTURES / fixture).read_bytes()
    by_handle = {}
    while data:
        _, _, size = HEADER.unpack(data[: HEADER.size])
        packet, data = data[: HEADER.size + size], data[HEADER.size + size :]
        by_handle[packet[HEADER.size :].split(b"\0")[0]] = packet
    return by_handle


def unknown_job(handle: bytes) -> bytes:
    """gearmand's STATUS_RES for a handle it does not know."""
    payload = handle + b"\x000\x000\x000\x000"
    return HEADER.pack(b"\0RES", 20, len(payload)) + payload


class FakeGearmand:
    """Answers each command of ``replies`` (command → fixture file name, or the reply's bytes)
    with those bytes, any other with gearmand's ERR UNKNOWN_COMMAND; ``asked`` lists the
    commands received, in order. A GET_STATUS is answered with the packet for its handle in
    the capture ``statuses`` (a file of STATUS_RES packets), else as an unknown job; its
    handle goes in ``asked_status``."""

    def __init__(
        self, path: Path, replies: Mapping[str, str | bytes], *, statuses: str | None = None
    ) -> None:
        self.path = path
        self.replies = {
            command.encode(): reply if isinstance(reply, bytes) else (FIXTURES / reply).read_bytes()
            for command, reply in replies.items()
        }
        self.statuses = status_packets(statuses) if statuses is not None else {}
        self.asked: list[str] = []
        self.asked_status: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="fake-gearmand", daemon=True)

    def __enter__(self) -> FakeGearmand:
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise AssertionError(f"the fake gearmand did not listen on {self.path} in time")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        stop = self._stop
        if stop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(stop.set)
        self._thread.join(START_TIMEOUT)

    def _run(self) -> None:
        try:
            self._loop.run_until_complete(self._serve())
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_unix_server(self._answer, path=str(self.path))
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            server.close()
            await server.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while first := await reader.read(1):
                if first == b"\0":  # a packet of the binary protocol, as gearmand tells them
                    writer.write(await self._answer_packet(first, reader))
                else:
                    command = (first + await reader.readline()).strip()
                    self.asked.append(command.decode(errors="replace"))
                    writer.write(self.replies.get(command, UNKNOWN_COMMAND))
                await writer.drain()
        writer.close()

    async def _answer_packet(self, first: bytes, reader: asyncio.StreamReader) -> bytes:
        _, kind, size = HEADER.unpack(first + await reader.readexactly(HEADER.size - 1))
        handle = await reader.readexactly(size)
        if kind != GET_STATUS:
            raise ConnectionError(f"the fake answers GET_STATUS only, not type {kind}")
        self.asked_status.append(handle.decode(errors="replace"))
        return self.statuses.get(handle) or unknown_job(handle)

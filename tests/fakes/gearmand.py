"""A job server's admin port that answers from gearmand's replies captured in tests/fixtures.

It serves on a Unix socket on a thread of its own (its own event loop), so that a console run
by ``App.run()`` — which makes its own loop — can reach it: give the console a
``GearmanTarget`` whose ``socket_path`` is ``path``, as a server reached through SSH is.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

FIXTURES = Path(__file__).parent.parent / "fixtures"
UNKNOWN_COMMAND = b"ERR UNKNOWN_COMMAND Unknown+server+command\n"
START_TIMEOUT = 10.0


class FakeGearmand:
    """Answers each command of ``replies`` (command → fixture file name) with that file's
    bytes, any other with gearmand's ERR UNKNOWN_COMMAND; ``asked`` lists the commands
    received, in order."""

    def __init__(self, path: Path, replies: Mapping[str, str]) -> None:
        self.path = path
        self.replies = {
            command.encode(): (FIXTURES / name).read_bytes() for command, name in replies.items()
        }
        self.asked: list[str] = []
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
        with contextlib.suppress(ConnectionError):
            while command := (await reader.readline()).strip():
                self.asked.append(command.decode(errors="replace"))
                writer.write(self.replies.get(command, UNKNOWN_COMMAND))
                await writer.drain()
        writer.close()

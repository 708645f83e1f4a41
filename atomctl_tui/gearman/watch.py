"""The job servers, watched: a poll of every server every ``interval`` seconds, handed to each
listener — the console's one source of Gearman data.

The polls run on a thread of their own, with its own event loop: a slow server, a thousand
functions to join, never cost the UI a frame. One poll at a time; the next starts
``interval`` after the previous one started, or right after it when it took longer, or at
once on ``poll_now()``. Listeners are called on that thread, with each poll's snapshots
(one per server); they must return quickly and never call back into the watch.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Sequence

from atomctl_tui.gearman.poller import JobServersPoller
from atomctl_tui.gearman.snapshot import ServerSnapshot

Snapshots = tuple[ServerSnapshot, ...]
Listener = Callable[[Snapshots], object]


class JobServersWatch:
    """Polls ``poller``'s servers while anyone listens; the thread starts with the first
    listener and ends with the last one, or at ``close()`` (a watch is not started again)."""

    def __init__(self, poller: JobServersPoller, *, interval: float) -> None:
        self.poller = poller
        self.interval = interval
        self.servers: Sequence[str] = tuple(p.name for p in poller.pollers)
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._latest: Snapshots | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = False

    @property
    def latest(self) -> Snapshots | None:
        """The last poll's snapshots (None before the first poll ends)."""
        with self._lock:
            return self._latest

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with the last poll now (if there was one) and with each poll
        from now on; returns unsubscribe."""
        with self._lock:
            if self._latest is not None:
                listener(self._latest)
            self._listeners.append(listener)
            if self._thread is None and not self._stopping:
                self._thread = threading.Thread(target=self._run, name="gearman-watch", daemon=True)
                self._thread.start()

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)
                last = not self._listeners
            if last:
                self.close()

        return unsubscribe

    def poll_now(self) -> None:
        """Start the next poll now rather than at its time."""
        with self._lock:
            loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has just closed
                loop.call_soon_threadsafe(wake.set)

    def close(self) -> None:
        """Stop polling, for good: the thread ends after the poll in progress (bounded by the
        client's timeouts) and closes every connection. Never waits: the UI thread calls it."""
        with self._lock:
            self._stopping = True
        self.poll_now()

    def _run(self) -> None:
        asyncio.run(self._poll_forever())

    async def _poll_forever(self) -> None:
        wake = asyncio.Event()
        with self._lock:
            self._loop, self._wake = asyncio.get_running_loop(), wake
        try:
            while not self._stopping:
                started = time.monotonic()
                snapshots = await self.poller.poll()
                with self._lock:
                    if self._stopping:
                        break
                    self._latest = snapshots
                    for listener in list(self._listeners):
                        listener(snapshots)
                await pause_between_polls(wake, self.interval - (time.monotonic() - started))
        finally:
            with self._lock:
                self._loop = self._wake = None
            await self.poller.close()


async def pause_between_polls(wake: asyncio.Event, seconds: float) -> None:
    """Wait ``seconds`` (none when negative), or until ``wake`` is set; then clear it."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wake.wait(), timeout=max(0.0, seconds))
    wake.clear()

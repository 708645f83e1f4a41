"""The job servers' watch, replaying polls: what ``JobServersWatch`` hands its listeners."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence

from atomctl_tui.gearman.watch import Listener, Snapshots


class FakeJobServers:
    """Stands for the console's ``JobServersWatch``: ``polls`` are played one at a time by
    ``play()`` (or all by ``play_all()``); a listener gets the last poll played when it
    subscribes, like the real watch. Listeners are called on the caller's thread."""

    def __init__(self, polls: Iterable[Snapshots]) -> None:
        self._lock = threading.RLock()
        self._script = list(polls)
        assert self._script, "at least one poll to play"
        self.servers: Sequence[str] = tuple(s.server for s in self._script[0])
        self._played = 0
        self._latest: Snapshots | None = None
        self._listeners: list[Listener] = []
        self.polls_asked = 0  # poll_now() calls (`r` in the Job server pane)
        self.closed = False

    @property
    def latest(self) -> Snapshots | None:
        with self._lock:
            return self._latest

    @property
    def listeners(self) -> int:
        with self._lock:
            return len(self._listeners)

    @property
    def remaining(self) -> int:
        with self._lock:
            return len(self._script) - self._played

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            if self._latest is not None:
                listener(self._latest)
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def play(self) -> Snapshots:
        """Hand the next poll to every listener; returns it."""
        with self._lock:
            assert self._played < len(self._script), "every poll has been played"
            snapshots = self._script[self._played]
            self._played += 1
            self._latest = snapshots
            for listener in list(self._listeners):
                listener(snapshots)
            return snapshots

    def play_all(self) -> None:
        while self.remaining:
            self.play()

    def poll_now(self) -> None:
        with self._lock:
            self.polls_asked += 1

    def close(self) -> None:
        with self._lock:
            self.closed = True

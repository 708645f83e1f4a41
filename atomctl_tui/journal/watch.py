"""A host's journal, watched: the console's one source of journal lines for that host.

The ``JournalFollower`` runs on a thread of its own, with its own event loop: reading and
parsing a flood never costs the UI a frame. It starts with the first listener and ends with
the last one, or at ``close()``; like ``JobServersWatch``, it does not start again after.

Listeners are called on that thread with the follower's status and each ``JournalBatch``; they
must return quickly and never call back into the watch. A batch is in flight until its
``taken()`` is called (from any thread), and the follower reads on at most
``MAX_BATCHES_IN_FLIGHT`` batches ahead of the slowest listener: a flood waits in journalctl's
pipe, not in the UI's queue.

A listener that comes after the lines started flowing first gets the last lines handed over
(at most ``MAX_REPLAY_LINES``): the journal pane mounted a moment after the workers' activity
began listening still shows the backlog. ``start()`` starts following before anyone listens
(the console, while Textual lays out its first screen): the follower reads on while nobody
listens as far as it would ahead of a listener (``MAX_BATCHES_IN_FLIGHT`` batches), and the
first listener gets those batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from atomctl_tui.journal.entries import JournalEntry
from atomctl_tui.journal.follower import FollowerStatus, JournalFollower
from atomctl_tui.journal.scope import JournalSettings
from atomctl_tui.remote.hosts import Host

MAX_BATCHES_IN_FLIGHT = 4  # of at most BATCH_MAX_LINES lines each
MAX_REPLAY_LINES = 1_000
CLOSE_TIMEOUT = 5.0
STARTING = FollowerStatus(True, "starting journalctl")


@dataclass(frozen=True)
class JournalBatch:
    """Lines for a listener (shared by all of them: not to be changed); it calls ``taken()``
    once they are where they go."""

    entries: list[JournalEntry]
    taken: Callable[[], None]


JournalEvent = JournalBatch | FollowerStatus
Listener = Callable[[JournalEvent], object]


class JournalWatch:
    """Follows ``host``'s journal for ``settings`` while anyone listens."""

    def __init__(self, host: Host, settings: JournalSettings) -> None:
        self.host = host
        self.settings = settings
        self.follower = JournalFollower(
            host, settings, self._hand_over, self._status_changed, room=self._room
        )
        self._lock = threading.RLock()  # a listener may take a batch while it is handed over
        self._listeners: dict[int, Listener] = {}  # by subscription
        self._in_flight: dict[int, int] = {}  # batches handed over, not yet taken
        self._subscriptions = 0
        self._recent: deque[JournalEntry] = deque(maxlen=MAX_REPLAY_LINES)
        """The last lines handed over, for a listener that comes later."""
        self._held: list[list[JournalEntry]] = []
        """Batches read before the first listener came, for it."""
        self._status = STARTING
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._room_freed = asyncio.Event()  # used on the follower's loop only
        self._closing = False

    @property
    def status(self) -> FollowerStatus:
        with self._lock:
            return self._status

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with the status now and the last lines handed over (if any),
        then with each batch and each status; returns unsubscribe."""
        with self._lock:
            # Under the lock, so that no event from the thread overtakes this first one.
            listener(self._status)
            key = self._subscriptions
            self._subscriptions += 1
            self._listeners[key] = listener
            self._in_flight[key] = 0
            if self._held:  # the first listener, after start(): every batch read so far
                held, self._held = self._held, []
                self._in_flight[key] = len(held)
                for entries in held:
                    listener(JournalBatch(entries, partial(self._taken, key)))
            elif self._recent:
                self._in_flight[key] = 1
                listener(JournalBatch(list(self._recent), partial(self._taken, key)))
            self._start_thread()
        self._call_on_loop(self._room_freed.set)  # a follower waiting for a listener reads on

        def unsubscribe() -> None:
            with self._lock:
                self._listeners.pop(key, None)
                self._in_flight.pop(key, None)
                last = not self._listeners
            if last:
                self.close()
            else:
                self._call_on_loop(self._room_freed.set)  # the batches it left count no more

        return unsubscribe

    def start(self) -> None:
        """Start following now, before anyone listens (``close()`` ends it)."""
        with self._lock:
            self._start_thread()

    def _start_thread(self) -> None:
        if self._thread is None and not self._closing:
            # Made here rather than on the thread: calls into it can be queued at once.
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(
                target=self._run, name=f"journal {self.host.label}", daemon=True
            )
            self._thread.start()

    def include_unit(self, unit: str) -> None:
        """Make sure ``unit``'s lines are followed (a unit outside the scope joins it)."""
        self._call_on_loop(self.follower.include_unit, unit)

    def scope_units(self) -> list[str]:
        """Every unit of the scope known so far, for a unit picker."""
        return self.follower.scope_units()

    def close(self) -> None:
        """Stop following and end journalctl (waits for the thread, boundedly)."""
        with self._lock:
            self._closing = True
            thread = self._thread
        self._call_on_loop(self.follower.stop)
        self._call_on_loop(self._room_freed.set)
        if thread is not None and thread is not threading.current_thread():
            thread.join(CLOSE_TIMEOUT)

    def _call_on_loop(self, call: Callable[..., object], *args: object) -> None:
        """``call(*args)`` on the follower's loop; here and now if it never started."""
        with self._lock:
            loop = self._loop
            if loop is None:
                call(*args)
                return
        with contextlib.suppress(RuntimeError):  # the loop has closed: nothing follows any more
            loop.call_soon_threadsafe(call, *args)

    # -- the thread --------------------------------------------------------------------

    def _run(self) -> None:
        loop = self._loop
        assert loop is not None
        try:
            loop.run_until_complete(self._follow())
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()

    async def _follow(self) -> None:
        try:
            await self.follower.run()
        except Exception as error:  # a bug: said where the lines would be, not lost in a thread
            self._status_changed(FollowerStatus(False, f"the journal follower failed: {error!r}"))

    def _hand_over(self, entries: list[JournalEntry]) -> None:
        # Listeners are called outside the lock: one that reads the batch at once (the
        # workers' activity) must not hold up the UI thread's taken() of its own batch.
        # Only this thread calls them, so each still gets its events in order.
        with self._lock:
            # Under the lock with the listeners' list: a listener subscribing now gets these
            # lines once, in the replay or as a listener.
            self._recent.extend(entries)
            if not self._subscriptions:
                self._held.append(entries)
            listeners = list(self._listeners.items())
            for key, _listener in listeners:
                self._in_flight[key] += 1
        for key, listener in listeners:
            listener(JournalBatch(entries, partial(self._taken, key)))

    def _taken(self, key: int) -> None:
        with self._lock:
            count = self._in_flight.get(key)
            if count:
                self._in_flight[key] = count - 1
        if count is not None and count >= MAX_BATCHES_IN_FLIGHT:
            self._call_on_loop(self._room_freed.set)  # the follower may be waiting for room

    async def _room(self) -> None:
        """Returns once someone listens and every listener has room for another batch (or the
        watch closes)."""
        while True:
            with self._lock:
                if self._subscriptions:
                    full = not self._listeners or any(
                        n >= MAX_BATCHES_IN_FLIGHT for n in self._in_flight.values()
                    )
                else:  # started, nobody has listened yet
                    full = len(self._held) >= MAX_BATCHES_IN_FLIGHT
                if self._closing or not full:
                    break
                self._room_freed.clear()
            await self._room_freed.wait()
        await asyncio.sleep(0)  # the flush timer and calls from other threads get their turn

    def _status_changed(self, status: FollowerStatus) -> None:
        with self._lock:
            self._status = status
            listeners = list(self._listeners.values())
        for listener in listeners:
            listener(status)

"""A host's journal watch, replaying ``journalctl -o json`` lines captured for real."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from atomctl_tui.journal.entries import JournalEntry, parse_entry
from atomctl_tui.journal.follower import FollowerStatus
from atomctl_tui.journal.watch import JournalBatch, Listener
from atomctl_tui.remote.hosts import Host

FIXTURES = Path(__file__).parent.parent / "fixtures"
FOLLOWING = FollowerStatus(True, "following")


def journal_fixture_entries(name: str, host: str | None = None) -> list[JournalEntry]:
    """The entries of ``tests/fixtures/<name>``, parsed as the follower parses them."""
    lines = (FIXTURES / name).read_bytes().splitlines()
    entries = [parse_entry(line, host) for line in lines if line.strip()]
    assert all(entries), f"{name}: a line parse_entry does not read"
    return [entry for entry in entries if entry is not None]


class FakeJournal:
    """Stands for a ``JournalWatch``: a listener gets the status, then ``entries`` as one
    batch, then whatever ``add()`` brings. ``taken`` counts batches the listeners took (the
    pane takes a batch once its lines are in the view)."""

    def __init__(
        self, host: Host, entries: Iterable[JournalEntry], status: FollowerStatus = FOLLOWING
    ) -> None:
        self.host = host
        self._lock = threading.RLock()
        self._entries = list(entries)
        self._status = status
        self._listeners: list[Listener] = []
        self.included: list[str] = []  # units asked for with include_unit()
        self.handed = 0
        self.taken = 0
        self.closed = False

    @property
    def status(self) -> FollowerStatus:
        with self._lock:
            return self._status

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            listener(self._status)
            if self._entries:
                self._hand(listener, self._entries)
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def add(self, entries: Sequence[JournalEntry]) -> None:
        with self._lock:
            self._entries.extend(entries)
            for listener in list(self._listeners):
                self._hand(listener, list(entries))

    def include_unit(self, unit: str) -> None:
        with self._lock:
            self.included.append(unit)

    def scope_units(self) -> list[str]:
        with self._lock:
            return sorted({entry.unit for entry in self._entries if entry.unit})

    def start(self) -> None:
        """The lines are there from the start: nothing to start."""

    def close(self) -> None:
        with self._lock:
            self.closed = True

    def _hand(self, listener: Listener, entries: list[JournalEntry]) -> None:
        self.handed += 1
        listener(JournalBatch(entries, self._taken))

    def _taken(self) -> None:
        with self._lock:
            self.taken += 1

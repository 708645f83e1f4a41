"""AtoM's jobs watch and database, standing in for a site's MariaDB: polls are what a test
gives, the database answers every call with the error a test gives."""

from __future__ import annotations

import threading
from collections.abc import Callable

from atomctl_tui.atom_db.connection import AtomDbError
from atomctl_tui.atom_db.jobs import JobsQuery
from atomctl_tui.atom_db.watch import JobsSnapshot, Listener


class FakeAtomJobsWatch:
    """Stands for ``AtomJobsWatch``: ``play(snapshot)`` hands a poll to every listener."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        self.latest: JobsSnapshot | None = None
        self.query = JobsQuery()
        self.asked: list[JobsQuery] = []
        self.polls_asked = 0

    def subscribe(self, listener: Listener, *, background: bool = False) -> Callable[[], None]:
        with self._lock:
            if self.latest is not None:
                listener(self.latest)
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def play(self, snapshot: JobsSnapshot) -> None:
        with self._lock:
            self.latest = snapshot
            for listener in list(self._listeners):
                listener(snapshot)

    def poll_now(self) -> None:
        self.polls_asked += 1

    def ask(self, query: JobsQuery) -> None:
        self.query = query
        self.asked.append(query)

    def close(self) -> None:
        pass


class UnreachableDatabase:
    """An ``AtomDatabase`` whose every call fails with ``words``."""

    def __init__(self, words: str) -> None:
        self.words = words
        self.writes = 0

    def read(self, work: object) -> object:
        raise AtomDbError(self.words)

    def write(self, work: object) -> object:
        self.writes += 1
        raise AtomDbError(self.words)

    def close(self) -> None:
        pass


class CannedDatabase:
    """An ``AtomDatabase`` whose every read returns ``answer`` (a job's story, say)."""

    def __init__(self, answer: object) -> None:
        self.answer = answer

    def read(self, work: object) -> object:
        return self.answer

    def write(self, work: object) -> object:
        raise AtomDbError("this fake database is read-only")

    def close(self) -> None:
        pass

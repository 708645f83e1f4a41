"""AtoM's jobs, watched: the recent jobs and their summary every ``interval`` seconds, handed
to each listener — the console's one source of AtoM's job records.

The database is read on a thread of its own (PyMySQL blocks), one read-only transaction per
poll, bounded by the connection's timeouts. Like ``JobServersWatch``: one poll at a time; the
next starts ``interval`` after the previous one started, or at once on ``poll_now()`` (the
journal showing a job line, say). Listeners are called on that thread with each immutable
``JobsSnapshot``; they must return quickly and never call back into the watch.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from atomctl_tui.atom_db.connection import AtomDatabase, AtomDbError, Cursor
from atomctl_tui.atom_db.jobs import (
    DEFAULT_LIMIT,
    JobRow,
    JobsQuery,
    JobsSummary,
    database_now,
    enabled_plugins,
    in_progress_jobs,
    jobs_summary,
    recent_jobs,
)
from atomctl_tui.outside_text import clean_line

DEFAULT_INTERVAL = 5.0
BACKGROUND_INTERVAL = 30.0
"""Polls for the health monitor alone; it asks for one at once when a worker starts or ends a
job, so a lost job is still seen within about a minute."""


@dataclass(frozen=True)
class JobsSnapshot:
    """One poll: the recent jobs (newest first), the summary, the jobs in progress and the
    enabled plugins, or why there are none."""

    taken: float
    """time.time() when the poll ended."""
    jobs: tuple[JobRow, ...] = ()
    summary: JobsSummary | None = None
    error: str | None = None
    """Why the database could not be read, in words (then there are no jobs)."""
    in_progress: tuple[JobRow, ...] = ()
    """The jobs in progress, oldest first, at most ``IN_PROGRESS_LISTED`` of them."""
    plugins: tuple[str, ...] | None = None
    """The site's enabled plugins (its ``plugins`` setting); None: not known."""

    @property
    def readable(self) -> bool:
        return self.error is None

    @property
    def in_progress_not_listed(self) -> int:
        """Jobs in progress beyond those in ``in_progress``."""
        counted = self.summary.in_progress if self.summary is not None else 0
        return max(0, counted - len(self.in_progress))


Listener = Callable[[JobsSnapshot], object]


def read_jobs(database: AtomDatabase, query: JobsQuery | None) -> JobsSnapshot:
    """One poll of ``database``: the jobs ``query`` asks for (None: none, the summary only)
    and the summary, in one transaction. Blocks, bounded by the connection's timeouts."""

    def work(
        cursor: Cursor,
    ) -> tuple[list[JobRow], JobsSummary, list[JobRow], tuple[str, ...] | None]:
        now = database_now(cursor)
        jobs = recent_jobs(cursor, query, now) if query is not None else []
        summary = jobs_summary(cursor, now)
        return jobs, summary, in_progress_jobs(cursor, now), enabled_plugins(cursor)

    try:
        jobs, summary, in_progress, plugins = database.read(work)
    except AtomDbError as exc:
        return JobsSnapshot(time.time(), error=str(exc))
    except Exception as exc:  # rows this code cannot take: said, and the watch goes on
        words = clean_line(f"{type(exc).__name__}: {exc}", 300)
        return JobsSnapshot(time.time(), error=f"AtoM's jobs could not be read ({words})")
    return JobsSnapshot(time.time(), tuple(jobs), summary, None, tuple(in_progress), plugins)


class AtomJobsWatch:
    """Polls ``database`` while anyone listens; the thread starts with the first listener and
    ends with the last one, or at ``close()`` (a watch is not started again)."""

    def __init__(
        self,
        database: AtomDatabase,
        *,
        interval: float = DEFAULT_INTERVAL,
        background_interval: float = BACKGROUND_INTERVAL,
        limit: int = DEFAULT_LIMIT,
    ) -> None:
        """``interval``: between polls while someone looks (the AtoM jobs view);
        ``background_interval``: while only background listeners (the health monitor) do."""
        self.database = database
        self.interval = interval
        self.background_interval = background_interval
        self.query = JobsQuery(limit=limit)
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._background: list[Listener] = []
        """Those of the listeners that only need the background pace."""
        self._latest: JobsSnapshot | None = None
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._stopping = False

    @property
    def latest(self) -> JobsSnapshot | None:
        """The last poll (None before the first one ends)."""
        with self._lock:
            return self._latest

    def subscribe(self, listener: Listener, *, background: bool = False) -> Callable[[], None]:
        """Call ``listener`` with the last poll now (if there was one) and with each poll
        from now on; returns unsubscribe. ``background``: it needs only the background pace
        (each poll of an idle console crosses SSH to every site's database)."""
        with self._lock:
            if self._latest is not None:
                listener(self._latest)
            self._listeners.append(listener)
            if background:
                self._background.append(listener)
            if self._thread is None and not self._stopping:
                self._thread = threading.Thread(target=self._run, name="atom-jobs", daemon=True)
                self._thread.start()

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)
                if listener in self._background:
                    self._background.remove(listener)
                last = not self._listeners
            if last:
                self.close()

        return unsubscribe

    def ask(self, query: JobsQuery) -> None:
        """List the jobs ``query`` asks for from the next poll on, which starts now."""
        with self._lock:
            self.query = query
        self._wake.set()

    @property
    def pace(self) -> float:
        """Seconds between polls now: the view's pace while anyone but the background looks."""
        with self._lock:
            looking = len(self._listeners) > len(self._background)
        return self.interval if looking else self.background_interval

    def poll_now(self) -> None:
        """Start the next poll now rather than at its time."""
        self._wake.set()

    def close(self) -> None:
        """Stop polling, for good: the thread ends after the poll in progress and closes the
        connection. Never waits: the UI thread calls it."""
        with self._lock:
            self._stopping = True
        self._wake.set()

    def _run(self) -> None:
        try:
            while not self._stopping:
                started = time.monotonic()
                with self._lock:
                    query = self.query
                snapshot = read_jobs(self.database, query)
                with self._lock:
                    if self._stopping:
                        break
                    self._latest = snapshot
                    for listener in list(self._listeners):
                        listener(snapshot)
                self._wake.wait(max(0.0, self.pace - (time.monotonic() - started)))
                self._wake.clear()
        finally:
            self.database.close()

"""What each worker of a host is doing, read from that host's journal: ``WorkerActivity``.

One per host, fed by that host's ``JournalWatch`` (the console's one follower of its journal:
the Journal pane's unit and host scope only filter what the pane draws, and a unit it asks for
only widens what journalctl reads, so every worker's lines reach this source too). Per worker
unit it keeps:

- ``running``: the AtoM job the worker started last and has not finished — its name (the job
  class, unless AtoM's caller gave a friendlier one), its job id, since when (the journal
  entry's time) and the worker's PID. A line from another PID of the unit, a stop or limit
  line, or systemd saying the main process ended closes it. A worker killed without a word
  leaves it open: whoever shows it compares ``pid`` with the unit's MainPID (``is_current``);
- ``undefined_abilities``: what the worker's current process reported as "Ability not
  defined" at start (a job class missing on this site, or its plugin disabled);
- ``failures``: the AtoM jobs that failed in the last hour, oldest first, at most
  ``MAX_FAILURES`` (an exception, "Maximum retries reached", or Net_Gearman's "Job failed").

Listeners get an ``ActivitySnapshot`` now and after every batch of lines that changed
something, on the journal watch's thread; they must return quickly and never call back in.
The first listener subscribes the source to the watch, the last one unsubscribes it (which
may end the watch's journalctl if nobody else listens: call it off the UI's event loop).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from atomctl_tui.journal.entries import JournalEntry
from atomctl_tui.journal.follower import FollowerStatus
from atomctl_tui.journal.watch import JournalBatch, JournalEvent, JournalWatch
from atomctl_tui.journal.worker_log import (
    JOB_ENDINGS,
    JOB_FAILURES,
    WorkerEventKind,
    parse_worker_line,
)
from atomctl_tui.systemd.units import matches

FAILURE_WINDOW_SECONDS = 3600.0
MAX_FAILURES = 200  # across the host's workers, within the window
MAX_UNDEFINED_ABILITIES = 64  # per worker
MAX_FAILURE_MESSAGE_CHARS = 500
SYSTEMD_PID = "1"
# systemd's own lines about a unit that mean its main process is gone.
PROCESS_GONE_PREFIXES = (
    "Main process exited",
    "Stopped ",
    "Deactivated successfully",
    "Failed with result",
)


@dataclass(frozen=True)
class RunningJob:
    """An AtoM job a worker process started and has not (in its journal) finished."""

    unit: str
    pid: str | None
    since: float
    """When the worker said "Job started." (the journal entry's time, seconds since the epoch)."""
    job_id: str | None = None
    name: str | None = None
    """The job's name: its class, unless AtoM's caller gave a friendlier one."""

    def is_current(self, main_pid: int) -> bool:
        """Still running as far as systemd knows: the unit's MainPID is the job's worker."""
        return main_pid != 0 and self.pid == str(main_pid)

    def label(self) -> str:
        """``arFindingAidJob #37864``, as far as it is known."""
        name = self.name or "a job"
        return f"{name} #{self.job_id}" if self.job_id else name


@dataclass(frozen=True)
class FailedJob:
    unit: str
    pid: str | None
    at: float
    """The journal entry's time of the failure (seconds since the epoch)."""
    message: str
    job_id: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class ActivitySnapshot:
    """One host's workers as their journal tells it; the mappings are by unit name."""

    host_label: str
    running: Mapping[str, RunningJob] = field(default_factory=dict)
    undefined_abilities: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    failures: tuple[FailedJob, ...] = ()
    """Oldest first; only those within ``FAILURE_WINDOW_SECONDS`` of when it was taken."""
    journal: FollowerStatus | None = None
    """The journal follower's latest status: whether the lines are flowing."""


Listener = Callable[[ActivitySnapshot], object]


@dataclass
class _Worker:
    pid: str | None = None
    running: RunningJob | None = None
    undefined: dict[str, None] = field(default_factory=dict)  # ordered set


class WorkerActivity:
    """The workers of ``journal``'s host whose units match ``worker_patterns``."""

    def __init__(
        self,
        journal: JournalWatch | None,
        worker_patterns: Sequence[str],
        *,
        host_label: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``journal`` None: lines come only through ``take`` (a one-shot read of the
        journal, as ``worker_history`` does); ``host_label`` then names the host."""
        self.journal = journal
        self.host_label = host_label or (journal.host.label if journal else "")
        self.worker_patterns = tuple(worker_patterns)
        self._clock = clock
        self._lock = threading.RLock()
        self._workers: dict[str, _Worker] = {}
        self._failures: deque[FailedJob] = deque(maxlen=MAX_FAILURES)
        self._status: FollowerStatus | None = None
        self._listeners: dict[int, Listener] = {}
        self._subscriptions = 0
        self._unsubscribe_journal: Callable[[], None] | None = None
        self._following = False  # subscribed (or subscribing) to the journal watch

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with the snapshot now, then after each change; returns
        unsubscribe (the last one lets go of the journal watch: call it off the event loop)."""
        with self._lock:
            listener(self.snapshot())
            key = self._subscriptions
            self._subscriptions += 1
            self._listeners[key] = listener
            first = not self._following
            self._following = True
        if first and self.journal is not None:
            # Outside the lock: the watch calls listeners under its own lock, on its thread,
            # and that call takes this lock — the other order here could deadlock.
            release = self.journal.subscribe(self._on_journal)
            with self._lock:
                self._unsubscribe_journal = release

        def unsubscribe() -> None:
            with self._lock:
                self._listeners.pop(key, None)
                release = None
                if not self._listeners:
                    release, self._unsubscribe_journal = self._unsubscribe_journal, None
                    self._following = False
            if release is not None:
                release()

        return unsubscribe

    def snapshot(self) -> ActivitySnapshot:
        with self._lock:
            self._forget_old_failures()
            return ActivitySnapshot(
                self.host_label,
                MappingProxyType(
                    {unit: w.running for unit, w in self._workers.items() if w.running}
                ),
                MappingProxyType(
                    {unit: tuple(w.undefined) for unit, w in self._workers.items() if w.undefined}
                ),
                tuple(self._failures),
                self._status,
            )

    def running_job(self, unit: str) -> RunningJob | None:
        with self._lock:
            worker = self._workers.get(unit)
            return worker.running if worker else None

    # -- from the journal watch (its thread) ---------------------------------------------

    def _on_journal(self, event: JournalEvent) -> None:
        if isinstance(event, JournalBatch):
            try:
                changed = self.take(event.entries)
            finally:
                event.taken()  # else the watch stops reading
        else:
            with self._lock:
                self._status = event
            changed = True
        if changed:
            self._notify()

    def take(self, entries: Iterable[JournalEntry]) -> bool:
        """Read ``entries`` (oldest first); True when something listeners see changed."""
        changed = False
        with self._lock:
            for entry in entries:
                unit = entry.unit
                if unit is None or not matches(unit, self.worker_patterns):
                    continue
                if entry.pid == SYSTEMD_PID:
                    changed |= self._systemd_says(unit, entry)
                else:
                    changed |= self._worker_says(unit, entry)
        return changed

    def _systemd_says(self, unit: str, entry: JournalEntry) -> bool:
        worker = self._workers.get(unit)
        if worker is None or worker.running is None:
            return False
        # systemd's lines name the unit first ("atom-worker@1.service: Main process exited…").
        message = entry.message.removeprefix(f"{unit}: ")
        if message.startswith(PROCESS_GONE_PREFIXES):
            worker.running = None
            return True
        return False

    def _worker_says(self, unit: str, entry: JournalEntry) -> bool:
        event = parse_worker_line(entry.message)
        worker = self._workers.setdefault(unit, _Worker())
        changed = False
        if worker.pid != entry.pid:  # another process of the unit: the last one is gone
            changed = worker.running is not None or bool(worker.undefined)
            worker.pid, worker.running = entry.pid, None
            worker.undefined.clear()
        kind = event.kind
        running = worker.running
        if kind is WorkerEventKind.JOB_STARTED:
            worker.running = RunningJob(
                unit, entry.pid, entry.timestamp, event.job_id, event.job_name
            )
            return True
        if kind is WorkerEventKind.JOB_PARAMETERS and running is not None:
            if (event.job_id, event.job_name) != (running.job_id, running.name):
                worker.running = replace(
                    running,
                    job_id=running.job_id or event.job_id,
                    name=running.name or event.job_name,
                )
                return True
            return changed
        if kind is WorkerEventKind.ABILITY_NOT_DEFINED:
            known = event.detail in worker.undefined
            if not known and len(worker.undefined) < MAX_UNDEFINED_ABILITIES:
                worker.undefined[event.detail] = None
                return True
            return changed
        if kind in JOB_FAILURES:
            self._failures.append(
                FailedJob(
                    unit,
                    entry.pid,
                    entry.timestamp,
                    (event.detail or event.text)[:MAX_FAILURE_MESSAGE_CHARS],
                    event.job_id or (running.job_id if running else None),
                    event.job_name or (running.name if running else None),
                )
            )
            changed = True
        if kind in JOB_ENDINGS and running is not None:
            worker.running = None
            changed = True
        return changed

    def _forget_old_failures(self) -> None:
        oldest = self._clock() - FAILURE_WINDOW_SECONDS
        while self._failures and self._failures[0].at < oldest:
            self._failures.popleft()

    def _notify(self) -> None:
        with self._lock:  # so that no snapshot overtakes another
            snapshot = self.snapshot()
            for listener in list(self._listeners.values()):
                listener(snapshot)

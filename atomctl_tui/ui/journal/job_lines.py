"""Which AtoM job each kept journal line belongs to, for the ``job:ID`` filter.

AtoM's worker names the job only in its ``Parameters:`` line (``worker_log``). A job's lines
are those of the same worker process from its ``Job started.`` (before the ``Parameters:``)
to ``Jobs completed: N``, ``Job failed: …`` or a stop request, or until the process starts
another job, says ``Running worker...`` again or reaches a limit; and systemd's line that
the unit's main process exited in the middle of it (as in ``worker_activity``).

Bounded: only lines still kept by the view are remembered (``forget``), and at most
``MAX_OPEN_JOBS`` processes with a job in progress.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from atomctl_tui.journal.entries import JournalEntry
from atomctl_tui.journal.worker_log import WorkerEventKind, parse_worker_line, split_stamp
from atomctl_tui.ui.journal.line_words import is_systemd_about_unit

MAX_OPEN_JOBS = 256
JOB_STARTED_WORDS = "Job started."  # the end of it: also in the "Job <id> "<name>": " form
MAX_PENDING_LINES = 64  # lines of a job before its Parameters: line says its id
PROCESS_EXITED = "Main process exited"
UNIT_FAILED = "Failed with result"  # right after it, when the exit was a failure

# The job's last line: included, then the job is over.
LAST_LINES = frozenset(
    {WorkerEventKind.JOBS_COMPLETED, WorkerEventKind.JOB_FAILED, WorkerEventKind.STOP_REQUESTED}
)
# Lines that say the job is already over: not the job's.
AFTER_JOB = frozenset(
    {
        WorkerEventKind.WORKER_RUNNING,
        WorkerEventKind.WORKER_STOPPED,
        WorkerEventKind.LIMIT_REACHED,
    }
)

ProcessKey = tuple[str | None, str | None, str | None]  # host, unit, pid


@dataclass
class _OpenJob:
    job_id: str | None = None
    pending: list[str] = field(default_factory=list)  # cursors, while the id is unknown


class JobLines:
    def __init__(self) -> None:
        self._job_of: dict[str, str] = {}  # cursor -> AtoM job id
        self._open: dict[ProcessKey, _OpenJob] = {}
        self._gone: dict[tuple[str | None, str | None], str] = {}
        """Per unit (one entry each): the job whose process systemd just said exited."""

    def job_of(self, entry: JournalEntry) -> str | None:
        return self._job_of.get(entry.cursor)

    def forget_all(self, entries: list[JournalEntry]) -> None:
        """The view no longer keeps ``entries``."""
        if self._job_of:  # a flood of other lines leaves nothing to forget
            pop = self._job_of.pop
            for entry in entries:
                pop(entry.cursor, None)

    def clear(self) -> None:
        self._job_of.clear()
        self._open.clear()
        self._gone.clear()

    def take_all(self, entries: list[JournalEntry]) -> None:
        """Read the next lines (in the journal's order)."""
        take = self.take
        for entry in entries:
            # Only a job's start matters while no job is open and no process just exited:
            # most of a flood is skipped here.
            if self._open or self._gone or entry.message.endswith(JOB_STARTED_WORDS):
                take(entry)

    def take(self, entry: JournalEntry) -> None:
        """Read the next line (in the journal's order)."""
        if is_systemd_about_unit(entry):
            self._systemd_says(entry)
            return
        stamp, text = split_stamp(entry.message)
        if stamp is None:
            return  # not an AtoM worker's line
        key = (entry.host, entry.unit, entry.pid)
        if key not in self._open and not text.endswith(JOB_STARTED_WORDS):
            return  # a worker's line outside any job: most of a flood
        event = parse_worker_line(entry.message)
        kind = event.kind
        if kind is WorkerEventKind.JOB_STARTED:
            self._open.pop(key, None)
            while len(self._open) >= MAX_OPEN_JOBS:
                del self._open[next(iter(self._open))]
            self._open[key] = _OpenJob()
            self._belongs(self._open[key], entry, event.job_id)
            return
        running = self._open.get(key)
        if running is None:
            return
        if kind in AFTER_JOB:
            del self._open[key]
            return
        self._belongs(running, entry, event.job_id)
        if kind in LAST_LINES:
            del self._open[key]

    def _belongs(self, job: _OpenJob, entry: JournalEntry, job_id: str | None) -> None:
        if job.job_id is None and job_id is not None:
            job.job_id = job_id
            for cursor in job.pending:
                self._job_of[cursor] = job_id
            job.pending.clear()
        if job.job_id is not None:
            self._job_of[entry.cursor] = job.job_id
        elif len(job.pending) < MAX_PENDING_LINES:
            job.pending.append(entry.cursor)

    def _systemd_says(self, entry: JournalEntry) -> None:
        unit_key = (entry.host, entry.unit)
        message = entry.message.removeprefix(f"{entry.unit}: ")
        gone_job = self._gone.pop(unit_key, None)
        if message.startswith(PROCESS_EXITED):
            for key in [key for key in self._open if key[:2] == unit_key]:
                job = self._open.pop(key)
                if job.job_id is not None:
                    self._job_of[entry.cursor] = job.job_id
                    self._gone[unit_key] = job.job_id
        elif message.startswith(UNIT_FAILED) and gone_job is not None:
            self._job_of[entry.cursor] = gone_job

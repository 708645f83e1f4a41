"""Where an AtoM job is now: running on a worker, waiting in Gearman, finished — or lost.

AtoM's row says only "in progress" (183) from the moment it is queued until the job class
marks it done; the rest comes from the two other witnesses. A worker's journal names the job
it runs (``WorkerActivity``); gearmand counts, per function, the jobs waiting and running
(it cannot say which job is which). A job in progress that no worker runs and for whose
function gearmand holds nothing, neither waiting nor running, will never finish: its worker
died mid-job, or gearmand lost it (restarted without a persistent queue).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from atomctl_tui.atom import split_function_name
from atomctl_tui.atom_db.jobs import JobRow
from atomctl_tui.gearman.snapshot import ServerSnapshot
from atomctl_tui.journal.worker_activity import ActivitySnapshot, RunningJob

LOST_AFTER = timedelta(seconds=30)
"""A job's row is written before its Gearman job is submitted: younger than this, a job that
nothing holds may still be on its way."""


class Place(enum.Enum):
    FINISHED = "finished"
    RUNNING = "running"
    WAITING = "waiting"
    LOST = "lost"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Whereabouts:
    place: Place
    words: str
    """Where it is, in a short phrase ("running on atom-worker@1", "waiting in Gearman")."""
    host: str | None = None
    """The host of the worker running it, when the journal says."""
    running: RunningJob | None = None


@dataclass(frozen=True)
class Witnesses:
    """What the journal and Gearman say of jobs, gathered once for all the jobs placed."""

    running: Mapping[str, tuple[str, RunningJob]]
    """By AtoM job id: the host and the worker job its journal says it runs."""
    by_class: Mapping[str, tuple[int, int]] | None
    """By job class: (waiting, running) on every job server; None: Gearman not read."""
    several_hosts: bool = False


def witnesses(
    servers: Sequence[ServerSnapshot] | None,
    activities: Sequence[ActivitySnapshot],
    site_prefix: str | None = None,
) -> Witnesses:
    """``servers``: the latest Gearman poll (None: none yet); ``site_prefix``: the site's
    function prefix, when known (a job server may serve several sites)."""
    running = {
        job.job_id: (activity.host_label, job)
        for activity in activities
        for job in activity.running.values()
        if job.job_id is not None
    }
    readable = [s for s in servers or () if s.reachable]
    by_class: dict[str, tuple[int, int]] | None = None
    if readable:
        by_class = {}
        for server in readable:
            for stats in server.functions:
                prefix, job_class = split_function_name(stats.function)
                if site_prefix is None or prefix == site_prefix:
                    waiting, running_count = by_class.get(job_class, (0, 0))
                    by_class[job_class] = (waiting + stats.waiting, running_count + stats.running)
    return Witnesses(running, by_class, len(activities) > 1)


def job_whereabouts(job: JobRow, now: datetime, seen: Witnesses) -> Whereabouts:
    """Where ``job`` is, at the database's ``now``, as ``seen`` says."""
    if not job.in_progress:
        return Whereabouts(Place.FINISHED, job.status)
    if (worker := seen.running.get(str(job.id))) is not None:
        host, running = worker
        words = f"running on {running.unit.removesuffix('.service')}"
        if seen.several_hosts:
            words += f" ({host})"
        return Whereabouts(Place.RUNNING, words, host, running)
    if seen.by_class is None:
        return Whereabouts(Place.UNKNOWN, "in progress (Gearman not read)")
    waiting, running_count = seen.by_class.get(job.name, (0, 0))
    if running_count:
        # Its worker's "Job started." may be older than the journal lines the console read.
        return Whereabouts(Place.RUNNING, f"running ({running_count} of {job.name} in Gearman)")
    if waiting:
        return Whereabouts(Place.WAITING, f"waiting in Gearman ({waiting} of {job.name})")
    if job.queued_at is not None and now - job.queued_at < LOST_AFTER:
        return Whereabouts(Place.UNKNOWN, "just queued")
    return Whereabouts(Place.LOST, "lost: no worker runs it, nothing waits in Gearman")

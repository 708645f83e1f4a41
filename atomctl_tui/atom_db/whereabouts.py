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
from collections.abc import Sequence
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


def job_whereabouts(
    job: JobRow,
    now: datetime,
    servers: Sequence[ServerSnapshot] | None,
    activities: Sequence[ActivitySnapshot],
    site_prefix: str | None = None,
) -> Whereabouts:
    """Where ``job`` is, at the database's ``now``. ``servers``: the latest Gearman poll (None:
    none yet); ``site_prefix``: the site's function prefix, when known (a job server may
    serve several sites)."""
    if not job.in_progress:
        return Whereabouts(Place.FINISHED, job.status)
    for activity in activities:
        for unit, running in activity.running.items():
            if running.job_id == str(job.id):
                words = f"running on {unit.removesuffix('.service')}"
                if len(activities) > 1:
                    words += f" ({activity.host_label})"
                return Whereabouts(Place.RUNNING, words, activity.host_label, running)
    readable = [s for s in servers or () if s.reachable]
    if not readable:
        return Whereabouts(Place.UNKNOWN, "in progress (Gearman not read)")
    waiting = running_count = 0
    for server in readable:
        for stats in server.functions:
            prefix, job_class = split_function_name(stats.function)
            if job_class == job.name and (site_prefix is None or prefix == site_prefix):
                waiting += stats.waiting
                running_count += stats.running
    if running_count:
        # Its worker's "Job started." may be older than the journal lines the console read.
        return Whereabouts(Place.RUNNING, f"running ({running_count} of {job.name} in Gearman)")
    if waiting:
        return Whereabouts(Place.WAITING, f"waiting in Gearman ({waiting} of {job.name})")
    if job.queued_at is not None and now - job.queued_at < LOST_AFTER:
        return Whereabouts(Place.UNKNOWN, "just queued")
    return Whereabouts(Place.LOST, "lost: no worker runs it, nothing waits in Gearman")

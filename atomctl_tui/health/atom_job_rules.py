"""AtoM job rules: the findings read from AtoM's own database (``HealthInputs.atom_jobs``).

- a stuck job: in progress, and lost (``atom_db.whereabouts``): no worker runs it as far as
  the journal says, gearmand holds none of its function, neither waiting nor running, and it
  was queued more than a minute ago. Nothing in AtoM will ever finish it; for
  arObjectMoveJob and arFileImportJob it also holds back every later one. Its fix marks it
  failed, as AtoM marks a failed job (the Health view, behind a confirmation);
- failed jobs: those that ended in error in the last hour, per name, with the last one's
  error note — for that host instead of the journal's count (``job_rules``);
- a database that cannot be read: a note in words; the journal's count stands in.

A read of the database and a poll of gearmand are not one moment: a job that ended after the
read, and that the poll no longer holds, looks lost. So the console (``history``) reports a
lost job only when a later read of the database still has it in progress; a one-shot check
reads the database after polling gearmand, so what it finds lost was lost already.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from atomctl_tui.health.findings import (
    ATOM_DB_UNREADABLE,
    ATOM_JOB_STUCK,
    JOBS_FAILED,
    Finding,
    HealthInputs,
    Severity,
    StuckJob,
    plural,
)

if TYPE_CHECKING:  # AtoM's job records are imported once a site's database has been read
    from atomctl_tui.atom_db.jobs import JobRow
    from atomctl_tui.atom_db.watch import JobsSnapshot
    from atomctl_tui.atom_db.whereabouts import Whereabouts

STUCK_ADVICE = (
    "Mark it failed from the console (the fix key here, or x in the AtoM jobs view, A), as"
    " AtoM marks a failed job: status error, finished now, with a note saying who and why."
    " Then queue it again from AtoM if it is still wanted."
)
FAILED_ADVICE = (
    "The AtoM jobs view (A) has each job's story: its notes, its output and its worker's"
    " journal lines. Fix the cause, then run the job again from AtoM."
)


def readable_sites(inputs: HealthInputs) -> Mapping[str, JobsSnapshot]:
    """The hosts whose AtoM database was read, and that read."""
    return {
        label: snapshot
        for label, snapshot in inputs.atom_jobs.items()
        if snapshot.readable and snapshot.summary is not None
    }


class StuckJobs:
    """The stuck-job rule; kept between assessments (``history``), it waits for a second read
    of the database before it calls a job lost."""

    def __init__(self, *, history: bool = True) -> None:
        self.history = history
        self._first_lost: dict[tuple[str, int], float] = {}
        """(host, job id) → the ``taken`` of the read that first found it lost."""
        self._unconfirmed = False

    @property
    def waiting_on_time(self) -> bool:
        """Some job looked lost on one read only: the next read decides."""
        return self._unconfirmed

    def findings(self, inputs: HealthInputs) -> list[Finding]:
        lost: dict[tuple[str, int], float] = {}
        findings: list[Finding] = []
        servers = inputs.snapshots
        sites = readable_sites(inputs)
        # A job may be on a server that did not answer: only a full poll says "nowhere".
        if sites and servers and all(server.reachable for server in servers):
            from atomctl_tui.atom_db.whereabouts import Place, job_whereabouts, witnesses

            prefix = inputs.site_prefix if len(inputs.hosts) == 1 else None
            seen = witnesses(servers, list(inputs.activities.values()), prefix)
            for label, snapshot in sites.items():
                assert snapshot.summary is not None
                now = snapshot.summary.now
                for job in snapshot.in_progress:
                    where = job_whereabouts(job, now, seen)
                    if where.place is not Place.LOST:
                        continue
                    key = (label, job.id)
                    first = self._first_lost.get(key, snapshot.taken)
                    lost[key] = first
                    if self.history and first == snapshot.taken:
                        continue  # the next read says whether it simply ended meanwhile
                    findings.append(stuck_finding(label, snapshot, job, where))
        self._first_lost = lost
        self._unconfirmed = len(findings) < len(lost)
        return findings


def stuck_finding(label: str, snapshot: JobsSnapshot, job: JobRow, where: Whereabouts) -> Finding:
    from atomctl_tui.atom_db.jobs import consequence_words

    assert snapshot.summary is not None
    since = None
    queued = "at a time not known"
    if job.queued_at is not None:
        # The database's clock may not be this machine's: count back from its own now.
        since = snapshot.taken - (snapshot.summary.now - job.queued_at).total_seconds()
        queued = f"since {job.queued_at:%Y-%m-%d %H:%M:%S}"
    return Finding(
        ATOM_JOB_STUCK,
        Severity.WARNING,
        f"AtoM job {job.id}",
        f"AtoM job {job.id} ({job.name}) is in progress {queued}, but nothing will finish it:"
        f" no worker runs it and gearmand holds no {job.name} job (its worker died in the"
        f" middle of it, or gearmand lost it when it restarted). {consequence_words(job)}",
        STUCK_ADVICE,
        host=label,
        function=job.name,
        since=since,
        atom_job=StuckJob(job, where),
    )


def failed_findings(inputs: HealthInputs) -> list[Finding]:
    """One warning per job name with jobs that ended in error in the last hour, per host
    whose database was read."""
    findings = []
    for label, snapshot in readable_sites(inputs).items():
        summary = snapshot.summary
        assert summary is not None
        at_least = "at least " if summary.errors_at_least else ""
        for errors in summary.errors_last_hour:
            note = f": {errors.last_note}" if errors.last_note else " (it has no error note)"
            findings.append(
                Finding(
                    JOBS_FAILED,
                    Severity.WARNING,
                    errors.name,
                    f"{at_least}{plural(errors.count, 'job')} of {errors.name} failed"
                    f" in the last hour; the last, job {errors.last_id}{note}",
                    FAILED_ADVICE,
                    host=label,
                    function=errors.name,
                )
            )
    return findings


def unreadable_findings(inputs: HealthInputs) -> list[Finding]:
    """A note per host whose AtoM database could not be read."""
    return [
        Finding(
            ATOM_DB_UNREADABLE,
            Severity.INFO,
            "AtoM's database",
            f"AtoM's database could not be read: {snapshot.error.rstrip('.')}. Stuck AtoM jobs"
            " are not looked for, and failed ones are counted from the workers' journal.",
            "Nothing else depends on it. To have them: let this user read the site's"
            " config/config.php, and the database user it names read AtoM's tables.",
            host=label,
        )
        for label, snapshot in inputs.atom_jobs.items()
        if snapshot.error is not None
    ]

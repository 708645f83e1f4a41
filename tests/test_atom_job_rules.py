"""The AtoM job rules from reads of AtoM's database (``JobsSnapshot``), with the lab's healthy
moment (tests/fixtures/health/healthy.json) as the job servers' poll: a stuck job, failed
jobs with their error note, an unreadable database, enabled plugins, and `check`'s words and
figures for them."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from atomctl_tui.atom_db.jobs import IN_PROGRESS, JobErrors, JobRow, JobsSummary
from atomctl_tui.atom_db.watch import JobsSnapshot
from atomctl_tui.atom_db.whereabouts import Place
from atomctl_tui.gearman.queue_rows import build_queue_rows
from atomctl_tui.health.check import EXIT_OK, EXIT_WARNING, plugin_result
from atomctl_tui.health.findings import (
    ATOM_DB_UNREADABLE,
    ATOM_JOB_STUCK,
    JOB_TYPE_NOT_ON_SITE,
    JOBS_FAILED,
    HealthInputs,
    HealthRules,
    Severity,
)
from atomctl_tui.health.job_rules import not_on_site_finding
from atomctl_tui.health.tracker import HealthTracker
from atomctl_tui.journal.worker_activity import FailedJob, RunningJob
from tests.test_health import HOST, W1, W2, activity, kinds, once, perfdata, scene

DB_NOW = datetime(2026, 12, 2, 10, 0, 0)  # the database's clock, not this machine's
TAKEN = 1_800_000_000.0  # time.time() of the first read


def job(job_id: int, name: str, *, queued_ago: timedelta = timedelta(minutes=10)) -> JobRow:
    queued = DB_NOW - queued_ago
    return JobRow(job_id, name, IN_PROGRESS, "demo", None, queued, None, DB_NOW - queued)


def read(
    *in_progress: JobRow,
    taken: float = TAKEN,
    errors: tuple[JobErrors, ...] = (),
    plugins: tuple[str, ...] | None = None,
) -> JobsSnapshot:
    summary = JobsSummary(DB_NOW, len(in_progress), in_progress[0] if in_progress else None, errors)
    return JobsSnapshot(taken, (), summary, None, in_progress, plugins)


def site(inputs: HealthInputs, snapshot: JobsSnapshot, **more: object) -> HealthInputs:
    return replace(inputs, atom_jobs={HOST: snapshot}, **more)  # type: ignore[arg-type]


def test_a_lost_job_is_stuck_with_its_consequence_and_since_when():
    inputs = site(scene("healthy"), read(job(37864, "arFileImportJob")))
    (finding,) = once(inputs)
    assert (finding.kind, finding.severity, finding.host) == (
        ATOM_JOB_STUCK,
        Severity.WARNING,
        HOST,
    )
    assert finding.problem.startswith(
        "AtoM job 37864 (arFileImportJob) is in progress since 2026-12-02 09:50:00, but nothing"
        " will finish it: no worker runs it and gearmand holds no arFileImportJob job"
    )
    assert "every later arFileImportJob and arObjectMoveJob waits behind it" in finding.problem
    assert "Maximum retries reached" in finding.problem
    assert finding.since == TAKEN - 600  # counted back on the database's own clock
    assert finding.atom_job is not None and finding.atom_job.job.id == 37864
    assert finding.atom_job.whereabouts.place is Place.LOST
    other = once(site(scene("healthy"), read(job(9, "arFindingAidJob"))))[0]
    assert "nothing else waits on it" in other.problem


def test_a_job_anything_holds_or_that_was_just_queued_is_not_stuck():
    healthy = scene("healthy")
    fresh = job(1, "arFileImportJob", queued_ago=timedelta(seconds=20))
    assert once(site(healthy, read(fresh))) == []
    running = RunningJob(W1, "225", TAKEN - 30, "2", "arFileImportJob")
    on_a_worker = site(healthy, read(job(2, "arFileImportJob")))
    assert once(replace(on_a_worker, activities=activity(running={W1: running}))) == []
    # Waiting in gearmand (one arFileImportJob queued), or running there (a worker the
    # journal does not show: another host's).
    poll = healthy.snapshots[0]
    for total, running_count in ((1, 0), (1, 1)):
        functions = tuple(
            replace(f, total=total, running=running_count)
            if f.function.endswith("-arFileImportJob")
            else f
            for f in poll.functions
        )
        held = site(healthy, read(job(3, "arFileImportJob")))
        assert once(replace(held, snapshots=(replace(poll, functions=functions),))) == []
    # A job server that did not answer may hold it; no poll yet says nothing either.
    down = replace(healthy.snapshots[0], reachable=False, error="connection refused")
    assert ATOM_JOB_STUCK not in kinds(once(site(healthy, read(job(4, "x")), snapshots=(down,))))
    assert once(site(healthy, read(job(5, "x")), snapshots=None)) == []


def test_the_console_waits_for_a_second_read_before_it_calls_a_job_lost():
    """A job that ended after the database was read, and that gearmand no longer holds, looks
    lost on that read: the next read has it finished."""
    tracker = HealthTracker(HealthRules())
    healthy = scene("healthy")
    stuck, ended = job(10, "arObjectMoveJob"), job(11, "arObjectMoveJob")
    assert tracker.assess(site(healthy, read(stuck, ended))) == []
    assert tracker.waiting_on_time  # the next read decides
    assert tracker.assess(site(healthy, read(stuck, ended))) == []  # the same read again
    (finding,) = tracker.assess(site(healthy, read(stuck, taken=TAKEN + 5)))
    assert (finding.kind, finding.atom_job and finding.atom_job.job.id) == (ATOM_JOB_STUCK, 10)
    assert not tracker.waiting_on_time
    assert tracker.assess(site(healthy, read(taken=TAKEN + 10))) == []  # marked failed


def test_failed_jobs_come_from_the_database_with_their_note_where_it_is_read():
    healthy = scene("healthy")
    failures = (
        FailedJob(W2, "239", healthy.now - 60, "Exception: bad CSV", "42", "arFileImportJob"),
    )
    journal_only = replace(healthy, activities=activity(failures=failures))
    errors = (
        JobErrors("arFileImportJob", 3, 44, "Exception: Maximum retries reached (10)"),
        JobErrors("arFindingAidJob", 1, 40),
    )
    findings = once(site(journal_only, read(errors=errors)))
    assert kinds(findings) == [JOBS_FAILED, JOBS_FAILED]
    assert [f.problem for f in findings] == [
        "3 jobs of arFileImportJob failed in the last hour; the last, job 44:"
        " Exception: Maximum retries reached (10)",
        "1 job of arFindingAidJob failed in the last hour; the last, job 40 (it has no error note)",
    ]
    assert {f.host for f in findings} == {HOST} and "AtoM jobs view (A)" in findings[0].advice
    # Lower bounds said as such.
    (bounded,) = once(
        site(
            healthy,
            replace(
                read(errors=errors[1:]), summary=JobsSummary(DB_NOW, 0, None, errors[1:], True)
            ),
        )
    )
    assert bounded.problem.startswith("at least 1 job of arFindingAidJob")
    # The database not readable: the journal's count, and a note saying why.
    unreadable = JobsSnapshot(TAKEN, error="access denied for user 'atom' to database 'atom'")
    findings = once(site(journal_only, unreadable))
    assert kinds(findings) == [JOBS_FAILED, ATOM_DB_UNREADABLE]
    assert findings[0].problem.startswith("1 job of arFileImportJob failed in the last hour")
    note = findings[1]
    assert note.severity == Severity.INFO
    assert note.problem.startswith(
        "AtoM's database could not be read: access denied for user 'atom' to database 'atom'."
    )


def test_the_enabled_plugins_say_why_a_job_type_is_not_on_the_site():
    healthy = scene("healthy")
    snapshot = healthy.snapshots[0]
    sword = f"{healthy.site_prefix}qtSwordPluginWorker"
    without_sword = tuple(f for f in snapshot.functions if f.function != sword)
    undefined = {W1: ("qtSwordPluginWorker",)}
    inputs = replace(
        healthy,
        snapshots=(replace(snapshot, functions=without_sword),),
        activities=activity(undefined_abilities=undefined),
    )
    default_site = read(plugins=("sfCaribouPlugin", "arDominionB5Plugin", "qbAclPlugin"))
    (note,) = once(site(inputs, default_site))
    assert (note.kind, note.severity) == (JOB_TYPE_NOT_ON_SITE, Severity.INFO)
    assert note.problem == (
        "1 AtoM job type not on this site: qtSwordPluginWorker (qtSwordPlugin is not enabled on"
        ' this site). Its workers report "Ability not defined", so AtoM cannot queue it here.'
    )
    assert note.advice.startswith(
        "Nothing to do unless the site should offer it: enable qtSwordPlugin"
    )
    enabled = not_on_site_finding(["qtSwordPluginWorker"], ("qtSwordPlugin",))
    assert enabled is not None and "qtSwordPlugin is enabled, yet" in enabled.problem
    unknown = not_on_site_finding(["qtSwordPluginWorker"], None)
    assert unknown is not None and "or its plugin is not enabled" in unknown.problem


def test_check_says_the_stuck_job_and_its_figures():
    healthy = scene("healthy")
    errors = (JobErrors("arFileImportJob", 2, 44, "Exception: bad CSV"),)
    snapshot = read(job(37864, "arFileImportJob"), errors=errors)
    inputs = site(healthy, snapshot)
    rows = build_queue_rows(healthy.snapshots, site_prefix=healthy.site_prefix, worker_types={})
    result = plugin_result(
        once(inputs), healthy.snapshots, rows, HealthRules(), atom_jobs={HOST: snapshot}
    )
    assert result.status == EXIT_WARNING
    assert result.line.startswith("ATOMCTL WARNING - 2 warning: AtoM job 37864 (arFileImportJob)")
    values = perfdata(result.line)
    assert values["atom_jobs_in_progress"] == "1;;;0"
    assert values["atom_jobs_errors_last_hour"] == "2;;;0"
    assert "arFindingAidJob waiting" in values  # the queues' figures still follow
    several = plugin_result(
        [], healthy.snapshots, rows, HealthRules(), several_hosts=True, atom_jobs={HOST: snapshot}
    )
    assert perfdata(several.line)[f"{HOST} atom_jobs_in_progress"] == "1;;;0"
    unread = JobsSnapshot(TAKEN, error="no database server at socket /run/mysqld/mysqld.sock")
    quiet = plugin_result(
        once(site(healthy, unread)),
        healthy.snapshots,
        rows,
        HealthRules(),
        atom_jobs={HOST: unread},
    )
    assert quiet.status == EXIT_OK and "AtoM's database could not be read" in quiet.line
    assert "atom_jobs_in_progress" not in perfdata(quiet.line)

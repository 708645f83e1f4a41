"""Where a job is: the journal's worker, Gearman's counts, or nowhere (lost)."""

from __future__ import annotations

from datetime import datetime, timedelta

from atomctl_tui.atom_db.jobs import COMPLETED, IN_PROGRESS, JobRow
from atomctl_tui.atom_db.whereabouts import Place, Whereabouts, job_whereabouts, witnesses
from atomctl_tui.gearman.snapshot import FunctionStats, ServerSnapshot
from atomctl_tui.journal.worker_activity import ActivitySnapshot, RunningJob

NOW = datetime(2026, 12, 2, 16, 0, 0)
PREFIX = "0123456789abcdef0123456789abcdef-"


def where_is(job: JobRow, servers, activities) -> Whereabouts:
    return job_whereabouts(job, NOW, witnesses(servers, activities, PREFIX))


def job(job_id: int = 37, *, status: int = IN_PROGRESS, age: timedelta = timedelta(hours=1)):
    return JobRow(job_id, "arFindingAidJob", status, "demo", None, NOW - age, None, age)


def server(waiting: int = 0, running: int = 0, prefix: str = PREFIX) -> ServerSnapshot:
    stats = FunctionStats(f"{prefix}arFindingAidJob", waiting + running, running, 1, 0, waiting, 0)
    return ServerSnapshot("127.0.0.1:4730", True, 0.0, 0.0, functions=(stats,))


def running_on(unit: str, job_id: str) -> ActivitySnapshot:
    return ActivitySnapshot("lab", {unit: RunningJob(unit, "42", 0.0, job_id, "arFindingAidJob")})


def test_a_finished_job_is_finished_whatever_gearman_says() -> None:
    where = where_is(job(status=COMPLETED), [server(waiting=3)], [])
    assert where.place is Place.FINISHED and where.words == "completed"


def test_the_journal_names_the_worker_running_it() -> None:
    activity = running_on("atom-worker@2.service", "37")
    where = where_is(job(), [server(running=1)], [activity])
    assert where.place is Place.RUNNING
    assert where.words == "running on atom-worker@2"


def test_another_jobs_worker_is_not_this_ones() -> None:
    activity = running_on("atom-worker@2.service", "36")
    where = where_is(job(), [server()], [activity])
    assert where.place is Place.LOST


def test_gearman_running_its_class_means_it_may_be_running() -> None:
    where = where_is(job(), [server(running=1)], [])
    assert where.place is Place.RUNNING


def test_waiting_in_gearman() -> None:
    where = where_is(job(), [server(waiting=2)], [])
    assert where.place is Place.WAITING
    assert "2 of arFindingAidJob" in where.words


def test_another_sites_queue_does_not_hold_it() -> None:
    other = "f" * 32 + "-"
    where = where_is(job(), [server(waiting=2, prefix=other)], [])
    assert where.place is Place.LOST


def test_nothing_holds_it_lost_but_not_when_just_queued() -> None:
    assert where_is(job(), [server()], []).place is Place.LOST
    young = job(age=timedelta(seconds=5))
    assert where_is(young, [server()], []).place is Place.UNKNOWN


def test_without_a_gearman_poll_nothing_is_called_lost() -> None:
    assert where_is(job(), None, []).place is Place.UNKNOWN
    down = ServerSnapshot("127.0.0.1:4730", False, 0.0, 0.0, error="refused")
    assert where_is(job(), [down], []).place is Place.UNKNOWN

"""Stuck AtoM jobs made for real in a lab of their own (gearmand restarted while it held
them: `atomctl-lab restart-job-server`), found by `atomctl-tui check` run on the lab's machine
and by the console's Health view, refused in --read-only, and marked failed from the view:
the row becomes an error with the note saying who, and the finding goes."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from functools import partial

import pytest

from atomctl_tui.atom_db.atom_site import AtomSite
from atomctl_tui.atom_db.config_php import read_local_settings
from atomctl_tui.atom_db.connection import AtomDatabase, Cursor, Endpoint
from atomctl_tui.atom_db.jobs import ERROR, IN_PROGRESS, JobStory, job_story
from atomctl_tui.atom_db.watch import AtomJobsWatch
from atomctl_tui.health.check import EXIT_WARNING
from atomctl_tui.health.findings import ATOM_JOB_STUCK, JOBS_FAILED
from atomctl_tui.lab.state import LabState
from atomctl_tui.systemd.audit import AUDIT_IDENTIFIER
from atomctl_tui.ui.widgets.confirm_screen import ConfirmScreen
from tests.gearman_lab import lab_settings
from tests.labs import boot, inside, lab_cli, unique_name
from tests.ui.health_view import QUICK_RULES, check_in_lab, health_view_of
from tests.ui.workers_console import RecordingApp, WorkersConsole
from tests.waiting import wait_until

pytestmark = pytest.mark.lab

LOST_JOB_CLASS = "qtSwordPluginWorker"  # no worker of a default site takes it: it waits


@pytest.fixture(scope="module")
def lab() -> Iterator[LabState]:
    """A lab of its own: its stuck rows would be findings in every other test."""
    if os.geteuid() != 0:
        pytest.fail("the lab tests must run as root: run ./scripts/test as root", pytrace=False)
    name = unique_name("stuck")
    state = boot(name, "--workers", "2")
    yield state
    lab_cli("down", "--name", name)


def database(lab: LabState) -> AtomDatabase:
    """The lab's database as its config.php says, over the lab's TCP port."""
    root = lab.paths.atom_root
    return AtomDatabase(
        lambda: read_local_settings(root),
        lambda _settings: Endpoint("the lab", host="127.0.0.1", port=lab.mysql_port),
    )


def story(lab: LabState, job_id: int) -> JobStory:
    db = database(lab)
    try:
        found = db.read(lambda cursor: job_story(cursor, job_id))
    finally:
        db.close()
    assert found is not None
    return found


def lost_jobs(lab: LabState, count: int) -> list[int]:
    """``count`` jobs queued, then lost by restarting gearmand; their ids."""
    done = lab_cli("submit", "--name", lab.name, LOST_JOB_CLASS, "--count", str(count), "--json")
    ids = [int(job["id"]) for job in json.loads(done.stdout)]
    lab_cli("restart-job-server", "--name", lab.name)

    # A job is called lost only once queued a minute ago (it may still be on its way to
    # gearmand before that): date them back rather than wait that minute.
    def backdate(cursor: Cursor) -> None:
        marks = ", ".join(["%s"] * len(ids))
        cursor.execute(
            f"UPDATE object SET created_at = created_at - INTERVAL 5 MINUTE WHERE id IN ({marks})",
            tuple(ids),
        )

    db = database(lab)
    try:
        db.write(backdate)
    finally:
        db.close()
    return ids


def console(lab: LabState, *, read_only: bool) -> RecordingApp:
    settings = lab_settings(lab)
    site = AtomSite(
        lab.host(),
        AtomJobsWatch(database(lab), interval=0.5, background_interval=0.5),
        partial(database, lab),
        settings.site_prefix,
    )
    return RecordingApp(
        lab.host(), settings=settings, health=QUICK_RULES, read_only=read_only, atom_sites=[site]
    )


def check_warns(lab: LabState, *texts: str) -> str:
    """`check`'s line once it warns and says each of ``texts`` (until the workers have
    registered again with the new gearmand, that is said too)."""

    def warned() -> str | None:
        result = check_in_lab(lab)
        line = result.stdout
        ok = result.returncode == EXIT_WARNING and all(text in line for text in texts)
        return line if ok else None

    return wait_until(warned, timeout=60, what=f"check to warn, saying {texts}")


async def test_a_lost_job_is_found_by_check_and_in_health_and_marked_failed_there(lab: LabState):
    first, second = lost_jobs(lab, 2)
    said = [
        f"AtoM job {job_id} ({LOST_JOB_CLASS}) is in progress since" for job_id in (first, second)
    ]
    line = check_warns(lab, "ATOMCTL WARNING - 2 warning: ", *said)
    assert "nothing will finish it" in line and "gearmand lost it" in line
    assert "'atom_jobs_in_progress'=2;;;0" in line and "'atom_jobs_errors_last_hour'=0;;;0" in line
    assert story(lab, first).job.status_id == IN_PROGRESS

    # Read-only: shown, but not offered, and the key does nothing.
    async with health_view_of(console(lab, read_only=True)) as view:
        found = await view.wait_finding(ATOM_JOB_STUCK, subject=f"AtoM job {first}")
        detail = await view.select(found)
        assert "nothing will finish it" in detail and "mark job" not in detail, detail
        assert view.screen.check_action("fix", ()) is False
        await view.pilot.press("enter")
        await view.pilot.pause()
        assert not isinstance(view.app.screen, ConfirmScreen)
    assert story(lab, first).job.status_id == IN_PROGRESS

    app = console(lab, read_only=False)
    async with health_view_of(app) as view:
        found = await view.wait_finding(ATOM_JOB_STUCK, subject=f"AtoM job {first}")
        detail = await view.select(found)
        assert f"⏎: mark job {first} failed" in detail, detail
        await view.pilot.press("enter")
        workers = WorkersConsole(app, view.pilot)
        question = (await workers.answer(confirm=True)).question
        assert f"Mark AtoM job {first} ({LOST_JOB_CLASS}) failed?" in question
        assert "lost: no worker runs it" in question
        await workers.wait_notification(f"Job {first} ({LOST_JOB_CLASS}) is marked failed.")
        await view.wait_gone(ATOM_JOB_STUCK, subject=f"AtoM job {first}")
        assert view.find(ATOM_JOB_STUCK, subject=f"AtoM job {second}") is not None
        # Marked as AtoM marks a failed job: an error now, counted as one.
        failed = await view.wait_finding(JOBS_FAILED, function=LOST_JOB_CLASS)
        assert f"the last, job {first}: Marked failed by" in failed.problem

    marked = story(lab, first)
    assert marked.job.status_id == ERROR and marked.job.completed_at is not None
    assert any(note.is_error and "Marked failed by" in note.content[0] for note in marked.notes)
    assert story(lab, second).job.status_id == IN_PROGRESS
    audit = inside(
        lab, "journalctl", "--no-pager", "-o", "cat", f"SYSLOG_IDENTIFIER={AUDIT_IDENTIFIER}"
    )
    assert f"mark failed AtoM job {first}: done" in audit, audit

    line = check_warns(
        lab, f"AtoM job {second} ({LOST_JOB_CLASS})", "'atom_jobs_errors_last_hour'=1;;;0"
    )
    assert f"AtoM job {first} " not in line

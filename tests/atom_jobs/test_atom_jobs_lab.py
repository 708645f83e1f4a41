"""The AtoM jobs view against a lab's real MariaDB, gearmand, workers and journal: a job's life
from queued to completed or error, its story (rows, notes, output, worker and journal lines),
a job lost by a gearmand restart found lost and marked failed through the view, and the
view of a remote host's site (--host), read through its SSH master."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial

import pytest
from textual.widgets import Static

from atomctl_tui.atom_db.atom_site import AtomSite
from atomctl_tui.atom_db.config_php import read_local_settings
from atomctl_tui.atom_db.connection import AtomDatabase, Endpoint
from atomctl_tui.atom_db.jobs import JobStory, job_story
from atomctl_tui.atom_db.watch import AtomJobsWatch
from atomctl_tui.lab.ssh import client_config_path
from atomctl_tui.lab.state import LabState
from atomctl_tui.ui.app import AtomctlApp
from atomctl_tui.ui.atom_jobs.screen import AtomJobsScreen
from atomctl_tui.ui.atom_jobs.story_screen import JobStoryScreen
from atomctl_tui.ui.widgets.confirm_screen import ConfirmScreen
from tests.fleet.fleet_console import fleet_console
from tests.gearman_lab import lab_settings, start_workers, stop_workers
from tests.labs import boot, lab_cli, unique_name
from tests.waiting import wait_until_async

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lab() -> Iterator[LabState]:
    """A lab of its own: its gearmand is restarted with jobs queued."""
    name = unique_name("atomjobs")
    state = boot(name, "--workers", "2")
    yield state
    lab_cli("down", "--name", name)


def database(lab: LabState) -> AtomDatabase:
    """The lab's database as its config.php says, over the lab's TCP port (its socket is in
    the lab's own /run, which the test cannot see)."""
    root = lab.paths.atom_root
    return AtomDatabase(
        lambda: read_local_settings(root),
        lambda _settings: Endpoint("the lab", host="127.0.0.1", port=lab.mysql_port),
    )


def site(lab: LabState) -> AtomSite:
    settings = lab_settings(lab)
    return AtomSite(lab.host(), AtomJobsWatch(database(lab), interval=0.5),
                    partial(database, lab), settings.site_prefix)  # fmt: skip


def submit(lab: LabState, job_class: str, *options: str) -> int:
    done = lab_cli("submit", "--name", lab.name, job_class, "--json", *options)
    return int(json.loads(done.stdout)[0]["id"])


def row_cells(screen: AtomJobsScreen, lab: LabState, job_id: int) -> dict[str, str] | None:
    values = screen.table.shown.get(f"{lab.host().label}\0{job_id}")
    if values is None:
        return None
    return {column: getattr(value, "words", str(value)) for column, value in values.items()}


def console(lab: LabState) -> AtomctlApp:
    return AtomctlApp(lab.host(), settings=lab_settings(lab), atom_sites=[site(lab)])


async def open_view(app: AtomctlApp, pilot) -> AtomJobsScreen:
    await pilot.press("A")
    await wait_until_async(lambda: isinstance(app.screen, AtomJobsScreen), what="the view")
    screen = app.screen
    assert isinstance(screen, AtomJobsScreen)
    return screen


async def test_a_jobs_life_and_story(lab: LabState):
    app = console(lab)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_view(app, pilot)
        done = submit(lab, "arFindingAidJob", "--seconds", "1", "--object", "lab-fonds")
        failed = submit(lab, "arObjectMoveJob", "--seconds", "0.5", "--fail",
                        "--description", "Move lab-fonds")  # fmt: skip
        await wait_until_async(
            lambda: (row_cells(screen, lab, done) or {}).get("status") == "completed",
            timeout=40, what="the finding aid job completed in the view",
        )  # fmt: skip
        await wait_until_async(
            lambda: (row_cells(screen, lab, failed) or {}).get("status") == "error",
            timeout=40, what="the failing job in error in the view",
        )  # fmt: skip
        assert row_cells(screen, lab, done)["slug"] == "lab-fonds"

        screen.table.move_cursor(row=screen.table.get_row_index(f"{lab.host().label}\0{failed}"))
        await pilot.press("enter")
        await wait_until_async(lambda: isinstance(app.screen, JobStoryScreen), what="the story")
        story = app.screen
        assert isinstance(story, JobStoryScreen)
        await wait_until_async(
            lambda: isinstance(story.story, JobStory) and isinstance(story.journal, list),
            what="the story read",
        )
        assert isinstance(story.story, JobStory) and isinstance(story.journal, list)
        assert any(note.is_error for note in story.story.notes)
        assert any("Move lab-fonds" in line for n in story.story.notes for line in n.content)
        assert any(f'Job {failed} "arObjectMoveJob"' in line for line in story.story.output)
        assert story.journal, "the worker's journal lines of the job"
        units = {entry.unit for entry in story.journal}
        assert len(units) == 1 and next(iter(units)).startswith("atom-worker@")
        text = str(story.query_one("#job-story-text", Static).render())
        assert "Worker: atom-worker@" in text and "error: " in text


async def test_a_job_lost_by_a_gearmand_restart_is_marked_failed_from_the_view(lab: LabState):
    stop_workers(lab)
    try:
        lost = submit(lab, "arFileImportJob", "--seconds", "1")
        lab_cli("restart-job-server", "--name", lab.name)
        app = console(lab)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await open_view(app, pilot)
            key = f"{lab.host().label}\0{lost}"
            # Lost only once the job is 30 s old: until then it may be on its way.
            await wait_until_async(
                lambda: (row_cells(screen, lab, lost) or {}).get("where", "").startswith("lost"),
                timeout=90, what="the job found lost",
            )  # fmt: skip
            screen.table.move_cursor(row=screen.table.get_row_index(key))
            await pilot.press("x")
            await wait_until_async(lambda: isinstance(app.screen, ConfirmScreen), what="asked")
            assert f"Mark AtoM job {lost} (arFileImportJob) failed?" in app.screen.question
            await pilot.press("y")
            await wait_until_async(
                lambda: (row_cells(screen, lab, lost) or {}).get("status") == "error",
                what="the row in error",
            )
        story = database(lab).read(lambda cursor: job_story(cursor, lost))
        assert story is not None and story.job.completed_at is not None
        (note,) = [n for n in story.notes if n.is_error]
        assert "Marked failed by" in note.content[0] and "with atomctl-tui" in note.content[0]
    finally:
        start_workers(lab)


async def test_over_host_the_view_reads_the_remote_site_through_its_ssh_master(lab: LabState):
    job_id = submit(lab, "arFindingAidJob", "--seconds", "0.5", "--object", "lab-fonds")
    argv = ["--host", f"root@127.0.0.1:{lab.ssh_port}", "--ssh-config", str(client_config_path()),
            "--atom-root", str(lab.paths.atom_root), "--interval", "0.3"]  # fmt: skip
    with fleet_console(argv) as app:
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await open_view(app, pilot)
            (label,) = app.fleet.labels
            key = f"{label}\0{job_id}"

            def status() -> str:
                values = screen.table.shown.get(key)
                return str(values["status"]) if values else ""

            await wait_until_async(lambda: status() == "completed", timeout=40,
                                   what="the job completed, read over SSH")  # fmt: skip
            summary = str(screen.query_one("#atom-jobs-summary", Static).render())
            assert "in progress" in summary and "could not" not in summary

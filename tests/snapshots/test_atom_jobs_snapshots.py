"""The AtoM jobs view and one job's story, drawn at 80x24 and 120x36 from fake sources (the
rows AtoM's tables hold in the lab, a Gearman poll), after their data has arrived."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from atomctl_tui.atom_db.atom_site import AtomSite
from atomctl_tui.atom_db.jobs import JobNote, JobStory
from atomctl_tui.remote.hosts import Host
from atomctl_tui.ui.atom_jobs.story_screen import JobStoryScreen
from tests.atom_jobs.test_atom_jobs_screen import JOBS, POLL, PREFIX, SERVER, JobsApp
from tests.fakes.atom_jobs import CannedDatabase, FakeAtomJobsWatch
from tests.fakes.job_servers import FakeJobServers
from tests.waiting import wait_until_async

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 36), id="120x36")]
STORY = JobStory(
    job=JOBS[2],
    download_path=None,
    notes=(
        JobNote(1, False, ("Importing fonds-1.csv",)),
        JobNote(2, True, ("Exception: the CSV file has no 'legacyId' column",)),
    ),
    output=(
        '[info] [2026-12-02 15:10:00] Job 38 "arFileImportJob": Job started.',
        '[info] [2026-12-02 15:10:08] Job 38 "arFileImportJob": Exception: the CSV file has'
        " no 'legacyId' column",
    ),
)


def jobs_app() -> JobsApp:
    from atomctl_tui.ui.atom_jobs.screen import AtomJobsScreen

    watch = FakeAtomJobsWatch()
    watch.play(POLL)
    site = AtomSite(
        Host("lab", run_prefix=("false",)),
        watch,  # type: ignore[arg-type]
        lambda: CannedDatabase(STORY),  # type: ignore[arg-type, return-value]
        PREFIX,
    )
    servers = FakeJobServers([(SERVER,)])
    servers.play_all()
    screen = AtomJobsScreen([site], servers, [], ("atom-worker@*.service",), read_only=False)
    return JobsApp(screen)


@pytest.mark.parametrize("size", SIZES)
def test_atom_jobs_view(snap_compare: Callable[..., bool], size: tuple[int, int]) -> None:
    app = jobs_app()

    async def filled(pilot: Pilot) -> None:
        await wait_until_async(lambda: app.jobs_screen.table.row_count == 4, what="the rows")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=filled)


@pytest.mark.parametrize("size", SIZES)
def test_job_story(snap_compare: Callable[..., bool], size: tuple[int, int]) -> None:
    app = jobs_app()

    async def opened(pilot: Pilot) -> None:
        await wait_until_async(lambda: app.jobs_screen.table.row_count == 4, what="the rows")
        await pilot.press("down", "down", "enter")
        await wait_until_async(lambda: isinstance(app.screen, JobStoryScreen), what="the story")
        story = app.screen
        assert isinstance(story, JobStoryScreen)
        await wait_until_async(lambda: isinstance(story.journal, str), what="the journal read")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=opened)

"""The AtoM jobs view against fake sources: rows, where each job is, status and filter, the
story screen's words when the database cannot be read, marking refused in words."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Static

from atomctl_tui.atom_db.atom_site import AtomSite
from atomctl_tui.atom_db.jobs import COMPLETED, ERROR, IN_PROGRESS, JobRow, JobsSummary
from atomctl_tui.atom_db.watch import JobsSnapshot
from atomctl_tui.gearman.snapshot import FunctionStats, ServerSnapshot
from atomctl_tui.remote.hosts import Host
from atomctl_tui.ui.atom_jobs.screen import AtomJobsScreen
from atomctl_tui.ui.atom_jobs.story_screen import JobStoryScreen
from atomctl_tui.ui.widgets.confirm_screen import ConfirmScreen
from tests.fakes.atom_jobs import FakeAtomJobsWatch, UnreachableDatabase
from tests.fakes.job_servers import FakeJobServers
from tests.waiting import wait_until_async

NOW = datetime(2026, 12, 2, 16, 0, 0)
PREFIX = "0123456789abcdef0123456789abcdef-"


def row(job_id: int, name: str, status: int, minutes: int) -> JobRow:
    queued = NOW - timedelta(minutes=minutes)
    done = None if status == IN_PROGRESS else queued + timedelta(seconds=8)
    took = (done or NOW) - queued
    return JobRow(job_id, name, status, "demo", "fonds-1", queued, done, took)


JOBS = (
    row(40, "arFindingAidJob", IN_PROGRESS, 30),  # nothing holds it: lost
    row(39, "arObjectMoveJob", IN_PROGRESS, 1),  # waiting in Gearman
    row(38, "arFileImportJob", ERROR, 50),
    row(37, "arFindingAidJob", COMPLETED, 55),
)
POLL = JobsSnapshot(time.time(), JOBS, JobsSummary(NOW, 2, JOBS[1], ()))
SERVER = ServerSnapshot(
    "127.0.0.1:4730",
    True,
    0.0,
    0.0,
    functions=(FunctionStats(f"{PREFIX}arObjectMoveJob", 1, 0, 1, 0, 1, 0),),
)


class JobsApp(App[None]):
    def __init__(self, screen: AtomJobsScreen) -> None:
        super().__init__()
        self.jobs_screen = screen

    def on_mount(self) -> None:
        self.push_screen(self.jobs_screen)


def make(read_only: bool = False) -> tuple[JobsApp, FakeAtomJobsWatch, UnreachableDatabase]:
    watch = FakeAtomJobsWatch()
    database = UnreachableDatabase("no database server answers at /run/mysqld/mysqld.sock")
    # A host whose every command fails: no journal, no audit here (hermetic).
    site = AtomSite(Host("lab", run_prefix=("false",)), watch, lambda: database, PREFIX)  # type: ignore[arg-type]
    servers = FakeJobServers([(SERVER,)])
    servers.play_all()
    screen = AtomJobsScreen([site], servers, [], ("atom-worker@*.service",), read_only=read_only)
    return JobsApp(screen), watch, database


@dataclass
class RunningView:
    app: JobsApp
    pilot: Pilot
    watch: FakeAtomJobsWatch
    database: UnreachableDatabase

    @property
    def screen(self) -> AtomJobsScreen:
        return self.app.jobs_screen


@asynccontextmanager
async def filled_view(read_only: bool = False) -> AsyncIterator[RunningView]:
    """The view running, the sample poll played and its rows drawn."""
    app, watch, database = make(read_only)
    async with app.run_test(size=(120, 36)) as pilot:
        watch.play(POLL)
        await wait_until_async(lambda: app.jobs_screen.table.row_count == 4, what="the rows")
        yield RunningView(app, pilot, watch, database)


def cells(screen: AtomJobsScreen, job_id: int) -> dict[str, str]:
    values = screen.table.shown[f"lab\0{job_id}"]
    return {column: getattr(value, "words", str(value)) for column, value in values.items()}


async def test_rows_say_where_each_job_is() -> None:
    async with filled_view() as view:
        assert cells(view.screen, 40)["where"].startswith("lost")
        assert cells(view.screen, 39)["where"].startswith("waiting in Gearman")
        assert cells(view.screen, 38)["where"] == "error"
        assert view.screen.table.cursor_key == "lab\x0040"  # newest first
        summary = str(view.screen.query_one("#atom-jobs-summary", Static).render())
        assert "2 in progress" in summary


async def test_status_key_asks_the_database_and_filters() -> None:
    async with filled_view() as view:
        await view.pilot.press("s")
        assert view.watch.asked[-1].status_id == IN_PROGRESS
        assert set(view.screen.table.shown) == {"lab\x0040", "lab\x0039"}
        await view.pilot.press("s")
        assert view.watch.asked[-1].status_id == ERROR
        assert set(view.screen.table.shown) == {"lab\x0038"}


async def test_text_filter() -> None:
    async with filled_view() as view:
        await view.pilot.press("slash", *"import", "enter")
        assert set(view.screen.table.shown) == {"lab\x0038"}


async def test_story_says_why_the_database_cannot_be_read() -> None:
    async with filled_view() as view:
        await view.pilot.press("enter")
        await wait_until_async(lambda: isinstance(view.app.screen, JobStoryScreen))
        story = view.app.screen
        assert isinstance(story, JobStoryScreen)
        await wait_until_async(lambda: isinstance(story.journal, (list, str)))
        text = str(story.query_one("#job-story-text", Static).render())
        assert "Job 40 · arFindingAidJob · in progress" in text
        assert "no database server answers" in text
        assert "lost" in text


async def test_marking_is_refused_in_read_only() -> None:
    async with filled_view(read_only=True) as view:
        await view.pilot.press("x")
        assert not isinstance(view.app.screen, ConfirmScreen)
        assert any("read-only" in n.message for n in view.app._notifications)
        assert view.database.writes == 0


async def test_marking_asks_first_naming_the_job_and_what_it_does() -> None:
    async with filled_view() as view:
        await view.pilot.press("x")
        await wait_until_async(lambda: isinstance(view.app.screen, ConfirmScreen))
        question = view.app.screen.question  # type: ignore[attr-defined]
        assert "Mark AtoM job 40 (arFindingAidJob) failed?" in question
        assert "only if it is still in progress" in question
        await view.pilot.press("n")
        assert view.database.writes == 0
        await view.pilot.press("x")
        await wait_until_async(lambda: isinstance(view.app.screen, ConfirmScreen))
        await view.pilot.press("y")
        await wait_until_async(lambda: view.database.writes == 1)
        await wait_until_async(
            lambda: any("not marked" in n.message for n in view.app._notifications)
        )

"""The Jobs view's running/queued states, from gearmand's captured replies: in words, and on the
screen (Pilot) against a fake job server answering with those replies."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import Static

from atomctl_tui.fleet import GearmanTarget
from atomctl_tui.gearman.admin import FunctionPriorities, FunctionStatus, QueuedJob
from atomctl_tui.gearman.job_status import JobStatus, JobStatuses
from atomctl_tui.gearman.servers import parse_server_address
from atomctl_tui.ui.queues.jobs_screen import (
    CANCELLED,
    GONE,
    QUEUED,
    RUNNING,
    UNKNOWN,
    JobsScreen,
    JobState,
    QueueFigures,
    job_state,
    jobs_text,
    queue_text,
)
from atomctl_tui.ui.widgets.confirm_screen import ConfirmScreen
from tests.fakes import FakeGearmand
from tests.waiting import wait_until_async

FUNCTION = "caaaafe6d0c7e2557f0e0ea395a2f1e6-arFindingAidJob"


def job(handle: str, *, ignored: bool = False) -> QueuedJob:
    return QueuedJob(handle, retries=0, ignored=ignored, queued=not ignored)


def status(handle: str, known: bool, running: bool, numerator=0, denominator=0) -> JobStatus:
    return JobStatus(handle, known, running, numerator, denominator)


@pytest.mark.parametrize(
    ("listed", "answer", "state"),
    [
        (job("H:vm:1"), status("H:vm:1", True, True), JobState(RUNNING, "running")),
        (job("H:vm:1"), status("H:vm:1", True, True, 3, 10), JobState(RUNNING, "running 3/10")),
        (job("H:vm:3"), status("H:vm:3", True, False), JobState(QUEUED, "queued")),
        (
            job("H:vm:8", ignored=True),
            status("H:vm:8", True, False),
            JobState(CANCELLED, "cancelled"),
        ),
        # Cancelled while it ran: gearmand lists it cancelled, its worker goes on.
        (
            job("H:vm:1", ignored=True),
            status("H:vm:1", True, True),
            JobState(RUNNING, "running, cancelled"),
        ),
        (job("H:vm:9"), status("H:vm:9", False, False), JobState(GONE, "gone")),
        (job("H:vm:9"), None, JobState(UNKNOWN, "unknown")),
        (job("H:vm:9", ignored=True), None, JobState(CANCELLED, "cancelled")),
    ],
)
def test_a_job_s_state_comes_from_get_status_and_show_jobs(listed, answer, state):
    assert job_state(listed, answer) == state


def test_the_header_counts_running_queued_and_cancelled():
    states = [job_state(job(f"H:vm:{n}"), status(f"H:vm:{n}", True, n <= 2)) for n in range(1, 8)]
    states.append(JobState(CANCELLED, "cancelled"))
    assert jobs_text(8, states, JobStatuses(asked=8), None) == (
        "8 jobs in all queues: 2 running, 5 queued, 1 cancelled"
    )


def test_the_header_says_what_it_could_not_tell():
    states = [JobState(GONE, "gone"), JobState(UNKNOWN, "unknown"), JobState(QUEUED, "queued")]
    answered = JobStatuses(asked=500, left_out=1)
    assert jobs_text(1200, states, answered, None) == (
        "1,200 jobs in all queues: of the first 3 shown, 0 running, 1 queued, 0 cancelled,"
        " 1 gone since listed, 1 unknown (the first 500 asked, 1 more not)"
    )
    unknown = [JobState(UNKNOWN, "unknown"), JobState(CANCELLED, "cancelled")]
    assert jobs_text(2, unknown, None, "127.0.0.1:4730: no connection within 2 s") == (
        "2 jobs in all queues: running or queued unknown (127.0.0.1:4730: no connection within"
        " 2 s), 1 cancelled"
    )


def test_the_queue_s_figures_name_its_class_counts_and_workers():
    figures = QueueFigures(
        FunctionStatus(FUNCTION, total=8, running=2, workers=2),
        FunctionPriorities(FUNCTION, high=0, normal=6, low=0, workers=2),
    )
    assert queue_text("arFindingAidJob", FUNCTION, figures).plain == (
        "Queue arFindingAidJob\n"
        "2 running, 6 waiting (0 high, 6 normal, 0 low) · 2 workers can run it\n"
        f"function {FUNCTION}"
    )
    nobody = QueueFigures(FunctionStatus(FUNCTION, 3, 0, 0), None)
    assert "3 waiting · no worker can run it" in queue_text("x", FUNCTION, nobody).plain
    assert "does not list it" in queue_text("x", FUNCTION, QueueFigures(None, None)).plain
    assert "its figures unknown (refused)" in queue_text("x", FUNCTION, "refused").plain


# -- on the screen ---------------------------------------------------------------------------


@pytest.fixture
def gearmand() -> Iterator[FakeGearmand]:
    """`show jobs` and GET_STATUS as captured: H:vm:1 and H:vm:2 running, H:vm:8 cancelled."""
    directory = Path(tempfile.mkdtemp(prefix="atomctl-js-"))
    try:
        with FakeGearmand(
            directory / "gearmand.sock",
            {
                "show jobs": "gearman/show-jobs-2-running-1-cancelled.txt",
                "status": "gearmand-status.txt",
                "prioritystatus": "gearmand-prioritystatus.txt",
            },
            statuses="gearman/get-status-2-running-1-cancelled.bin",
        ) as server:
            yield server
    finally:
        shutil.rmtree(directory, ignore_errors=True)


class JobsApp(App[None]):
    def __init__(self, screen: JobsScreen) -> None:
        super().__init__()
        self.jobs_screen = screen

    def on_mount(self) -> None:
        self.push_screen(self.jobs_screen)


def jobs_screen(gearmand: FakeGearmand, function: str | None) -> JobsScreen:
    target = GearmanTarget(parse_server_address("127.0.0.1:4730"), socket_path=gearmand.path)
    return JobsScreen(target, poll_interval=60, function=function, job_class="arFindingAidJob")


async def test_the_view_shows_which_jobs_run_and_warns_before_cancelling_one(gearmand):
    # The captured `status` is of another site: this function is not in it.
    screen = jobs_screen(gearmand, "1004a125d7221268b067376afed0386a-arFindingAidJob")
    async with JobsApp(screen).run_test(size=(80, 24)) as pilot:
        await wait_until_async(lambda: screen.states, what="the jobs' states")
        await wait_until_async(
            lambda: "can run it" in str(screen.queue_line.content), what="the queue's figures"
        )
        assert {h: s.words for h, s in screen.states.items()} == {
            "H:vm:1": "running",
            "H:vm:2": "running",
            **{f"H:vm:{n}": "queued" for n in range(3, 8)},
            "H:vm:8": "cancelled",
        }
        assert str(screen.status_line.content).startswith(
            "8 jobs in all queues: 2 running, 5 queued, 1 cancelled"
        )
        assert "0 running, 3 waiting (3 high, 0 normal, 0 low) · no worker can run it" in str(
            screen.queue_line.content
        )
        # On one connection, the oldest first.
        assert gearmand.asked_status == [f"H:vm:{n}" for n in range(1, 9)]

        # The cursor is on H:vm:1, a running job: the question says cancelling will not stop it.
        assert screen.selected_job() == job("H:vm:1")
        await pilot.press("c")
        assert isinstance(screen.app.screen, ConfirmScreen)
        question = screen.app.screen.query_one("#confirm-question", Static)
        assert "It is running now: gearmand does not stop it" in str(question.content)
        await pilot.press("escape")
        await pilot.pause()
        assert "left in the queue" in screen.last_result

        screen.table.move_cursor(row=screen.table.get_row_index("H:vm:8"))
        await pilot.press("c")
        assert screen.last_result == "Job H:vm:8 is already cancelled."


async def test_without_a_queue_the_view_says_so_and_asks_no_figures(gearmand):
    screen = jobs_screen(gearmand, None)
    async with JobsApp(screen).run_test(size=(80, 24)):
        await wait_until_async(lambda: screen.states, what="the jobs' states")
        assert "No queue selected" in str(screen.queue_line.content)
    assert "status" not in gearmand.asked

"""The whole console drawn at 80x24 and 120x36, fed by fakes replaying captured lab moments:
the main screen with every pane filled, the Health view, the Jobs view, the help and a
confirmation. Each waits for its data by a condition, on a wall clock frozen at the moment."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from textual.pilot import Pilot

from atomctl_tui.systemd.actions import Action
from atomctl_tui.ui.health.screen import HealthScreen
from atomctl_tui.ui.health.strip import HealthStrip
from atomctl_tui.ui.help.screen import HelpScreen
from atomctl_tui.ui.job_server.pane import JobServerPane
from atomctl_tui.ui.job_server.unit_line import JobServerUnit
from atomctl_tui.ui.queues.jobs_screen import JobsScreen
from atomctl_tui.ui.queues.pane import QueuesPane
from atomctl_tui.ui.widgets.confirm_screen import ConfirmScreen
from atomctl_tui.ui.workers.pane import WorkersPane
from tests.fakes import FakeGearmand
from tests.snapshots.conftest import FrozenClock
from tests.snapshots.console import FakeConsole, fake_console
from tests.ui.workers_console import WorkersConsole
from tests.waiting import wait_until_async

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 36), id="120x36")]
BUSY = ("busy", "busy-later")  # 2 run, 3 wait; then 2 run, 6 wait
WORKERS_STOPPED = ("workers-stopped",)  # jobs wait and no worker runs: findings
WORKER = "atom-worker@1.service"

SnapCompare = Callable[..., bool]


def strip_text(console: FakeConsole) -> str:
    return str(console.app.query_one(HealthStrip).content)


async def main_screen_filled(console: FakeConsole, pilot: Pilot) -> None:
    """Every poll played, and every pane showing what the fakes said."""
    app = console.app
    await wait_until_async(lambda: console.job_servers.listeners >= 3, what="the panes listening")
    console.job_servers.play_all()
    latest = console.job_servers.latest
    await wait_until_async(
        lambda: app.query_one(JobServerPane).snapshots == latest, what="the Job server pane"
    )
    await wait_until_async(
        lambda: app.query_one(JobServerUnit).state is not None, what="the job server unit"
    )
    await wait_until_async(lambda: app.query_one(QueuesPane).rows, what="the Queues rows")
    await wait_until_async(
        lambda: WORKER in app.query_one(WorkersPane).table.rows, what="the Workers rows"
    )
    await wait_until_async(lambda: console.journal.taken >= 1, what="the journal lines")
    await wait_until_async(
        lambda: "checking" not in strip_text(console),
        what=f"a complete health report (strip: {strip_text(console)!r})",
    )
    await pilot.pause()


def console_of(moments: tuple[str, ...], clock: FrozenClock, gearmand: FakeGearmand) -> FakeConsole:
    console = fake_console(moments, gearmand_socket=gearmand.path)
    clock.freeze(console.moment.captured_at)
    return console


def take(
    snap_compare: SnapCompare,
    console: FakeConsole,
    size: tuple[int, int],
    then: Callable[[FakeConsole, Pilot], Awaitable[None]] | None = None,
) -> bool:
    async def run_before(pilot: Pilot) -> None:
        await main_screen_filled(console, pilot)
        if then is not None:
            await then(console, pilot)
            await pilot.pause()

    return snap_compare(console.app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_main_screen(snap_compare, frozen_clock, fake_gearmand, size):
    console = console_of(BUSY, frozen_clock, fake_gearmand)
    assert take(snap_compare, console, size)


async def open_health(console: FakeConsole, pilot: Pilot) -> None:
    await pilot.press("h")
    await wait_until_async(
        lambda: isinstance(console.app.screen, HealthScreen), what="the Health view"
    )
    screen = console.app.screen
    assert isinstance(screen, HealthScreen)
    await wait_until_async(
        lambda: (
            screen.report is not None
            and screen.report.complete
            and screen.table.row_count == len(screen.report.findings) > 0
        ),
        what="the Health view's findings",
    )


@pytest.mark.parametrize("size", SIZES)
def test_health_view(snap_compare, frozen_clock, fake_gearmand, size):
    console = console_of(WORKERS_STOPPED, frozen_clock, fake_gearmand)
    assert take(snap_compare, console, size, open_health)


async def open_jobs(console: FakeConsole, pilot: Pilot) -> None:
    console.app.query_one(QueuesPane).table.focus()
    await pilot.pause()
    await pilot.press("j")
    await wait_until_async(lambda: isinstance(console.app.screen, JobsScreen), what="the Jobs view")
    screen = console.app.screen
    assert isinstance(screen, JobsScreen)
    await wait_until_async(lambda: screen.jobs, what="the jobs from the fake gearmand")
    await wait_until_async(
        lambda: "workers can run it" in str(screen.queue_line.content),
        what="the selected queue's figures",
    )


@pytest.mark.parametrize("size", SIZES)
def test_jobs_view(snap_compare, frozen_clock, fake_gearmand, size):
    console = console_of(BUSY, frozen_clock, fake_gearmand)
    assert take(snap_compare, console, size, open_jobs)
    assert {"show jobs", "status", "prioritystatus"} <= set(fake_gearmand.asked)
    assert fake_gearmand.asked_status[:8] == [f"H:vm:{n}" for n in range(1, 9)]


async def open_help(console: FakeConsole, pilot: Pilot) -> None:
    await pilot.press("question_mark")
    await wait_until_async(lambda: isinstance(console.app.screen, HelpScreen), what="the help")


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare, frozen_clock, fake_gearmand, size):
    console = console_of(BUSY, frozen_clock, fake_gearmand)
    assert take(snap_compare, console, size, open_help)


async def ask_to_stop_a_worker(console: FakeConsole, pilot: Pilot) -> None:
    workers = WorkersConsole(console.app, pilot)  # type: ignore[arg-type]
    await workers.focus_workers()
    await workers.go_to(WORKER)
    await pilot.press("x")
    await wait_until_async(
        lambda: isinstance(console.app.screen, ConfirmScreen), what="the confirmation"
    )


@pytest.mark.parametrize("size", SIZES)
def test_stop_confirmation(snap_compare, frozen_clock, fake_gearmand, size):
    console = console_of(BUSY, frozen_clock, fake_gearmand)
    assert take(snap_compare, console, size, ask_to_stop_a_worker)
    assert console.units.performed == []  # asked, never answered: nothing done


async def test_a_confirmed_action_on_a_fake_host_is_recorded_and_refused(tmp_path):
    console = fake_console(BUSY, gearmand_socket=tmp_path / "unused.sock")
    async with console.app.run_test(size=(80, 24)) as pilot:
        await main_screen_filled(console, pilot)
        await ask_to_stop_a_worker(console, pilot)
        workers = WorkersConsole(console.app, pilot)  # type: ignore[arg-type]
        await workers.answer(confirm=True)
        await workers.wait_notification("refused, a fake host")
    assert console.units.performed == [(Action.STOP, (WORKER,))]

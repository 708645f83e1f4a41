"""The Workers pane says what each worker is doing and what an action costs, on the lab:
the running AtoM job in the Job column and in the stop question, the unit's start budget,
and "restart all" one worker at a time."""

from __future__ import annotations

import asyncio
import os
import re
import time

import pytest
from textual.widgets import Static

from atomctl_tui.lab.state import LabState
from atomctl_tui.ui.job_server.unit_line import JobServerUnit
from atomctl_tui.ui.journal.pane import JournalPane
from atomctl_tui.ui.widgets.confirm_screen import ConfirmScreen
from atomctl_tui.ui.workers.pane import WorkersPane
from tests.gearman_lab import gearadmin, lab_settings
from tests.lab_units import BOOT_WORKERS, main_pid, restore_workers
from tests.labs import inside, lab_cli, unit_property
from tests.ui.workers_console import SMALL_TERMINAL, RecordingApp, WorkersConsole
from tests.waiting import wait_until_async

pytestmark = pytest.mark.lab

JOB_CELL = re.compile(r"^arFindingAidJob #(\d+) (\d+)s$")


@pytest.fixture
def shared_lab(lab: LabState):
    restore_workers(lab)
    yield lab
    restore_workers(lab)


def submit_long_job(lab: LabState, seconds: int = 60) -> None:
    lab_cli("submit", "arFindingAidJob", "--seconds", str(seconds), "--name", lab.name)


def busy_unit(console: WorkersConsole) -> str | None:
    for unit in BOOT_WORKERS:
        if JOB_CELL.match(console.cell(unit, "job") or ""):
            return unit
    return None


async def test_a_running_job_shows_and_its_stop_names_it(shared_lab):
    app = RecordingApp(shared_lab.host(), settings=lab_settings(shared_lab))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        console = WorkersConsole(app, pilot)
        await console.wait_rows(*BOOT_WORKERS)
        # The Journal pane shows only the job server's lines: the workers' still reach
        # the Job column (the pane's scope filters its view, not the shared follower).
        app.query_one(JournalPane).show_unit("gearman-job-server.service")
        assert all(console.cell(unit, "job") == "" for unit in BOOT_WORKERS)
        await asyncio.to_thread(submit_long_job, shared_lab)
        unit = await wait_until_async(lambda: busy_unit(console), what="a worker's Job cell")
        idle = next(u for u in BOOT_WORKERS if u != unit)
        assert console.cell(idle, "job") == ""
        found = JOB_CELL.match(console.cell(unit, "job") or "")
        assert found is not None
        job_id = found.group(1)
        # At 80 columns the Job column is in view, right after the state.
        columns = [str(c.key.value) for c in console.pane.table.ordered_columns]
        assert columns.index("job") == columns.index("state") + 1

        await console.focus_workers()
        await console.go_to(unit)
        await pilot.press("x")
        screen = await console.answer(confirm=True)
        label = unit.removesuffix(".service")
        assert re.search(
            rf"{re.escape(label)} is running arFindingAidJob \(job {job_id}, for \d+ s\):"
            r" stopping it aborts that job\. gearmand queues it again",
            screen.question,
        ), screen.question
        await console.wait_notification(f"stop {unit}: done")
        await console.wait_cell(unit, "job", "")
        # Its worker's stop line ended it in the host's activity too.
        activity = app.worker_activities[0]
        await wait_until_async(
            lambda: unit not in activity.snapshot().running, what="the job to end"
        )
        # gearmand gives the job whose worker went away to the other worker: it is that
        # worker's job now, and stopping it names the same job.
        await wait_until_async(
            lambda: (JOB_CELL.match(console.cell(idle, "job") or "") or [None, None])[1] == job_id,
            what=f"job {job_id} on {idle} (has {console.cell(idle, 'job')!r})",
        )
        await console.go_to(idle)
        await pilot.press("x")
        screen = await console.answer(confirm=False)
        assert f"is running arFindingAidJob (job {job_id}, for" in screen.question


async def test_restart_says_the_units_start_budget(shared_lab):
    # A worker instance of its own, so its journal holds exactly the starts made here.
    unit = f"atom-worker@budget{os.getpid()}x{int(time.time())}.service"
    inside(shared_lab, "systemctl", "start", unit)  # start 1 of its 3 per 24 h
    assert unit_property(shared_lab, unit, "StartLimitBurst") == "3"
    app = RecordingApp(shared_lab.host(), settings=lab_settings(shared_lab))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        console = WorkersConsole(app, pilot)
        await console.focus_workers()
        await console.wait_cell(unit, "state", "active")
        await console.go_to(unit)
        await pilot.press("r")
        screen = await console.answer(confirm=True)
        assert f"Restart {unit}" in screen.question
        assert (
            "This is start 2 of the 3 systemd allows in 24 h (as its journal tells);"
            " 1 more after it." in screen.question
        ), screen.question
        assert "Restart=on-failure" in screen.question
        await console.wait_notification(f"restart {unit}: done")
        await pilot.press("r")
        screen = await console.answer(confirm=False)
        assert (
            "This is start 3 of the 3 allowed in 24 h — after this, systemd refuses to start"
            " it until reset-failed." in screen.question
        ), screen.question


async def test_a_failed_job_is_kept_with_its_id(failing_jobs_lab):
    shared_lab = failing_jobs_lab  # a failed job is a finding for an hour: not in the main lab
    app = RecordingApp(shared_lab.host(), settings=lab_settings(shared_lab))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        console = WorkersConsole(app, pilot)
        await console.wait_rows(*BOOT_WORKERS)
        activity = app.worker_activities[0]
        before = len(activity.snapshot().failures)
        await asyncio.to_thread(
            lab_cli,
            "submit",
            "arFindingAidJob",
            "--fail",
            "--seconds",
            "0.1",
            "--name",
            shared_lab.name,
        )
        # Other tests make jobs of other classes fail in this lab: find this one's.
        failed = await wait_until_async(
            lambda: next(
                (f for f in activity.snapshot().failures[before:] if f.name == "arFindingAidJob"),
                None,
            ),
            what="the failure",
        )
        assert failed.unit in BOOT_WORKERS and failed.name == "arFindingAidJob"
        assert failed.job_id is not None and failed.job_id.isdigit()
        assert failed.message
        assert abs(failed.at - time.time()) < 60


def registered_workers(lab: LabState) -> int:
    """Connections on the lab's gearmand that registered at least one function."""
    lines = gearadmin(lab, "--workers")
    return sum(1 for line in lines if line.split(":", 1)[-1].strip())


def rolling_line(app: RecordingApp) -> str:
    return str(app.query_one(WorkersPane).query_one("#workers-rolling", Static).content)


async def test_restart_all_is_rolling_and_keeps_a_registered_worker(shared_lab):
    app = RecordingApp(shared_lab.host(), settings=lab_settings(shared_lab))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        console = WorkersConsole(app, pilot)
        await console.focus_workers()
        for unit in BOOT_WORKERS:
            await wait_until_async(
                lambda unit=unit: (console.cell(unit, "gearman") or "").endswith("abilities"),
                timeout=30,
                what=f"{unit} registered",
            )
        before = {unit: main_pid(shared_lab, unit) for unit in BOOT_WORKERS}
        await pilot.press("R")
        screen = await console.answer(confirm=True)
        assert "one at a time" in screen.question and "When jobs end" in screen.question
        samples: list[int] = []
        shown: set[str] = set()
        while not any("Rolling restart done" in m for m in console.notifications()):
            samples.append(await asyncio.to_thread(registered_workers, shared_lab))
            shown.add(rolling_line(app))
            assert len(samples) < 1000, "the rolling restart did not end"
        after = {unit: main_pid(shared_lab, unit) for unit in BOOT_WORKERS}
        assert all(after[unit] not in (0, before[unit]) for unit in BOOT_WORKERS)
        # At every poll of the job server, AtoM had a registered worker.
        assert len(samples) > 3 and min(samples) >= 1, samples
        for step in ("1/2", "2/2"):
            assert any(line.startswith(f"Rolling restart {step}:") for line in shown), shown
        await wait_until_async(lambda: rolling_line(app) == "", what="the line to go")


async def test_restart_all_when_jobs_end_waits_and_can_be_cancelled(shared_lab):
    app = RecordingApp(shared_lab.host(), settings=lab_settings(shared_lab))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        console = WorkersConsole(app, pilot)
        await console.focus_workers()
        await console.wait_rows(*BOOT_WORKERS)
        await asyncio.to_thread(submit_long_job, shared_lab, 60)
        busy = await wait_until_async(lambda: busy_unit(console), what="a worker's Job cell")
        busy_pid = main_pid(shared_lab, busy)
        await pilot.press("R")
        await wait_until_async(
            lambda: app.screen if isinstance(app.screen, ConfirmScreen) else None,
            what="the question",
        )
        screen = app.screen
        assert isinstance(screen, ConfirmScreen)
        assert f"{busy.removesuffix('.service')} is running arFindingAidJob" in screen.question
        assert "it may have taken a new job by then" in screen.question
        await pilot.press("right", "right", "enter")  # the third button: "When jobs end"
        assert screen.answer == "other"
        await wait_until_async(
            lambda: "waiting for its job arFindingAidJob #" in rolling_line(app),
            timeout=30,
            what=f"the line to say it waits (is {rolling_line(app)!r})",
        )
        await pilot.press("R")  # cancels
        await console.wait_notification("Rolling restart stopped (cancelled)")
        assert main_pid(shared_lab, busy) == busy_pid  # its job was left to run
        assert rolling_line(app) == ""


async def test_restarting_the_job_server_says_what_happens_to_its_queue(shared_lab):
    app = RecordingApp(shared_lab.host(), settings=lab_settings(shared_lab))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        console = WorkersConsole(app, pilot)
        line = app.query_one(JobServerUnit)
        await wait_until_async(
            lambda: line.state is not None and line.state.main_pid, what="gearmand's MainPID"
        )
        line.focus()
        await pilot.press("R")  # its restart key: `r` polls, in the Job server pane
        screen = await console.answer(confirm=False)
        # The lab's gearmand runs without -q (its drop-in's PARAMS): the queue is in memory.
        assert (
            "gearmand keeps its queue in memory (no -q/--queue-type in its command line):"
            " every queued job is lost" in screen.question
        ), screen.question

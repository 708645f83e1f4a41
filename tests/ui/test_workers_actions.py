"""The Workers pane on the shared lab: each key's effect checked with systemctl inside the lab.

Every test puts the lab back as booted (atom-worker@1 and @2 enabled and running).
"""

from __future__ import annotations

import json

import pytest

from atomctl_tui.lab.preflight import free_port
from atomctl_tui.lab.state import LabState
from atomctl_tui.systemd.audit import invoking_user
from tests.gearman_lab import lab_settings
from tests.lab_units import BOOT_WORKERS, is_enabled, main_pid, restore_workers
from tests.labs import inside, unit_property
from tests.ui.workers_console import SMALL_TERMINAL, RecordingApp, WorkersConsole
from tests.waiting import wait_until_async

pytestmark = pytest.mark.lab

W1, W2 = BOOT_WORKERS


@pytest.fixture
def shared_lab(lab: LabState):
    restore_workers(lab)
    yield lab
    restore_workers(lab)


def audit_entries(lab: LabState, unit: str, action: str) -> list[dict]:
    out = inside(
        lab,
        "journalctl",
        "-o",
        "json",
        "--no-pager",
        "SYSLOG_IDENTIFIER=atomctl-tui",
        f"ATOMCTL_UNIT={unit}",
        f"ATOMCTL_ACTION={action}",
        check=False,
    )
    return [json.loads(line) for line in out.splitlines() if line.strip()]


async def test_rows_show_what_systemd_says(shared_lab):
    # A job server nobody answers at: no Gearman reply is ever seen, whenever polls come.
    silent = f"127.0.0.1:{free_port(14800, {shared_lab.gearman_port, shared_lab.ssh_port})}"
    settings = lab_settings(shared_lab, servers=[silent])
    app = RecordingApp(shared_lab.host(), settings=settings)
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        console = WorkersConsole(app, pilot)
        await console.wait_rows("atom-worker.service", W1, W2)
        await console.wait_cell(W1, "pid", str(main_pid(shared_lab, W1)))
        assert console.cell(W1, "state") == "active"
        assert console.cell(W1, "file") == "enabled"
        assert console.cell(W1, "unit") == "atom-worker@1"
        # Installed but never loaded (the admin manual's unit, disabled): shown, not loaded.
        assert console.cell("atom-worker.service", "state") == "inactive"
        assert console.cell("atom-worker.service", "file") == "disabled"
        assert "atom-worker@.service" not in console.rows()  # the template is not a unit
        assert "gearman-job-server.service" not in console.rows()  # it has its own line
        assert console.cell(W1, "gearman") == "?"  # no Gearman reply seen yet
        assert console.pane.border_subtitle == "3 units"


async def test_restart_changes_the_main_pid_and_is_audited(shared_lab):
    before = main_pid(shared_lab, W1)
    audited_before = len(audit_entries(shared_lab, W1, "restart"))
    app = RecordingApp(shared_lab.host(), settings=lab_settings(shared_lab))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        console = WorkersConsole(app, pilot)
        await console.focus_workers()
        await console.go_to(W1)
        await pilot.press("r")
        screen = await console.answer(confirm=True)
        assert W1 in screen.question
        await console.wait_notification(f"restart {W1}: done")
        after = main_pid(shared_lab, W1)
        assert after not in (0, before)
        assert unit_property(shared_lab, W1, "ActiveState") == "active"
        await console.wait_cell(W1, "pid", str(after))
        assert [(m.unit, m.action, m.result) for m in app.finished] == [(W1, "restart", "done")]
    entries = audit_entries(shared_lab, W1, "restart")
    assert len(entries) == audited_before + 1
    assert entries[-1]["ATOMCTL_RESULT"] == "done"
    assert entries[-1]["ATOMCTL_USER"] == invoking_user()


async def test_stop_then_start(shared_lab):
    app = RecordingApp(shared_lab.host(), settings=lab_settings(shared_lab))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        console = WorkersConsole(app, pilot)
        await console.focus_workers()
        await console.go_to(W2)
        await pilot.press("x")
        await console.answer(confirm=True)
        await console.wait_notification(f"stop {W2}: done")
        assert unit_property(shared_lab, W2, "ActiveState") == "inactive"
        await console.wait_cell(W2, "state", "inactive")
        assert console.cell(W2, "pid") == ""
        await pilot.press("s")  # start asks no question
        await console.wait_notification(f"start {W2}: done")
        assert unit_property(shared_lab, W2, "ActiveState") == "active"
        await console.wait_cell(W2, "state", "active")
        assert console.cell(W2, "pid") == str(main_pid(shared_lab, W2))


async def test_disable_then_enable(shared_lab):
    app = RecordingApp(shared_lab.host(), settings=lab_settings(shared_lab))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        console = WorkersConsole(app, pilot)
        await console.focus_workers()
        await console.go_to(W2)
        await pilot.press("d")
        await console.answer(confirm=True)
        await console.wait_notification(f"disable {W2}: done")
        assert is_enabled(shared_lab, W2) == "disabled"
        assert unit_property(shared_lab, W2, "ActiveState") == "active"  # disable only
        await console.wait_cell(W2, "file", "disabled")
        await pilot.press("e")
        await console.wait_notification(f"enable {W2}: done")
        assert is_enabled(shared_lab, W2) == "enabled"
        await console.wait_cell(W2, "file", "enabled")


async def test_add_a_worker_then_remove_it(shared_lab):
    new = "atom-worker@3.service"
    app = RecordingApp(shared_lab.host(), settings=lab_settings(shared_lab))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        console = WorkersConsole(app, pilot)
        await console.focus_workers()
        await console.wait_rows(W1, W2)
        # The key twice at once (Pilot's press would wait for the first to finish): the second
        # is refused, since the next free instance is only known once the first exists.
        console.pane.action_add_worker()
        console.pane.action_add_worker()
        await console.wait_notification("Already adding a worker")
        await console.wait_notification(f"add-worker {new}: done")
        assert "atom-worker@4.service" not in console.rows()
        assert unit_property(shared_lab, new, "ActiveState") == "active"
        assert is_enabled(shared_lab, new) == "enabled"
        await console.wait_cell(new, "state", "active")
        await console.wait_cell(new, "file", "enabled")
        await console.go_to(new)
        await pilot.press("delete")
        await console.answer(confirm=True)
        await console.wait_notification(f"remove-worker {new}: done")
        assert unit_property(shared_lab, new, "ActiveState") == "inactive"
        assert is_enabled(shared_lab, new) == "disabled"
        # Stopped and disabled, systemd unloads the instance: its row goes.
        await wait_until_async(lambda: new not in console.rows(), what="the row to go")
        # The key adds the first free instance again.
        await pilot.press("a")
        await console.wait_notification(f"add-worker {new}: done")
        await console.wait_cell(new, "state", "active")


async def test_restart_all_and_a_selection_of_several(shared_lab):
    app = RecordingApp(shared_lab.host(), settings=lab_settings(shared_lab))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        console = WorkersConsole(app, pilot)
        await console.focus_workers()
        await console.wait_rows(W1, W2)
        before = {unit: main_pid(shared_lab, unit) for unit in BOOT_WORKERS}
        await pilot.press("R")
        screen = await console.answer(confirm=True)
        assert W1 in screen.question and W2 in screen.question
        await console.wait_notification("Rolling restart done")
        middle = {unit: main_pid(shared_lab, unit) for unit in BOOT_WORKERS}
        assert all(middle[unit] not in (0, before[unit]) for unit in BOOT_WORKERS)

        # Space selects; an action then applies to the selection, after one question.
        await console.go_to(W1)
        await pilot.press("space", "space")
        assert console.cell(W1, "sel") == console.cell(W2, "sel") == "●"
        assert "2 selected" in str(console.pane.border_subtitle)
        await pilot.press("r")
        await console.answer(confirm=True)
        await wait_until_async(
            lambda: all(main_pid(shared_lab, unit) not in (0, middle[unit]) for unit in middle),
            what="both selected workers to restart",
        )
        await console.wait_cell(W1, "sel", "")  # done: the selection is cleared


async def test_an_outside_stop_shows_without_any_key(shared_lab):
    app = RecordingApp(shared_lab.host(), settings=lab_settings(shared_lab))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        console = WorkersConsole(app, pilot)
        await console.wait_cell(W2, "state", "active")
        inside(shared_lab, "systemctl", "stop", W2)
        await console.wait_cell(W2, "state", "inactive", timeout=5)
        inside(shared_lab, "systemctl", "start", W2)
        await console.wait_cell(W2, "state", "active", timeout=5)


async def test_cancel_changes_nothing(shared_lab):
    before = {unit: main_pid(shared_lab, unit) for unit in BOOT_WORKERS}
    app = RecordingApp(shared_lab.host(), settings=lab_settings(shared_lab))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        console = WorkersConsole(app, pilot)
        await console.focus_workers()
        await console.go_to(W1)
        for key in ("x", "r", "d", "delete", "R"):
            await pilot.press(key)
            await console.answer(confirm=False)  # enter on Cancel, where focus starts
        await pilot.press("x")
        await wait_until_async(lambda: app.screen.id != "_default", what="the dialog")
        await pilot.press("escape")
        await console.wait_notification("Stop: cancelled, nothing changed.")
        assert app.finished == []
    assert {unit: main_pid(shared_lab, unit) for unit in BOOT_WORKERS} == before
    assert all(is_enabled(shared_lab, unit) == "enabled" for unit in BOOT_WORKERS)


async def test_journal_keys_scope_the_journal(shared_lab):
    app = RecordingApp(shared_lab.host(), settings=lab_settings(shared_lab))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        console = WorkersConsole(app, pilot)
        await console.focus_workers()
        await console.go_to(W2)
        await pilot.press("j", "J")
        await pilot.pause()
        assert [m.unit for m in app.journal_requests] == [W2, None]

"""When things go wrong: failed units, no permission, read-only, a lost bus, a silent worker.

All against the shared lab, which every test puts back as booted.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from pathlib import Path

import pytest
from textual.widgets.data_table import ColumnKey

from atomctl_tui.atom import JOB_SERVER_UNIT
from atomctl_tui.lab.state import LabState
from atomctl_tui.remote.hosts import Host
from atomctl_tui.systemd import bus as systemd_bus
from atomctl_tui.systemd.actions import Action
from atomctl_tui.ui.help.screen import HelpScreen
from atomctl_tui.ui.palette import binding_commands
from atomctl_tui.ui.widgets.confirm_screen import ConfirmScreen
from tests.gearman_lab import lab_settings
from tests.lab_units import BOOT_WORKERS, is_enabled, main_pid, restore_workers
from tests.labs import inside, unit_property
from tests.ui.workers_console import SMALL_TERMINAL, RecordingApp, WorkersConsole
from tests.waiting import wait_until_async

pytestmark = pytest.mark.lab

W1, W2 = BOOT_WORKERS

# Named here, not imported: the test must not trust the code's own list.
MUTATING = {
    b"StartUnit",
    b"StopUnit",
    b"RestartUnit",
    b"TryRestartUnit",
    b"EnableUnitFiles",
    b"DisableUnitFiles",
    b"ResetFailedUnit",
    b"Reload",
}


@pytest.fixture
def shared_lab(lab: LabState):
    restore_workers(lab)
    yield lab
    restore_workers(lab)


def bridge_address(lab: LabState, *as_user: str) -> bytes:
    """A unixexec: address that reaches the lab's bus through systemd-stdio-bridge.

    The same transport a remote host uses (ssh … systemd-stdio-bridge); ``as_user`` runs the
    bridge under setpriv, so systemd sees that user as the caller.
    """
    argv = ["-t", str(lab.pid), "-m", "-p", "--", *as_user, "systemd-stdio-bridge"]
    items = ",".join(f"argv{i}={arg}" for i, arg in enumerate(argv, start=1))
    return f"unixexec:path=nsenter,{items}".encode()


AS_NOBODY = ("setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups")


async def test_a_worker_failing_three_times_keeps_its_result_until_reset_failed(shared_lab):
    unit = "atom-worker@7.service"
    dropin = shared_lab.paths.unit_dir / f"{unit}.d"
    dropin.mkdir()
    (dropin / "fail.conf").write_text(
        "[Service]\nExecStart=\nExecStart=/bin/sh -c 'echo failing on purpose; exit 3'\n"
    )
    try:
        inside(shared_lab, "systemctl", "daemon-reload")
        inside(shared_lab, "systemctl", "enable", unit)  # stays loaded once reset
        app = RecordingApp(shared_lab.host(), settings=lab_settings(shared_lab))
        async with app.run_test(size=SMALL_TERMINAL) as pilot:
            console = WorkersConsole(app, pilot)
            await console.focus_workers()
            await console.go_to(unit)
            await pilot.press("s")
            # Restart=on-failure tries three times, then the start limit (3 per 24 h) stops it.
            await console.wait_cell(unit, "state", "failed: exit-code, status 3", timeout=30)
            assert console.cell(unit, "restarts") == "3"
            # The state column grew for `activating (auto-restart): …` and gives it back.
            state_column = console.pane.table.columns[ColumnKey("state")]
            assert state_column.content_width > len("failed: exit-code, status 3")
            console.pane._tick()  # what the pane's 5 s timer runs
            await pilot.pause()
            assert state_column.content_width == len("failed: exit-code, status 3")
            assert unit_property(shared_lab, unit, "ActiveState") == "failed"
            failed_style = console.pane.table.get_cell(unit, "state").style
            await pilot.press("s")  # refused: the start limit is hit
            await console.wait_notification(f"start {unit}: failed (exit-code, exit status 3)")
            await pilot.press("f")
            await console.wait_notification(f"reset-failed {unit}: done")
            assert unit_property(shared_lab, unit, "ActiveState") == "inactive"
            assert unit_property(shared_lab, unit, "Result") == "success"
            await console.wait_cell(unit, "state", "inactive")
            # failed and inactive never look alike
            assert console.pane.table.get_cell(unit, "state").style != failed_style
    finally:
        shutil.rmtree(dropin)
        inside(shared_lab, "systemctl", "daemon-reload")


async def test_a_worker_started_too_often_shows_start_limit_hit_until_reset_failed(shared_lab):
    app = RecordingApp(shared_lab.host(), settings=lab_settings(shared_lab))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        console = WorkersConsole(app, pilot)
        await console.focus_workers()
        await console.go_to(W2)
        # AtoM's unit allows 3 starts per 24 h (StartLimitBurst=3): the fourth restart is refused.
        for attempt in range(4):
            await pilot.press("r")
            await console.answer(confirm=True)
            await wait_until_async(
                lambda n=attempt: len(app.finished) == n + 1, what=f"restart {attempt}"
            )
        assert [m.result for m in app.finished] == ["done", "done", "done", "failed"]
        await console.wait_notification(
            f"restart {W2}: failed (start-limit-hit); reset-failed clears the start limit"
        )
        await console.wait_cell(W2, "state", "failed: start-limit-hit")
        assert unit_property(shared_lab, W2, "Result") == "start-limit-hit"
        await pilot.press("f")
        await console.wait_cell(W2, "state", "inactive")
        await pilot.press("s")
        await console.wait_notification(f"start {W2}: done")
        assert unit_property(shared_lab, W2, "ActiveState") == "active"


async def test_a_user_without_permission_gets_told_what_to_do_and_nothing_changes(shared_lab):
    before = main_pid(shared_lab, W1)
    host = Host(
        label="lab-as-nobody",
        run_prefix=shared_lab.host().run_prefix,
        dbus_address=bridge_address(shared_lab, *AS_NOBODY),
    )
    app = RecordingApp(host, settings=lab_settings(shared_lab))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        console = WorkersConsole(app, pilot)
        await console.focus_workers()
        await console.go_to(W1)  # reading is allowed to anyone
        await pilot.press("x")
        await console.answer(confirm=True)
        message = await console.wait_notification(f"Not allowed to stop {W1}")
        assert "run atomctl-tui as root" in message
        assert "org.freedesktop.systemd1.manage-units" in message
        assert [(m.unit, m.result) for m in app.finished] == [(W1, "access-denied")]
        assert console.cell(W1, "state") == "active"
    assert main_pid(shared_lab, W1) == before
    assert unit_property(shared_lab, W1, "ActiveState") == "active"


class WatchedBus:
    """A real bus connection that notes every mutating method called on it."""

    def __init__(self, real) -> None:
        self.real = real
        self.mutating: list[bytes] = []

    def call_method(self, destination, path, interface, method, args):
        if method in MUTATING:
            self.mutating.append(method)
        return self.real.call_method(destination, path, interface, method, args)

    def __getattr__(self, name):
        return getattr(self.real, name)


@pytest.fixture
def watched_buses(monkeypatch):
    buses: list[WatchedBus] = []
    real_connect = systemd_bus.connect_dbus

    def connect(host: Host) -> WatchedBus:
        buses.append(WatchedBus(real_connect(host)))
        return buses[-1]

    monkeypatch.setattr(systemd_bus, "connect_dbus", connect)
    return buses


async def test_read_only_offers_no_action_and_none_reaches_the_bus(shared_lab, watched_buses):
    before = {unit: main_pid(shared_lab, unit) for unit in BOOT_WORKERS}
    app = RecordingApp(shared_lab.host(), settings=lab_settings(shared_lab), read_only=True)
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        console = WorkersConsole(app, pilot)
        await console.focus_workers()
        await console.go_to(W1)
        for key in ("s", "x", "r", "e", "d", "f", "a", "delete", "minus", "R", "space"):
            await pilot.press(key)
        app.query_one("#job-server-unit").focus()
        for key in ("s", "x", "r", "e", "d", "f"):
            await pilot.press(key)
        await pilot.pause(0.3)
        assert not isinstance(app.screen, ConfirmScreen)
        assert "read-only" in str(console.pane.border_subtitle)
        commands = [command.title for command in binding_commands(app.screen)]
        assert not [c for c in commands if "Restart" in c or "Stop" in c], commands
        await pilot.press("question_mark")
        help_text = str(app.screen.render_sections())
        assert isinstance(app.screen, HelpScreen)
        assert "Restart" not in help_text and "Unit journal" in help_text
        await pilot.press("escape")
        # Even called directly, the backend refuses before the bus sees anything.
        actions = console.pane.actions[app.fleet.labels[0]]
        outcomes = await asyncio.to_thread(actions.perform, Action.STOP, [W1])
        assert [(o.result, o.message) for o in outcomes] == [
            ("read-only", f"stop {W1}: refused, the console runs read-only.")
        ]
    assert watched_buses and all(bus.mutating == [] for bus in watched_buses)
    assert {unit: main_pid(shared_lab, unit) for unit in BOOT_WORKERS} == before


async def test_the_watched_bus_would_see_a_mutating_call(shared_lab, watched_buses):
    """The proof above can fail: without --read-only the same wrapper sees the call."""
    app = RecordingApp(shared_lab.host(), settings=lab_settings(shared_lab))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        console = WorkersConsole(app, pilot)
        await console.wait_rows(W1)
        actions = console.pane.actions[app.fleet.labels[0]]
        await asyncio.to_thread(actions.perform, Action.RESET_FAILED, [W1])
    assert [bus.mutating for bus in watched_buses] == [[b"ResetFailedUnit"]]


def bridges_started_by_this_process() -> list[int]:
    """Pids of systemd-stdio-bridge processes descended from this test process."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
        names[int(entry.name)] = name
    ours = []
    for pid, name in names.items():
        ancestor = parents.get(pid)
        while ancestor and ancestor != os.getpid():
            ancestor = parents.get(ancestor)
        if ancestor == os.getpid() and name.startswith("systemd-stdio"):
            ours.append(pid)
    return ours


async def test_a_lost_bus_shows_reconnecting_and_comes_back(shared_lab):
    host = Host(
        label="lab-via-bridge",
        run_prefix=shared_lab.host().run_prefix,
        dbus_address=bridge_address(shared_lab),
    )
    app = RecordingApp(host, settings=lab_settings(shared_lab))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        console = WorkersConsole(app, pilot)
        await console.wait_cell(W2, "state", "active")
        status = app.query_one("#workers-status")
        assert not status.display
        bridges = bridges_started_by_this_process()
        assert len(bridges) == 1, bridges
        os.kill(bridges[0], signal.SIGTERM)  # the connection's far end goes away
        await wait_until_async(lambda: status.display, what="the reconnecting line")
        assert "reconnecting" in str(status.render())
        assert W2 in console.rows()  # what was known stays in sight
        await wait_until_async(lambda: not status.display, what="the connection back")
        inside(shared_lab, "systemctl", "stop", W2)  # signals flow again
        await console.wait_cell(W2, "state", "inactive", timeout=10)


async def test_the_job_server_unit_restarts_from_its_own_line(shared_lab):
    before = main_pid(shared_lab, JOB_SERVER_UNIT)
    app = RecordingApp(shared_lab.host(), settings=lab_settings(shared_lab))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        console = WorkersConsole(app, pilot)
        line = app.query_one("#job-server-unit")
        await wait_until_async(lambda: "active" in str(line.render()), what="its state")
        line.focus()
        await pilot.press("R")  # its restart key: `r` polls, in the Job server pane
        await console.answer(confirm=True)
        await console.wait_notification(f"restart {JOB_SERVER_UNIT}: done")
        assert main_pid(shared_lab, JOB_SERVER_UNIT) not in (0, before)
        assert is_enabled(shared_lab, JOB_SERVER_UNIT) == "enabled"
        await wait_until_async(
            lambda: f"PID {main_pid(shared_lab, JOB_SERVER_UNIT)}" in str(line.render()),
            what="the new PID on the line",
        )
        await pilot.press("j")
        await pilot.pause()
        assert [m.unit for m in app.journal_requests] == [JOB_SERVER_UNIT]

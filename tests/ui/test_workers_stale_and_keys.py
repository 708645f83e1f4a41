"""Nothing unseen, nothing stale, keys that never surprise: the Workers pane on fake sources.

The console runs on the fakes of tests/fakes, replaying a captured lab moment (``busy``): a
host whose systemd connection goes, a job server that stops answering, an SSH connection that
is down when a key is pressed or while its question is open, and the dialog's and the pane's
keys. No action reaches anything: a fake host records what it is asked (``performed``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import cast

import pytest
from textual.pilot import Pilot

from atomctl_tui.remote.ssh_link import LinkState, LinkStatus, SshLink
from atomctl_tui.systemd.actions import Action, Outcome
from atomctl_tui.systemd.bus import ConnectionStatus
from atomctl_tui.systemd.unit_text import uptime_text
from atomctl_tui.ui.unit_action_flow import question
from atomctl_tui.ui.widgets.confirm_screen import ConfirmScreen
from atomctl_tui.ui.workers.rolling_restart import RollingRestart, Step
from tests.fakes import FakeSshLink, FakeUnitSource, RefusingUnitActions
from tests.snapshots.console import HOST_LABEL, FakeConsole, fake_console
from tests.ui.workers_console import SMALL_TERMINAL, WorkersConsole
from tests.waiting import wait_until_async

BUSY = ("busy",)
W1, W2 = "atom-worker@1.service", "atom-worker@2.service"
ABILITIES = "18 abilities"  # what the moment's job server says of each worker
LOST = ConnectionStatus(False, f"lost the connection to systemd on {HOST_LABEL}; reconnecting")
DOWN = LinkStatus(LinkState.DISCONNECTED, "the host closed the connection", retry_in=2)


@pytest.fixture
def console(tmp_path) -> FakeConsole:
    return fake_console(BUSY, gearmand_socket=tmp_path / "unused.sock")


class Clock:
    """The wall clock (``time.time``), set by the test: uptimes and "as of" times."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, at: float) -> None:
        self.now = at
        monkeypatch.setattr(time, "time", lambda: self.now)


async def filled(console: FakeConsole, pilot: Pilot) -> WorkersConsole:
    workers = WorkersConsole(console.app, pilot)  # type: ignore[arg-type]
    await wait_until_async(lambda: console.job_servers.listeners >= 1, what="the panes listening")
    console.job_servers.play()
    await workers.wait_cell(W1, "gearman", ABILITIES)
    await workers.focus_workers()
    return workers


def dialog(console: FakeConsole) -> ConfirmScreen | None:
    screen = console.app.screen
    return screen if isinstance(screen, ConfirmScreen) else None


# --- stale rows and the Gearman column ---


async def test_a_lost_hosts_rows_are_dimmed_as_of_when_it_went_and_stop_counting(
    console, monkeypatch
):
    clock = Clock(monkeypatch, console.moment.captured_at)
    async with console.app.run_test(size=SMALL_TERMINAL) as pilot:
        workers = await filled(console, pilot)
        pane = workers.pane
        state = console.units.snapshot()[W1]
        status = pane.query_one("#workers-status")
        assert not pane.table.get_cell(W1, "unit").style.dim

        went = clock.now
        console.units.update(status=LOST)
        await wait_until_async(lambda: status.display, what="the status line")
        as_of = time.strftime("%H:%M:%S", time.localtime(went))
        assert f"rows as of {as_of}" in str(status.render())
        for column in ("unit", "state", "pid", "up", "gearman"):
            assert pane.table.get_cell(W1, column).style.dim, column
        up = workers.cell(W1, "up")
        assert up == uptime_text(state, went)

        clock.now += 3600  # an hour later, its timer ticks: the uptime stays as it was known
        pane._tick()
        await pilot.pause()
        assert workers.cell(W1, "up") == up
        assert f"rows as of {as_of}" in str(status.render())

        console.units.update(status=ConnectionStatus(True))  # back: live, and counting again
        await wait_until_async(lambda: not status.display, what="the status line gone")
        assert not pane.table.get_cell(W1, "unit").style.dim
        pane._tick()
        await pilot.pause()
        assert workers.cell(W1, "up") == uptime_text(state, clock.now) != up


async def test_an_unreachable_job_server_makes_the_gearman_column_unknown(tmp_path):
    console = fake_console(BUSY, gearmand_socket=tmp_path / "unused.sock")
    reachable = console.moment.snapshots()
    unreachable = tuple(
        dataclasses.replace(s, reachable=False, connections=(), error="connection refused")
        for s in reachable
    )
    console.job_servers._script[:] = [reachable, unreachable, reachable]
    async with console.app.run_test(size=SMALL_TERMINAL) as pilot:
        workers = await filled(console, pilot)
        console.job_servers.play()  # no reply: nothing is known of the workers now
        await workers.wait_cell(W1, "gearman", "?")
        assert workers.cell(W2, "gearman") == "?"
        assert workers.cell("atom-worker.service", "gearman") == "—"  # no process: still none
        console.job_servers.play()
        await workers.wait_cell(W1, "gearman", ABILITIES)


# --- actions on a host that is not connected ---


def link_to(console: FakeConsole, status: LinkStatus) -> FakeSshLink:
    """The console's host reached through an SSH connection (a fake one) now in ``status``."""
    link = FakeSshLink(HOST_LABEL, status)
    console.app.fleet.members[0].link = cast(SshLink, link)
    return link


async def test_a_key_on_a_host_known_down_is_refused_in_words_without_a_question(console):
    link_to(console, DOWN)
    async with console.app.run_test(size=SMALL_TERMINAL) as pilot:
        workers = await filled(console, pilot)
        await workers.go_to(W1)
        await pilot.press("r")
        said = await workers.wait_notification("nothing was sent")
        assert said.startswith(f"Restart {W1}: {HOST_LABEL} is not connected: nothing was sent")
        assert "the host closed the connection" in said
        assert dialog(console) is None
        await pilot.press("R")  # restart all: the same
        await wait_until_async(
            lambda: len([m for m in workers.notifications() if "nothing was sent" in m]) == 2,
            what=f"restart all refused (have {workers.notifications()})",
        )
        assert dialog(console) is None
    assert console.units.performed == []


async def test_a_host_lost_while_its_question_is_open_is_refused_once_answered(console):
    link = link_to(console, LinkStatus(LinkState.CONNECTED))
    async with console.app.run_test(size=SMALL_TERMINAL) as pilot:
        workers = await filled(console, pilot)
        await workers.go_to(W1)
        await pilot.press("x")
        await wait_until_async(lambda: dialog(console), what="the question")
        link.tell(DOWN)
        await pilot.press("y")
        said = await workers.wait_notification("nothing was sent")
        assert said.startswith(f"Stop {W1}: {HOST_LABEL} is not connected")
    assert console.units.performed == []


async def test_a_lost_systemd_connection_alone_refuses_too(console):
    async with console.app.run_test(size=SMALL_TERMINAL) as pilot:
        workers = await filled(console, pilot)
        console.units.update(status=LOST)
        await workers.go_to(W1)
        await pilot.press("s")
        said = await workers.wait_notification("nothing was sent")
        assert f"{HOST_LABEL} is not connected" in said and "lost the connection" in said
        assert dialog(console) is None
    assert console.units.performed == []


# --- the dialog's keys ---


async def test_the_dialog_takes_y_n_and_escape_and_says_its_keys(console):
    async with console.app.run_test(size=SMALL_TERMINAL) as pilot:
        workers = await filled(console, pilot)
        await workers.go_to(W1)
        labels = []
        for key in ("n", "escape", "y"):
            await pilot.press("x")
            screen = await wait_until_async(lambda: dialog(console), what="the question")
            labels = [str(button.label) for button in screen.query("Button")]
            await pilot.press(key)
            await wait_until_async(lambda: dialog(console) is None, what=f"{key} answered")
            if key != "y":
                assert console.units.performed == [], key
        assert labels == ["Cancel (n/Esc)", "Stop (y)"]
        await workers.wait_notification("refused, a fake host")
    assert console.units.performed == [(Action.STOP, (W1,))]


async def test_the_third_button_has_its_key_too(console):
    async with console.app.run_test(size=SMALL_TERMINAL) as pilot:
        workers = await filled(console, pilot)
        await pilot.press("R")
        screen = await wait_until_async(lambda: dialog(console), what="the restart-all question")
        labels = [str(button.label) for button in screen.query("Button")]
        assert labels == ["Cancel (n/Esc)", "Restart now (y)", "When jobs end (w)"]
        await pilot.press("w")
        await wait_until_async(lambda: dialog(console) is None, what="w answered")
        assert screen.answer == "other"
        # The rolling restart went ahead (each worker once its job ends): a fake host refuses.
        await workers.wait_notification("refused, a fake host")
    assert console.units.performed[:1] == [(Action.RESTART, (W1,))]


# --- selecting ---


async def test_space_selects_and_moves_down_as_its_key_says_and_escape_clears(console):
    async with console.app.run_test(size=SMALL_TERMINAL) as pilot:
        workers = await filled(console, pilot)
        pane = workers.pane
        shown = {b.binding.description for b in console.app.screen.active_bindings.values()}
        assert "Select, move down" in shown and "Clear selection" not in shown
        await workers.go_to(W1)
        await pilot.press("space")
        assert pane.current_key() == W2  # it moved down, as its description says
        await pilot.press("space")
        assert workers.cell(W1, "sel") == workers.cell(W2, "sel") == "●"
        assert "2 selected" in str(pane.border_subtitle)
        shown = {b.binding.description for b in console.app.screen.active_bindings.values()}
        assert "Clear selection" in shown
        await pilot.press("escape")
        assert workers.cell(W1, "sel") == workers.cell(W2, "sel") == ""
        assert "selected" not in str(pane.border_subtitle)
        await pilot.press("x")  # acts on the row under the cursor alone again
        screen = await wait_until_async(lambda: dialog(console), what="the question")
        assert screen.question.startswith(f"Stop {W2} on {HOST_LABEL}?")
        await pilot.press("n")


# --- words ---


class DoneUnitActions(RefusingUnitActions):
    """A fake host that says every action was done (and did nothing)."""

    def perform(self, action: Action, units: Sequence[str]) -> list[Outcome]:
        self.watch.record(action, units)
        return [Outcome(unit, action, "done", f"{action} {unit}: done") for unit in units]


def fake_actions(tmp_path) -> DoneUnitActions:
    host = fake_console(BUSY, gearmand_socket=tmp_path / "unused.sock").units.host
    return DoneUnitActions(FakeUnitSource(host, {}), ["atom-worker*"])


def test_the_question_says_it_for_one_unit_and_they_for_several(tmp_path):
    actions = fake_actions(tmp_path)
    one, two = [(actions, [W1])], [(actions, [W1, W2])]
    assert question(Action.REMOVE_WORKER, one) == (
        f"Remove {W1} on {HOST_LABEL}?\n"
        "It is stopped, then disabled so it stays off after a reboot."
    )
    assert question(Action.REMOVE_WORKER, two).endswith(
        "\nEach is stopped, then disabled so they stay off after a reboot."
    )
    assert question(Action.DISABLE, one).endswith(
        "\nIt keeps running now, but will not start at boot."
    )
    assert question(Action.DISABLE, two).endswith(
        "\nThey keep running now, but will not start at boot."
    )


async def test_a_rolling_restart_of_one_worker_says_one_worker(tmp_path):
    actions = fake_actions(tmp_path)
    pids = iter([100, 101])  # its MainPID before, then after the restart
    rolling = RollingRestart(
        [Step(HOST_LABEL, actions, W1)],
        when_jobs_end=False,
        main_pid=lambda host, unit: next(pids, 101),
        registered_since=lambda host, unit, poll: True,
        polls=lambda: 0,
        running_jobs=lambda host, unit: None,
        host_trouble=lambda host: None,
        show=lambda words: None,
        report=lambda outcomes, host: None,
    )
    assert await rolling.run() == "Rolling restart done: 1 worker restarted, one at a time."


async def test_a_rolling_restart_stops_at_a_host_that_is_not_connected(tmp_path):
    actions = fake_actions(tmp_path)
    rolling = RollingRestart(
        [Step(HOST_LABEL, actions, W1), Step(HOST_LABEL, actions, W2)],
        when_jobs_end=False,
        main_pid=lambda host, unit: 0,
        registered_since=lambda host, unit, poll: True,
        polls=lambda: 0,
        running_jobs=lambda host, unit: None,
        host_trouble=lambda host: "SSH disconnected",
        show=lambda words: None,
        report=lambda outcomes, host: None,
    )
    summary = await rolling.run()
    assert summary.startswith(
        f"Rolling restart stopped ({HOST_LABEL} is not connected: nothing was sent"
    )
    assert "after 0 of 2" in summary
    assert actions.watch.performed == []

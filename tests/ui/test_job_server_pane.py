"""The Job server pane: gearmand stopped and started in a lab of its own, a hostile server, and
the connections every poll hands the console's listeners."""

from __future__ import annotations

import asyncio
import time

import pytest
from textual.widgets import Static

from atomctl_tui.config import resolve_settings
from atomctl_tui.gearman.snapshot import ServerSnapshot
from atomctl_tui.remote.hosts import Host
from atomctl_tui.ui.app import AtomctlApp
from atomctl_tui.ui.job_server.pane import JobServerPane
from atomctl_tui.ui.job_server.unit_line import JobServerUnit
from atomctl_tui.ui.widgets.confirm_screen import ConfirmScreen
from tests.gearman_lab import lab_settings, wait_in_thread, worker_units
from tests.labs import boot, inside, lab_cli, unique_name, unit_property
from tests.test_gearman_admin_hostile import fake_server
from tests.ui.polls import PollRecorder
from tests.waiting import wait_until_async

SMALL_TERMINAL = (80, 24)
GEARMAND = "gearman-job-server.service"


@pytest.fixture(scope="module")
def gearmand_lab():
    """Stopping gearmand disturbs every worker: a lab of this module's own."""
    name = unique_name("gearmand")
    state = boot(name, "--workers", "1")
    yield state
    lab_cli("down", "--name", name)


def pane_text(pane: JobServerPane) -> str:
    return pane.shown_text()


@pytest.mark.lab
async def test_stopped_job_server_shows_unreachable_then_recovered_within_two_polls(gearmand_lab):
    lab = gearmand_lab
    app = AtomctlApp(lab.host(), settings=lab_settings(lab, interval=0.3))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        pane = app.query_one(JobServerPane)
        polls = PollRecorder(app.job_servers)
        await wait_in_thread(lambda: pane.snapshots and pane.snapshots[0].reachable, what="up")
        first_pid = pane.snapshots[0].pid
        assert first_pid == int(unit_property(lab, GEARMAND, "MainPID"))

        await asyncio.to_thread(inside, lab, "systemctl", "stop", GEARMAND)
        stopped_at = polls.count
        await wait_in_thread(lambda: not pane.snapshots[0].reachable, what="unreachable")
        assert polls.count - stopped_at <= 2
        down_since = pane.snapshots[0].since
        await wait_in_thread(
            lambda: pane.snapshots[0].error == "connection refused", what="the reason"
        )
        await pilot.pause()
        assert pane.snapshots[0].since == down_since  # since when: the first failed poll
        assert "UNREACHABLE since" in pane_text(pane)
        assert "connection refused" in pane_text(pane)
        assert app.is_running

        await asyncio.to_thread(inside, lab, "systemctl", "start", GEARMAND)
        started_at = polls.count
        await wait_in_thread(lambda: pane.snapshots[0].reachable, what="recovered")
        assert polls.count - started_at <= 2
        await pilot.pause()
        assert pane.snapshots[0].pid != first_pid
        assert f"pid {pane.snapshots[0].pid}" in pane_text(pane)
        assert "UNREACHABLE" not in pane_text(pane)
        polls.unsubscribe()
    # The lab's workers reconnect on their own; nothing else was changed.
    assert unit_property(lab, worker_units(lab)[0], "ActiveState") == "active"


@pytest.mark.lab
async def test_every_poll_tells_the_listeners_who_is_connected(lab):
    main_pids = {int(unit_property(lab, unit, "MainPID")) for unit in worker_units(lab)}

    def registered(poll: tuple[ServerSnapshot, ...]) -> set[int | None]:
        return {c.pid for s in poll for c in s.connections if c.functions}

    app = AtomctlApp(lab.host(), settings=lab_settings(lab))
    async with app.run_test(size=SMALL_TERMINAL):
        polls = PollRecorder(app.job_servers)
        # A worker another test just restarted registers within a few polls.
        await wait_in_thread(
            lambda: polls.count >= 2 and registered(polls.polls[-1]) == main_pids,
            what=f"a poll with every worker's pid {main_pids}",
        )
        polls.unsubscribe()
    seen = [snapshot for poll in polls.polls for snapshot in poll]
    assert {s.server for s in seen} == {lab.gearman_server}


async def test_a_hostile_server_is_shown_as_such_and_the_console_keeps_running():
    answers = {
        b"getpid": b"OK 7\n",
        b"version": b"OK 1.1.20+ds\n",
        b"status": b"\xff\xfegarbage\n" + b"x" * (10 * 1024 * 1024) + b"\n.\n",
    }

    async def handler(reader, writer, _n):
        while command := (await reader.readline()).strip():
            writer.write(answers.get(command, b"ERR UNKNOWN_COMMAND Unknown+server+command\r\n"))
            await writer.drain()

    async with fake_server(handler) as (port, connections):
        settings = resolve_settings(
            cli_servers=[f"127.0.0.1:{port}"],
            cli_interval=0.2,
            environ={"XDG_CONFIG_HOME": "/nonexistent/atomctl-tui-tests"},
        )
        app = AtomctlApp(Host(label="hostile"), settings=settings)
        async with app.run_test(size=SMALL_TERMINAL) as pilot:
            pane = app.query_one(JobServerPane)
            polls = PollRecorder(app.job_servers)
            await wait_in_thread(lambda: polls.count >= 3, what="three polls")
            polls.unsubscribe()
            await pilot.pause()
            snapshot = pane.snapshots[0]
            assert not snapshot.reachable
            assert snapshot.error == "a line of the reply to 'status' is longer than 65536 bytes"
            assert "longer than 65536 bytes" in pane_text(pane)
            assert connections() >= 3  # each failed poll dropped its connection
            await pilot.press("tab")
            assert app.is_running


@pytest.mark.lab
async def test_up_since_is_gearmands_start_not_the_consoles_first_poll(lab):
    app = AtomctlApp(lab.host(), settings=lab_settings(lab))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        pane = app.query_one(JobServerPane)
        unit = app.query_one(JobServerUnit)
        await wait_in_thread(
            lambda: pane.snapshots and pane.snapshots[0].started is not None,
            what="gearmand's start",
        )
        await wait_in_thread(lambda: unit.state is not None, what="the job server unit")
        snapshot = pane.snapshots[0]
        assert snapshot.started is not None and unit.state is not None
        # Read from the lab's /proc: gearmand's own start, when systemd saw it active.
        assert abs(snapshot.started - unit.state.active_since_us / 1e6) < 1.0
        await pilot.pause()
        up_since = time.strftime("%H:%M:%S", time.localtime(snapshot.started))
        assert f"up since {up_since}" in pane_text(pane)


def console_with_a_silent_server() -> AtomctlApp:
    """A loopback server (so this host runs it) polled once a minute, and no systemd."""
    settings = resolve_settings(
        cli_servers=["127.0.0.1:1"],
        cli_interval=60,
        environ={"XDG_CONFIG_HOME": "/nonexistent/atomctl-tui-tests"},
    )
    return AtomctlApp(Host(label="archive-01"), settings=settings)


async def test_r_polls_on_the_unit_line_too_and_capital_r_asks_naming_server_and_host():
    app = console_with_a_silent_server()
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        polls = PollRecorder(app.job_servers)
        await wait_in_thread(lambda: polls.count >= 1, what="the first poll")
        app.query_one(JobServerUnit).focus()
        await pilot.press("r")
        await wait_in_thread(lambda: polls.count >= 2, what="a poll asked with r")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)  # r never restarts gearmand
        polls.unsubscribe()

        await pilot.press("R")
        await wait_until_async(lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        question = str(app.screen.query_one("#confirm-question", Static).content)
        assert "Restart gearman-job-server.service on archive-01?" in question
        assert "On archive-01 it is the job server 127.0.0.1:1." in question
        await pilot.press("escape")

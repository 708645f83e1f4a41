"""Two labs as two remote hosts, one console over SSH: real sshd, systemd, journald, gearmand.

The console runs outside both labs with `--host root@127.0.0.1:<A ssh port> --host
root@127.0.0.1:<B ssh port>` and the labs' ssh config, as an admin would start it.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from atomctl_tui.lab.layout import SITE_JOB_CLASSES
from atomctl_tui.lab.state import LabState
from atomctl_tui.lab.two_labs import (
    SSHD_UNIT,
    TwoLabs,
    console_args,
    link_atom_root,
    point_workers_at,
    reset_start_limits,
)
from atomctl_tui.systemd.actions import NOT_CONNECTED, Action
from atomctl_tui.systemd.audit import AUDIT_IDENTIFIER
from atomctl_tui.systemd.unit_text import uptime_text
from atomctl_tui.ui.job_server.hosts_status import HostsStatus
from atomctl_tui.ui.job_server.pane import JobServerPane
from atomctl_tui.ui.journal.pane import JournalPane
from atomctl_tui.ui.journal.scope_screen import JournalScopeScreen
from atomctl_tui.ui.queues.jobs_screen import JobsScreen
from atomctl_tui.ui.queues.pane import QueuesPane
from atomctl_tui.ui.widgets.confirm_screen import ConfirmScreen
from tests.fleet.fleet_console import fleet_console
from tests.lab_units import BOOT_WORKERS, main_pid
from tests.labs import boot, inside, lab_cli, unique_name, unit_property
from tests.ui.screen_text import screen_text
from tests.ui.workers_console import SMALL_TERMINAL, WorkersConsole
from tests.waiting import wait_until_async

pytestmark = pytest.mark.lab

W1, W2 = BOOT_WORKERS
ABILITIES = f"{len(SITE_JOB_CLASSES)} abilities"  # a default site's job classes


@pytest.fixture(scope="module")
def labs() -> TwoLabs:
    if os.geteuid() != 0:
        pytest.fail("the lab tests must run as root: run ./scripts/test as root", pytrace=False)
    names = [unique_name("fleet-a"), unique_name("fleet-b")]
    booted: list[LabState] = []
    try:
        for name in names:
            booted.append(boot(name, "--workers", "2"))
        a, b = booted
        for lab in booted:
            link_atom_root(lab)
        point_workers_at(b, a)
        yield TwoLabs(a, b)
    finally:
        for lab in booted:
            lab_cli("down", "--name", lab.name)


def pids(lab: LabState) -> dict[str, int]:
    return {unit: main_pid(lab, unit) for unit in BOOT_WORKERS}


def host_line(app, label: str) -> str:
    status = app.query_one(HostsStatus)
    return status.line(label)[1] if label in status.links else ""


def server_text(app) -> str:
    return app.query_one(JobServerPane).shown_text()


async def test_both_hosts_workers_listed_with_their_host_registration_and_job_servers(labs):
    with fleet_console(console_args(labs)) as app:
        async with app.run_test(size=SMALL_TERMINAL) as pilot:
            console = WorkersConsole(app, pilot)
            keys = {label: pane_keys(console, label) for label in (labs.label_a, labs.label_b)}
            await console.wait_rows(*keys[labs.label_a], *keys[labs.label_b])
            for label, lab in ((labs.label_a, labs.a), (labs.label_b, labs.b)):
                for unit, pid in pids(lab).items():
                    key = console.pane.row_key(label, unit)
                    assert console.cell(key, "host") == label
                    await console.wait_cell(key, "pid", str(pid))
                    await console.wait_cell(key, "gearman", ABILITIES)
            # Each host names 127.0.0.1:<A's port>, local to it: reached through its own SSH.
            server = labs.a.gearman_server
            await wait_until_async(
                lambda: (
                    f"● {server} via {labs.label_a}" in server_text(app)
                    and f"● {server} via {labs.label_b}" in server_text(app)
                ),
                what=f"both job server entries reachable (have {server_text(app)!r})",
            )
            for label in (labs.label_a, labs.label_b):
                await wait_until_async(
                    lambda label=label: host_line(app, label) == "connected",
                    what=f"{label} connected (is {host_line(app, label)!r})",
                )
            await pilot.pause()
            assert labs.label_a in screen_text(app)  # the Host column, on screen at 80x24

            # The Jobs view of a row of B's entry reads gearmand through B's SSH connection.
            queues = app.query_one(QueuesPane)
            via_b = f"{server} via {labs.label_b}"
            row = next(key for key, row in queues.rows.items() if row.server == via_b)
            queues.table.focus()
            queues.table.move_cursor(row=queues.table.get_row_index(row))
            await pilot.press("j")
            jobs = app.screen
            assert isinstance(jobs, JobsScreen) and jobs.server == via_b
            assert jobs.client.server.unix_path is not None
            await wait_until_async(
                lambda: "Reading the job list" not in str(jobs.status_line.render()),
                what="the job list read",
            )
            assert "Cannot read" not in str(jobs.status_line.render())


def pane_keys(console: WorkersConsole, label: str) -> list[str]:
    return [console.pane.row_key(label, unit) for unit in BOOT_WORKERS]


async def test_restarting_a_unit_of_b_acts_on_b_only_and_the_journal_tags_both_hosts(labs):
    before_a, before_b = pids(labs.a), pids(labs.b)
    with fleet_console(console_args(labs)) as app:
        async with app.run_test(size=SMALL_TERMINAL) as pilot:
            console = WorkersConsole(app, pilot)
            target = console.pane.row_key(labs.label_b, W1)
            await console.wait_cell(target, "pid", str(before_b[W1]))
            await console.focus_workers()
            await console.go_to(target)
            await pilot.press("r")
            screen = await console.answer(confirm=True)
            assert f"Restart {W1} on {labs.label_b}?" in screen.question
            await console.wait_notification(f"restart {W1}: done")
            after_b = pids(labs.b)
            assert after_b[W1] != before_b[W1] and after_b[W2] == before_b[W2]
            assert pids(labs.a) == before_a
            await console.wait_cell(target, "pid", str(after_b[W1]))

            journal = app.query_one(JournalPane)
            await wait_until_async(
                lambda: {e.host for e in journal.view.entries} >= {labs.label_a, labs.label_b},
                what="journal lines from both hosts",
            )
            # The audit entry went to the journal of the host acted on: B.
            await wait_until_async(
                lambda: (
                    [
                        e.host
                        for e in journal.view.entries
                        if e.identifier == AUDIT_IDENTIFIER and f"restart {W1}: done" in e.message
                    ]
                    == [labs.label_b]
                ),
                what="the audit entry, in B's journal only",
            )
            # The restart scoped the journal to B's unit: its lines, tagged with B.
            assert (journal.view.host_scope, journal.view.unit_scope) == (labs.label_b, W1)
            await wait_until_async(
                lambda: any(
                    e.host == labs.label_b and e.unit == W1 for e in journal.view.shown_entries()
                ),
                what="B's restarted unit's lines",
            )
            assert journal.view.line_text(journal.view.shown_entries()[-1]).split()[1:2] == [
                labs.label_b
            ]
            # Scope to host A as a whole with the picker.
            journal.focus()
            await pilot.press("u")
            picker = await wait_until_async(
                lambda: app.screen if isinstance(app.screen, JournalScopeScreen) else None,
                what="the scope picker",
            )
            index = next(i for i, c in enumerate(picker.choices) if c.host == labs.label_a)
            await pilot.press("home")  # it opens on the current scope
            for _ in range(index):
                await pilot.press("down")
            await pilot.press("enter")
            assert journal.view.host_scope == labs.label_a and journal.view.unit_scope is None
            shown = journal.view.shown_entries()
            assert shown and {e.host for e in shown} == {labs.label_a}
    reset_start_limits(labs.b)


async def test_a_lost_host_leaves_the_other_alone_and_comes_back_by_itself(labs):
    with fleet_console(console_args(labs)) as app:
        async with app.run_test(size=SMALL_TERMINAL) as pilot:
            console = WorkersConsole(app, pilot)
            a2 = console.pane.row_key(labs.label_a, W2)
            b2 = console.pane.row_key(labs.label_b, W2)
            await console.wait_cell(b2, "pid", str(main_pid(labs.b, W2)))
            try:
                await asyncio.to_thread(inside, labs.b, "systemctl", "stop", SSHD_UNIT)
                await wait_until_async(
                    lambda: host_line(app, labs.label_b).startswith("disconnected"),
                    timeout=10,
                    what=f"B disconnected (is {host_line(app, labs.label_b)!r})",
                )
                assert "reconnecting" in host_line(app, labs.label_b)
                # B's job server entry went through B's SSH: now it says why it is out of reach.
                await wait_until_async(
                    lambda: f"no SSH connection to {labs.label_b}" in server_text(app),
                    what="B's job server entry unreachable through B",
                )
                # A carries on: an outside restart there still shows at once.
                assert host_line(app, labs.label_a) == "connected"
                await asyncio.to_thread(inside, labs.a, "systemctl", "restart", W2)
                await console.wait_cell(a2, "pid", str(main_pid(labs.a, W2)))
                assert console.cell(b2, "host") == labs.label_b  # B's rows kept meanwhile
            finally:
                await asyncio.to_thread(inside, labs.b, "systemctl", "start", SSHD_UNIT)
            await wait_until_async(
                lambda: host_line(app, labs.label_b) == "connected",
                timeout=30,
                what=f"B back (is {host_line(app, labs.label_b)!r})",
            )
            # Live again, without restarting the console.
            await asyncio.to_thread(inside, labs.b, "systemctl", "restart", W2)
            await console.wait_cell(b2, "pid", str(main_pid(labs.b, W2)))
            await pilot.pause()
    reset_start_limits(labs.a)
    reset_start_limits(labs.b)


def started(lab: LabState) -> dict[str, tuple[int, str]]:
    """Each boot worker's MainPID and InvocationID (a new one at every start)."""
    return {
        unit: (main_pid(lab, unit), unit_property(lab, unit, "InvocationID"))
        for unit in BOOT_WORKERS
    }


async def test_an_action_on_a_lost_host_is_refused_at_once_and_never_runs_when_it_is_back(labs):
    """Asked while B is connected, confirmed once it is not: refused in words, and nothing
    happens to B when it comes back. Meanwhile B's rows look stale and its Gearman cells,
    from a job server reached through B's SSH connection, are unknown."""
    before_b = started(labs.b)
    with fleet_console(console_args(labs)) as app:
        async with app.run_test(size=SMALL_TERMINAL) as pilot:
            console = WorkersConsole(app, pilot)
            pane = console.pane
            a1, b1 = pane.row_key(labs.label_a, W1), pane.row_key(labs.label_b, W1)
            for key in (a1, b1):
                await console.wait_cell(key, "gearman", ABILITIES)
            status = pane.query_one("#workers-status")
            await console.focus_workers()
            await console.go_to(b1)
            await pilot.press("r")
            await wait_until_async(
                lambda: isinstance(app.screen, ConfirmScreen), what="the question"
            )
            actions_b = pane.actions[labs.label_b]
            try:
                await asyncio.to_thread(inside, labs.b, "systemctl", "stop", SSHD_UNIT)
                await wait_until_async(
                    lambda: host_line(app, labs.label_b).startswith("disconnected"),
                    timeout=10,
                    what=f"B disconnected (is {host_line(app, labs.label_b)!r})",
                )
                await pilot.press("y")
                said = await console.wait_notification("nothing was sent", timeout=5)
                assert said.startswith(
                    f"Restart {W1}: {labs.label_b} is not connected: nothing was sent"
                )
                # Known down now: the key is refused without a question.
                await pilot.press("r")
                await wait_until_async(
                    lambda: (
                        len([m for m in console.notifications() if "nothing was sent" in m]) == 2
                    ),
                    timeout=5,
                    what=f"the second refusal (have {console.notifications()})",
                )
                assert not isinstance(app.screen, ConfirmScreen)
                # Asked of the backend directly, past the pane's checks: refused there too.
                await wait_until_async(
                    lambda: actions_b.connection_trouble() is not None,
                    timeout=10,
                    what="B's systemd process not connected",
                )
                outcomes = await asyncio.to_thread(actions_b.perform, Action.RESTART, [W1])
                assert [(o.unit, o.result) for o in outcomes] == [(W1, NOT_CONNECTED)]
                assert f"{labs.label_b} is not connected: nothing was sent" in outcomes[0].message

                # B's rows: dimmed, as of when it went, not counting; A's live.
                await wait_until_async(
                    lambda: (
                        f"{labs.label_b}: " in str(status.render())
                        and "rows as of" in str(status.render())
                    ),
                    what=f"B's rows said stale (status: {status.render()!r})",
                )
                assert pane.table.get_cell(b1, "state").style.dim
                assert not pane.table.get_cell(a1, "state").style.dim
                went = pane._stale_since[labs.label_b]
                pane._tick()
                await pilot.pause()
                state_b1 = pane._states[b1]
                assert console.cell(b1, "up") == uptime_text(state_b1, went)
                # The job server entry through B's SSH connection is out of reach.
                await console.wait_cell(b1, "gearman", "?")
                assert console.cell(a1, "gearman") == ABILITIES
            finally:
                await asyncio.to_thread(inside, labs.b, "systemctl", "start", SSHD_UNIT)
            await wait_until_async(
                lambda: host_line(app, labs.label_b) == "connected",
                timeout=30,
                what=f"B back (is {host_line(app, labs.label_b)!r})",
            )
            await wait_until_async(
                lambda: actions_b.connection_trouble() is None,
                timeout=30,
                what="B's systemd connected again",
            )
            await wait_until_async(
                lambda: not pane.table.get_cell(b1, "state").style.dim, what="B's rows live"
            )
            # B's actions go through one queue, in order: once this one is done, anything
            # kept from before would have been sent already.
            outcomes = await asyncio.to_thread(actions_b.perform, Action.RESET_FAILED, [W2])
            assert [o.result for o in outcomes] == ["done"]
            await console.wait_cell(b1, "gearman", ABILITIES)
    assert started(labs.b) == before_b  # neither the confirmed restart nor the direct one ran

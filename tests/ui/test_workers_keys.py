"""The Workers keys in the help and the palette, --read-only, and an unreachable systemd.

No lab here: the host named below has no system bus, which is itself a case to handle.
"""

from __future__ import annotations

from atomctl_tui.cli import build_parser
from atomctl_tui.remote.hosts import Host
from atomctl_tui.ui.help.screen import HelpScreen
from atomctl_tui.ui.palette import binding_commands
from atomctl_tui.ui.workers.pane import WorkersPane
from tests.ui.workers_console import SMALL_TERMINAL, RecordingApp
from tests.waiting import wait_until_async

# Nothing listens here: like a host whose D-Bus is down.
NO_BUS = Host(label="archive-01", dbus_address=b"unix:path=/nonexistent/system_bus_socket")

ACTION_KEYS = [
    "Start",
    "Stop",
    "Restart",
    "Enable",
    "Disable",
    "Reset failed",
    "Add worker",
    "Remove worker",
    "Restart all",
]


async def test_help_lists_every_workers_and_job_server_unit_key():
    app = RecordingApp(NO_BUS)
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        listed = str(app.screen.render_sections())
        for description in [*ACTION_KEYS, "Select", "Unit journal", "All workers' journal"]:
            assert description in listed, description
        assert "Job server unit" in listed
        for binding in WorkersPane.BINDINGS:
            assert binding.id and binding.description, binding


async def test_the_palette_runs_a_workers_key():
    app = RecordingApp(NO_BUS)
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        titles = [command.title for command in binding_commands(app.screen)]
        for description in ACTION_KEYS:
            assert f"Workers: {description}" in titles
        assert "Job server unit: Restart" in titles
        await pilot.press("ctrl+p")
        await pilot.press(*"All workers' journal")
        await pilot.press("enter")
        await wait_until_async(lambda: app.journal_requests, what="the journal request")
        assert [m.unit for m in app.journal_requests] == [None]


async def test_read_only_hides_every_action_key():
    app = RecordingApp(NO_BUS, read_only=True)
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        app.query_one(WorkersPane).table.focus()
        await pilot.pause()
        offered = {binding.description for _, binding, *_ in app.screen.active_bindings.values()}
        assert "Unit journal" in offered
        assert not offered & set(ACTION_KEYS), offered & set(ACTION_KEYS)
        titles = [command.title for command in binding_commands(app.screen)]
        assert not [t for t in titles if t.split(": ")[-1] in ACTION_KEYS], titles


async def test_an_unreachable_systemd_is_said_in_words_and_retried():
    app = RecordingApp(NO_BUS)
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        status = app.query_one("#workers-status")
        await wait_until_async(lambda: status.display, what="the status line")
        text = str(status.render())
        assert "cannot reach systemd on archive-01" in text
        assert "No such file or directory" in text and "reconnecting in" in text
        await pilot.press("question_mark", "escape")  # the console keeps working
        assert "systemd not connected" in str(app.query_one("#job-server-unit").render())


def test_read_only_is_an_option():
    parser = build_parser()
    assert parser.parse_args(["--read-only"]).read_only is True
    assert parser.parse_args([]).read_only is False
    assert "--read-only" in parser.format_help()

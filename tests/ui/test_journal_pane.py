"""The Journal pane on a real lab journal, driven by keys under Pilot."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import pytest
from textual.command import CommandList

from atomctl_tui.journal.scope import JournalSettings
from atomctl_tui.systemd.audit import AUDIT_IDENTIFIER
from atomctl_tui.ui.app import AtomctlApp
from atomctl_tui.ui.help.screen import HelpScreen
from atomctl_tui.ui.journal.pane import JournalPane
from atomctl_tui.ui.journal.save_screen import JournalSaveScreen
from atomctl_tui.ui.journal.scope_screen import JournalScopeScreen
from tests.gearman_lab import lab_settings
from tests.journal.lab_follower import journalctl_under
from tests.journal.writing import (
    HUGE_LINE,
    NATIVE_CORPUS,
    STREAM_CORPUS,
    write_native,
    write_stream,
)
from tests.labs import inside, lab_cli, unique_name, unit_property
from tests.ui.screen_text import screen_text
from tests.waiting import wait_until_async

pytestmark = pytest.mark.lab

SMALL_TERMINAL = (80, 24)


def tag_only(tag: str, **options) -> JournalSettings:
    """A scope of just the test's own identifier: nothing else moves the lines."""
    return JournalSettings(worker_units=(), other_units=(), identifiers=(tag,), **options)


def journal_pane(app: AtomctlApp) -> JournalPane:
    return app.query_one(JournalPane)


def shown_messages(app: AtomctlApp) -> list[str]:
    return [entry.message for entry in journal_pane(app).view.shown_entries()]


def received(app: AtomctlApp, identifier: str) -> list[str]:
    return [e.message for e in journal_pane(app).view.entries if e.identifier == identifier]


def visible_rows(app: AtomctlApp) -> list[str]:
    """The journal lines in view, top to bottom, as the view holds them."""
    view = journal_pane(app).view
    top = round(view.scroll_y)
    rows = list(view.rows)[top : top + view.scrollable_content_region.height]
    return [entry.message for entry, _, _ in rows]


async def test_hostile_lines_show_literally_and_the_console_keeps_running(lab):
    tag = unique_name("hostile")
    app = AtomctlApp(lab.host(), settings=lab_settings(lab), journal=tag_only(tag))
    async with app.run_test(size=(160, 50)) as pilot:
        pane = journal_pane(app)
        pane.focus()
        await pilot.press("z")  # the journal full screen: every corpus line in view
        await asyncio.to_thread(write_stream, lab, tag, [raw for raw, _ in STREAM_CORPUS])
        for raw, _ in NATIVE_CORPUS:
            await asyncio.to_thread(write_native, lab, tag, raw)
        await asyncio.to_thread(write_stream, lab, tag, [HUGE_LINE])
        huge_parts = len(HUGE_LINE) // 49152 + 1  # journald's LineMax cuts it into entries
        expected = len(STREAM_CORPUS) + len(NATIVE_CORPUS) + huge_parts
        await wait_until_async(lambda: len(received(app, tag)) == expected, what="the corpus")
        await pilot.pause()

        screen = screen_text(app)
        for _, shown in [*STREAM_CORPUS, *NATIVE_CORPUS]:
            assert shown in screen, f"{shown!r} is not on screen:\n{screen}"
        assert "pwned title" not in screen and "\x1b" not in screen
        assert f"{tag} {'Z' * 100}" in screen

        await pilot.press("w")  # wrapped, the end of the cut line shows its marker
        await pilot.pause()
        assert "Z … [line cut: 16,384 characters in all]" in screen_text(app)
        await pilot.press("t", "w", "z")
        assert app.is_running and pane.view.wrap is False and pane.view.show_time is False


async def test_lines_are_coloured_by_priority(lab):
    tag = unique_name("priority")
    app = AtomctlApp(lab.host(), settings=lab_settings(lab), journal=tag_only(tag))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        for priority in (2, 3, 4, 6, 7):
            await asyncio.to_thread(write_native, lab, tag, f"p{priority}".encode(), priority)
        await wait_until_async(lambda: len(received(app, tag)) == 5, what="five lines")
        await pilot.pause()
        view = journal_pane(app).view

        def message_colour(row: int) -> str | None:
            segments = list(view.render_line(row))
            return segments[-2].style.color.name if segments[-2].style.color else None

        def style_colour(name: str) -> str | None:
            colour = view.get_component_rich_style(f"journal-view--{name}").color
            return colour.name if colour else None

        rows = {message: row for row, message in enumerate(visible_rows(app))}
        assert message_colour(rows["p2"]) == message_colour(rows["p3"]) == style_colour("error")
        assert message_colour(rows["p4"]) == style_colour("warning")
        assert style_colour("error") != style_colour("warning") != style_colour("message")
        assert message_colour(rows["p7"]) == style_colour("debug")


async def test_unit_scope_and_a_restarted_unit_shows_its_new_lines(lab):
    # A long backlog: lines of atom-worker@1 must be among those kept, whatever other tests
    # of the session have logged since it started.
    app = AtomctlApp(lab.host(), settings=lab_settings(lab), journal=JournalSettings(backlog=5000))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        pane = journal_pane(app)
        await wait_until_async(
            lambda: "atom-worker@1" in {e.source for e in pane.view.entries},
            what="atom-worker@1's lines",
        )
        # As the Workers pane asks it: through the journal focus.
        app.journal_focus.show("atom-worker@1.service")
        await wait_until_async(lambda: pane.view.unit_scope == "atom-worker@1.service")
        assert {entry.unit for entry, _, _ in pane.view.rows} == {"atom-worker@1.service"}
        assert "atom-worker@1 ·" in pane.subtitle

        unit = "atom-worker@2.service"
        old_pid = unit_property(lab, unit, "MainPID")
        await asyncio.to_thread(inside, lab, "systemctl", "restart", unit)
        new_pid = unit_property(lab, unit, "MainPID")
        assert new_pid != old_pid
        app.journal_focus.action_finished(unit, "restart", "done")

        def new_lines() -> list[str]:
            return [entry.message for entry in pane.view.shown_entries() if entry.pid == new_pid]

        await wait_until_async(
            lambda: any(line.endswith("> Running worker...") for line in new_lines()),
            what="the restarted worker's 'Running worker...'",
        )
        assert pane.view.unit_scope == unit and pane.view.following
        assert {entry.unit for entry in pane.view.shown_entries()} == {unit}
        await pilot.pause()
        assert visible_rows(app)[-1] == pane.view.shown_entries()[-1].message

        pane.focus()
        await pilot.press("a")
        assert pane.view.unit_scope is None and "all workers" in pane.subtitle
        # The picker: All, atom-worker.service, atom-worker@1.service, …
        await pilot.press("u")
        assert isinstance(app.screen, JournalScopeScreen)
        await pilot.press("down", "down", "enter")
        assert pane.view.unit_scope == "atom-worker@1.service"
        await pilot.press("u", "escape")
        assert pane.view.unit_scope == "atom-worker@1.service"
        # Another host's message is not for this pane.
        app.journal_focus.show(None, host_label="elsewhere")
        await pilot.pause()
        assert pane.view.unit_scope == "atom-worker@1.service"


def drawn_rows(app: AtomctlApp) -> list[str]:
    """Every row of the view as drawn, without its time."""
    view = journal_pane(app).view
    return [view.line_text(entry).split(" ", 1)[1] for entry, _, _ in view.rows]


async def test_worker_lines_labelled_folded_and_a_job_filtered_on_the_lab_journal(lab):
    app = AtomctlApp(lab.host(), settings=lab_settings(lab), journal=JournalSettings(backlog=0))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        pane = journal_pane(app)
        pane.focus()
        unit = "atom-worker@2.service"
        await wait_until_async(lambda: app.journal_watches[0].follower.runs == 1)
        await asyncio.to_thread(inside, lab, "systemctl", "restart", unit)
        new_pid = unit_property(lab, unit, "MainPID")

        def of_new_process(entry) -> bool:
            return entry.pid == new_pid

        await wait_until_async(
            lambda: any(
                of_new_process(e) and e.message.endswith("> PID " + new_pid)
                for e in pane.view.entries
            ),
            what="the restarted worker's start",
        )
        abilities = sum(
            of_new_process(e) and "> New ability: " in e.message for e in pane.view.entries
        )
        assert abilities > 10
        rows = drawn_rows(app)
        assert f"atom-worker@2 {abilities} abilities registered (e lists them)" in rows
        assert not any("New ability" in row for row in rows)
        assert "systemd atom-worker@2 Started atom-worker@2.service - AtoM worker 2." in rows
        assert "atom-worker@2 Running worker..." in rows  # the worker's own time gone
        assert not any(" > " in row for row in rows)

        await asyncio.to_thread(
            lab_cli, "submit", "arObjectMoveJob", "--fail", "--seconds", "0", "--name", lab.name
        )

        def job_id() -> str | None:
            for entry in pane.view.entries:
                if "> Parameters: " in entry.message and '"fail":true' in entry.message:
                    return pane.view.job_lines.job_of(entry)
            return None

        await wait_until_async(
            lambda: (
                job_id()
                and any(
                    pane.view.job_lines.job_of(e) == job_id() and "Jobs completed" in e.message
                    for e in pane.view.entries
                )
            ),
            what="the failing job's lines",
        )
        await pilot.press("slash", *f"job:{job_id()}", "enter")
        words = [row.split(" ", 1)[1].split(":")[0] for row in drawn_rows(app)]
        assert words == [
            "Job started.",
            "Parameters",
            "Exception",
            "File",
            "Line",
            "Jobs completed",
        ]
        await pilot.press("e")  # the help's key lists the abilities again
        await pilot.press("slash", "ctrl+a", "ctrl+k", "enter")
        assert sum("New ability: " in row for row in drawn_rows(app)) == abilities


async def test_follow_pauses_counts_new_lines_and_resumes(lab):
    tag = unique_name("follow")
    app = AtomctlApp(lab.host(), settings=lab_settings(lab), journal=tag_only(tag, max_lines=100))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        pane = journal_pane(app)
        view = pane.view
        pane.focus()
        lines = [f"line {i}".encode() for i in range(1, 101)]
        await asyncio.to_thread(write_stream, lab, tag, lines)
        await wait_until_async(lambda: len(received(app, tag)) == 100, what="100 lines")
        await pilot.pause()
        assert view.following and visible_rows(app)[-1] == "line 100"

        await pilot.press("pageup")
        assert not view.following
        in_view = visible_rows(app)
        assert "line 100" not in in_view
        await asyncio.to_thread(write_stream, lab, tag, [b"new 1", b"new 2", b"new 3"])
        await wait_until_async(lambda: view.unseen == 3, what="3 unseen lines")
        await pilot.pause()
        # The buffer is full (100): three old lines went, and what is being read stays put.
        assert len(view.entries) == 100 and received(app, tag)[0] == "line 4"
        assert visible_rows(app) == in_view
        assert "paused, 3 new lines (End follows)" in pane.subtitle
        assert "paused, 3 new lines" in screen_text(app)

        await pilot.press("end")
        await pilot.pause()
        assert view.following and view.unseen == 0 and "following" in pane.subtitle
        assert visible_rows(app)[-1] == "new 3"

        await pilot.press("up", "up")
        assert not view.following
        await pilot.press("down", "down")  # back at the end: following again
        assert view.following
        await pilot.press("home")
        assert not view.following and visible_rows(app)[0] == "line 4"
        await pilot.press("f")
        assert view.following

        await pilot.press("c")
        assert not view.entries and not view.rows
        await asyncio.to_thread(write_stream, lab, tag, [b"after clear"])
        await wait_until_async(lambda: shown_messages(app) == ["after clear"])


async def test_killing_journalctl_under_the_pane_resumes_without_loss_or_repeat(lab):
    tag = unique_name("pane-kill")
    count = 400
    app = AtomctlApp(lab.host(), settings=lab_settings(lab), journal=tag_only(tag, backlog=1000))
    writer_code = (
        "import time\n"
        f"for i in range(1, {count + 1}):\n"
        "    print(f'seq-{i}', flush=True)\n"
        "    time.sleep(0.005)\n"  # the workload spreads its lines over the kill
    )
    async with app.run_test(size=SMALL_TERMINAL):
        follower = app.journal_watches[0].follower
        await wait_until_async(lambda: follower.runs == 1, what="journalctl following")
        writer = subprocess.Popen([sys.executable, "-c", writer_code], stdout=subprocess.PIPE)
        cat = subprocess.Popen(lab.nsenter("systemd-cat", "-t", tag), stdin=writer.stdout)
        writer.stdout.close()
        try:
            await wait_until_async(lambda: len(received(app, tag)) >= 100, what="100 lines")
            journalctl = journalctl_under(follower)
            assert journalctl is not None
            os.kill(journalctl, signal.SIGKILL)
            await wait_until_async(lambda: follower.runs == 2, what="journalctl again")
        finally:
            await wait_until_async(lambda: writer.poll() is not None and cat.poll() is not None)
        await wait_until_async(lambda: len(received(app, tag)) >= count, what="every line")
        assert received(app, tag) == [f"seq-{i}" for i in range(1, count + 1)]
        assert all(status.healthy for status in journal_pane(app).statuses.values())


async def test_filter_text_and_regex_over_buffer_and_new_lines(lab):
    tag = unique_name("filter")
    app = AtomctlApp(lab.host(), settings=lab_settings(lab), journal=tag_only(tag))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        pane = journal_pane(app)
        pane.focus()
        await asyncio.to_thread(write_stream, lab, tag, [b"alpha-1", b"beta-2", b"Alpha-3"])
        await wait_until_async(lambda: len(received(app, tag)) == 3)

        await pilot.press("slash", *"alpha", "enter")
        assert shown_messages(app) == ["alpha-1", "Alpha-3"]
        await asyncio.to_thread(write_stream, lab, tag, [b"alpha-4", b"beta-5"])
        await wait_until_async(lambda: len(received(app, tag)) == 5)
        assert shown_messages(app) == ["alpha-1", "Alpha-3", "alpha-4"]
        assert "filter alpha" in pane.subtitle

        await pilot.press("slash", "ctrl+a", "ctrl+k", *"/beta-[25]$/", "enter")
        assert shown_messages(app) == ["beta-2", "beta-5"]

        # A broken regex: said in words, the filter and the typed text both stay.
        await pilot.press("slash", "ctrl+a", "ctrl+k", *"/[unclosed/", "enter")
        await pilot.pause()
        assert shown_messages(app) == ["beta-2", "beta-5"]
        bar = app.query_one("#journal-filter")
        assert bar.has_class("-open") and bar.value == "/[unclosed/"
        assert any("not a regular expression" in n.message for n in app._notifications)
        await pilot.press("escape")
        assert not bar.has_class("-open") and app.focused is pane
        assert shown_messages(app) == ["beta-2", "beta-5"]

        await pilot.press("slash", "ctrl+a", "ctrl+k", *"nowhere", "enter")
        await pilot.pause()
        assert "No line of the 5 kept matches 'nowhere'." in screen_text(app)

        await pilot.press("slash", "ctrl+a", "ctrl+k", "enter")
        assert len(shown_messages(app)) == 5 and pane.view.line_filter is None


async def test_save_writes_the_lines_in_view_and_never_overwrites(lab, tmp_path):
    tag = unique_name("save")
    app = AtomctlApp(lab.host(), settings=lab_settings(lab), journal=tag_only(tag))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        pane = journal_pane(app)
        pane.focus()
        await asyncio.to_thread(write_stream, lab, tag, [b"keep 1", b"drop", b"keep [b]2[/b]"])
        await wait_until_async(lambda: len(received(app, tag)) == 3)
        await pilot.press("slash", *"keep", "enter")

        target = tmp_path / "journal.log"
        await pilot.press("s")
        assert isinstance(app.screen, JournalSaveScreen)
        await pilot.press("ctrl+a", "ctrl+k", *str(target), "enter")
        await wait_until_async(lambda: not isinstance(app.screen, JournalSaveScreen))
        lines = target.read_text().splitlines()
        assert [line.split(": ", 1)[1] for line in lines] == ["keep 1", "keep [b]2[/b]"]
        assert f" - {tag}[" in lines[0]

        for path, words in [
            (target, "already exists"),
            (tmp_path / "missing" / "x.log", "does not exist"),
            (tmp_path, "is a folder"),
        ]:
            await pilot.press("s", "ctrl+a", "ctrl+k", *str(path), "enter")
            message = app.screen.query_one("#journal-save-message")
            await wait_until_async(lambda m=message: m.has_class("-error"), what=words)
            assert words in str(message.render())
            await pilot.press("escape")
            assert not isinstance(app.screen, JournalSaveScreen)
        assert target.read_text().splitlines() == lines  # nothing overwritten


async def test_saved_by_default_to_the_state_folder_for_the_owner_only(lab, tmp_path, monkeypatch):
    # Under `atomctl-lab exec` the current folder is `/`: a file there is anyone's to read.
    current = tmp_path / "current"
    current.mkdir()
    monkeypatch.chdir(current)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    old_umask = os.umask(0o022)  # the usual one, which would leave a new file readable by all
    tag = unique_name("save-default")
    app = AtomctlApp(lab.host(), settings=lab_settings(lab), journal=tag_only(tag))
    try:
        async with app.run_test(size=SMALL_TERMINAL) as pilot:
            journal_pane(app).focus()
            await asyncio.to_thread(write_stream, lab, tag, [b"secret-ish line"])
            await wait_until_async(lambda: len(received(app, tag)) == 1)
            await pilot.press("s")
            assert isinstance(app.screen, JournalSaveScreen)
            await pilot.press("enter")  # the name offered
            await wait_until_async(lambda: not isinstance(app.screen, JournalSaveScreen))
            await pilot.press("s", "ctrl+a", "ctrl+k", *"named.log", "enter")  # no folder given
            await wait_until_async(lambda: not isinstance(app.screen, JournalSaveScreen))
    finally:
        os.umask(old_umask)
    folder = tmp_path / "state" / "atomctl-tui"
    saved = sorted(folder.iterdir())
    assert [path.name for path in saved][-1] == "named.log" and len(saved) == 2
    assert saved[0].name.startswith("atomctl-journal-")
    assert all(path.stat().st_mode & 0o777 == 0o600 for path in saved)
    assert folder.stat().st_mode & 0o777 == 0o700
    assert not list(current.iterdir())


async def test_keys_are_in_help_and_commands_in_the_palette(lab):
    app = AtomctlApp(
        lab.host(),
        settings=lab_settings(lab),
        journal=JournalSettings(identifiers=(AUDIT_IDENTIFIER,)),
    )
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        pane = journal_pane(app)
        journal = app.journal_watches[0]
        await wait_until_async(lambda: journal.scope_units(), what="the scope's units")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        listed = str(app.screen.render_sections())
        for description in [
            "Filter",
            "Follow",
            "Timestamps on/off",
            "Wrap long lines on/off",
            "Workers' 'New ability' lines: folded/listed",
        ]:
            assert description in listed
        await pilot.press("escape")

        await run_palette_command(app, pilot, "Journal: wrap")
        assert pane.view.wrap
        await run_palette_command(app, pilot, "Journal: atom-worker@2.service")
        assert pane.view.unit_scope == "atom-worker@2.service"


async def run_palette_command(app: AtomctlApp, pilot, name: str) -> None:
    """Type a command's name in the palette, wait for it to be the highlighted hit, run it.
    (The palette searches in a worker: Enter before the hits arrive runs nothing.)"""
    await pilot.press("ctrl+p", *name)

    def highlighted() -> str:
        hits = app.screen.query_one(CommandList)
        option = hits.highlighted_option
        return str(option.prompt).split("\n")[0] if option is not None else ""  # name, help

    await wait_until_async(lambda: highlighted() == name, what=f"the palette to offer {name}")
    await pilot.press("enter")
    await pilot.pause()

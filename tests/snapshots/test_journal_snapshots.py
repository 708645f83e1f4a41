"""The Journal pane full screen at 80x24 (the other panes' layout is the console
snapshots') on real worker lines (``journal-workers.jsonl``, captured with
``journalctl -o json`` in a lab: two workers starting, a job, a failing job, a restart and a
SIGKILL): the worker's time shown once, systemd's lines labelled ``systemd``, each start's
``New ability`` lines folded into one row."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from atomctl_tui.ui.journal.pane import JournalPane
from tests.fakes import FakeGearmand
from tests.snapshots import console as console_module
from tests.snapshots.conftest import FrozenClock
from tests.snapshots.console import FakeConsole
from tests.snapshots.test_console_snapshots import BUSY, SnapCompare, console_of, take

WORKERS_JOURNAL = "journal-workers.jsonl"


def workers_console(
    monkeypatch: pytest.MonkeyPatch, clock: FrozenClock, gearmand: FakeGearmand
) -> FakeConsole:
    monkeypatch.setattr(console_module, "JOURNAL_FIXTURE", WORKERS_JOURNAL)
    return console_of(BUSY, clock, gearmand)


async def journal_full_screen(console: FakeConsole, pilot: Pilot) -> None:
    pane = console.app.query_one(JournalPane)
    pane.focus()
    await pilot.press("z")


def test_journal_full_screen_with_worker_lines(
    snap_compare: SnapCompare, frozen_clock, fake_gearmand, monkeypatch
):
    console = workers_console(monkeypatch, frozen_clock, fake_gearmand)
    assert take(snap_compare, console, (80, 24), journal_full_screen)

"""Journal entries that name a unit, written in the lab by an unprivileged user and by root:
the user's claim does not count, and root's odd unit name is data, never palette markup."""

from __future__ import annotations

import subprocess

import pytest
from textual.command import CommandList

from atomctl_tui.journal.scope import JournalSettings
from atomctl_tui.ui.app import AtomctlApp
from atomctl_tui.ui.journal.pane import JournalPane
from tests.gearman_lab import lab_settings
from tests.labs import unique_name
from tests.waiting import wait_until_async

pytestmark = pytest.mark.lab

ODD_UNIT = "atom-worker@[/oops].service"  # the palette used to parse it: MarkupError


def write_entry(lab, identifier: str, unit: str, message: str, *, as_user: str | None) -> None:
    """One entry through `logger --journald`, run by ``as_user`` (None: root)."""
    runner = ["systemd-run", "--quiet", "--wait", "--pipe", f"--uid={as_user}"] if as_user else []
    subprocess.run(
        lab.nsenter(*runner, "logger", "--journald"),
        input=f"MESSAGE={message}\nSYSLOG_IDENTIFIER={identifier}\nUNIT={unit}\n".encode(),
        check=True,
        timeout=60,
    )


async def test_unit_claims_count_only_from_root_and_odd_names_never_break_the_palette(lab):
    tag = unique_name("claims")
    journal = JournalSettings(other_units=(), identifiers=(tag,))
    app = AtomctlApp(lab.host(), settings=lab_settings(lab), journal=journal, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(JournalPane)
        write_entry(lab, tag, "atom-worker@93.service", "nobody says so", as_user="nobody")
        write_entry(lab, tag, ODD_UNIT, "root says so", as_user=None)
        entries = {}

        def both_seen() -> bool:
            entries.update({e.message: e for e in pane.view.entries if e.identifier == tag})
            return len(entries) == 2

        await wait_until_async(both_seen, what="both entries in the pane")
        assert entries["nobody says so"].unit != "atom-worker@93.service"
        assert entries["nobody says so"].unit.startswith("run-")  # its own, transient unit
        assert entries["root says so"].unit == ODD_UNIT
        assert "atom-worker@93.service" not in app.journal_watches[0].scope_units()
        await wait_until_async(lambda: ODD_UNIT in app.journal_watches[0].scope_units())

        await pilot.press("ctrl+p", *"oops")

        def offered() -> list[str]:
            hits = app.screen.query(CommandList)
            if not hits:
                return []
            command_list = hits.first()
            return [
                str(command_list.get_option_at_index(i).prompt).split("\n")[0]
                for i in range(command_list.option_count)
            ]

        await wait_until_async(
            lambda: f"Journal: {ODD_UNIT}" in offered(), what="the odd unit's command"
        )
        await pilot.press("enter")
        await wait_until_async(lambda: pane.view.unit_scope == ODD_UNIT)
    assert app.return_code in (None, 0)

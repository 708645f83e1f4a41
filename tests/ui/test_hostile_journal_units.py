"""Journal entries that name a unit, written in the lab by an unprivileged user and by root:
the user's claim does not count, and root's odd unit name is data, never palette markup."""

from __future__ import annotations

import subprocess
from pathlib import Path

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


def write_entry(lab, identifier: str, unit: str, message: str) -> None:
    """One entry through `logger --journald`, run by root."""
    subprocess.run(
        lab.nsenter("logger", "--journald"),
        input=entry_fields(identifier, unit, message),
        check=True,
        timeout=60,
    )


def entry_fields(identifier: str, unit: str, message: str) -> bytes:
    return f"MESSAGE={message}\nSYSLOG_IDENTIFIER={identifier}\nUNIT={unit}\n".encode()


def write_entry_as(lab, user: str, identifier: str, unit: str, message: str) -> subprocess.Popen:
    """One entry through `logger --journald`, run by ``user`` in a transient unit that stays
    until the returned process's stdin is closed: journald names the writer's unit from its
    cgroup when it takes the entry, and a writer gone by then leaves it without one."""
    fields = f"/tmp/{identifier}.fields"  # in the lab's own /tmp
    on_host = Path(f"/proc/{lab.pid}/root{fields}")
    on_host.write_bytes(entry_fields(identifier, unit, message))
    on_host.chmod(0o644)
    return subprocess.Popen(
        lab.nsenter("systemd-run", "--quiet", "--wait", "--pipe", f"--uid={user}",
                    "sh", "-c", 'logger --journald < "$1" && cat > /dev/null', "sh", fields),
        stdin=subprocess.PIPE,
    )  # fmt: skip


async def test_unit_claims_count_only_from_root_and_odd_names_never_break_the_palette(lab):
    tag = unique_name("claims")
    journal = JournalSettings(other_units=(), identifiers=(tag,))
    app = AtomctlApp(lab.host(), settings=lab_settings(lab), journal=journal, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(JournalPane)
        nobody = write_entry_as(lab, "nobody", tag, "atom-worker@93.service", "nobody says so")
        try:
            write_entry(lab, tag, ODD_UNIT, "root says so")
            entries = {}

            def both_seen() -> bool:
                entries.update({e.message: e for e in pane.view.entries if e.identifier == tag})
                return len(entries) == 2

            await wait_until_async(both_seen, what="both entries in the pane")
        finally:
            assert nobody.stdin is not None
            nobody.stdin.close()  # the writer's unit may end now
            assert nobody.wait(timeout=60) == 0
        assert entries["nobody says so"].unit != "atom-worker@93.service"
        # Its own transient unit, or none: logger sends and exits at once, and journald, when
        # it reads the sender's cgroup only after that, cannot name any (seen in CI).
        claimed = entries["nobody says so"].unit
        assert claimed is None or claimed.startswith("run-"), claimed
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

"""What the console's start-up leaves unimported until it is first used: every module imported
before the first frame delays it (benchmarks/README.md, "First paint")."""

from __future__ import annotations

import subprocess
import sys

# Views and screens not on the first screen, AtoM's database, what only remote hosts need.
NOT_AT_START = (
    "pymysql",
    "atomctl_tui.atom_db.connection",
    "atomctl_tui.ui.atom_jobs.screen",
    "atomctl_tui.ui.health.screen",
    "atomctl_tui.ui.help.screen",
    "atomctl_tui.ui.journal.commands",
    "atomctl_tui.ui.palette",
    "atomctl_tui.systemd.bus_process",
    "atomctl_tui.remote.site",
)


def imported_after(statements: str) -> set[str]:
    """The modules a fresh interpreter holds after ``statements`` (the checkout's package)."""
    probe = f"{statements}\nimport sys\nprint('\\n'.join(sys.modules))\n"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


def test_the_console_starts_without_its_later_views_and_remote_parts():
    # What `atomctl-tui` imports before it builds the App: the command line, then the UI.
    start = "import atomctl_tui.cli as cli\ncli.build_parser()\nimport atomctl_tui.ui.app\n"
    imported = imported_after(start)
    assert "atomctl_tui.ui.app" in imported
    assert sorted(imported.intersection(NOT_AT_START)) == []


def test_the_views_import_them_when_used():
    """The probe above can fail: the modules it looks for exist and are found."""
    later = "\n".join(f"import {name}" for name in NOT_AT_START)
    assert imported_after(later).issuperset(NOT_AT_START)


def test_the_command_line_module_needs_no_pystemd_or_textual():
    """The D-Bus library (and its lxml) comes with the units' watch, Textual with the UI: the
    command line's own module imports neither (the journal's audit identifier used to bring
    pystemd)."""
    imported = imported_after("import atomctl_tui.cli")
    assert {m.split(".")[0] for m in imported}.isdisjoint({"pystemd", "lxml", "textual"})

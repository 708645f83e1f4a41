"""What the console's start-up leaves unimported until it is first used: every module imported
before the first frame delays it (benchmarks/README.md, "First paint")."""

from __future__ import annotations

import subprocess
import sys

# Views, screens and dialogs not on the first screen, AtoM's database and its job rules, the
# subcommands' own modules, what only remote hosts need, pystemd's high-level classes and lxml.
NOT_AT_START = (
    "pymysql",
    "atomctl_tui.atom_db.connection",
    "atomctl_tui.atom_db.jobs",
    "atomctl_tui.atom_db.whereabouts",
    "atomctl_tui.health.check",
    "atomctl_tui.ui.atom_jobs.screen",
    "atomctl_tui.ui.health.screen",
    "atomctl_tui.ui.help.screen",
    "atomctl_tui.ui.journal.commands",
    "atomctl_tui.ui.journal.save_screen",
    "atomctl_tui.ui.journal.scope_screen",
    "atomctl_tui.ui.queues.jobs_screen",
    "atomctl_tui.ui.widgets.confirm_screen",
    "atomctl_tui.ui.workers.rolling_restart",
    "atomctl_tui.ui.palette",
    "atomctl_tui.systemd.bus_process",
    "atomctl_tui.remote.site",
    "pystemd.systemd1",
    "lxml",
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
    start = (
        "import atomctl_tui.cli as cli\n"
        "cli.build_parser().parse_args([])\n"
        "import atomctl_tui.ui.app\n"
        "import atomctl_tui.ui.run\n"
    )
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
    pystemd). The package ``pystemd`` may be registered (``atomctl_tui.systemd`` does so,
    without running it): none of its modules is imported."""
    imported = imported_after("import atomctl_tui.cli")
    assert not {m for m in imported if m.startswith(("pystemd.", "lxml", "textual"))}


def test_pystemd_is_whole_when_asked_for():
    """The units' watch registers pystemd without its package ``__init__`` (and lxml); the
    package's own names are there the first time something asks for them."""
    probe = (
        "import sys\n"
        "import atomctl_tui.systemd.bus\n"
        "assert 'lxml' not in sys.modules and 'pystemd.systemd1' not in sys.modules\n"
        "import pystemd\n"
        "from pystemd.systemd1 import Unit\n"
        "assert pystemd.SDUnit is Unit\n"
        "from pystemd import journal\n"
        "print('lxml' in sys.modules, journal.__name__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["True", "pystemd.journal"]

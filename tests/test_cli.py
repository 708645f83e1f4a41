"""The command lines answer `--help` and `--version`, and the lab refuses what it cannot do."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from atomctl_tui import __version__
from atomctl_tui.cli import CHECK_BAD_USAGE, build_parser
from atomctl_tui.lab import preflight
from atomctl_tui.lab.state import LabError

BIN = os.path.dirname(sys.executable)


def run(*argv: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False, **kwargs)


def test_console_version_and_help():
    assert run(f"{BIN}/atomctl-tui", "--version").stdout.strip() == f"atomctl-tui {__version__}"
    help_text = run(f"{BIN}/atomctl-tui", "--help").stdout
    assert "usage: atomctl-tui" in help_text


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("status", ["--json", "--format", "--gearman", "--host"]),
        ("check", ["--warn", "--crit", "for the whole check (default 10)", "--atom-root"]),
        ("jobs", ["--status", "--since", "--limit N", "--ssh-option"]),
    ],
)
def test_a_subcommand_has_its_options_when_named(command, options, capsys):
    """A subcommand's options are added only when it is named: its help and its parse have
    them all."""
    with pytest.raises(SystemExit) as ended:
        build_parser().parse_args([command, "--help"])
    assert ended.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert f"usage: atomctl-tui {command}" in help_text
    assert all(option in help_text for option in options)


def test_the_subcommands_parse_as_before(capsys):
    args = build_parser().parse_args(["check", "--warn", "3", "--atom-root", "/srv/atom"])
    assert (args.command, args.warn, args.crit, args.timeout) == ("check", 3, None, 10.0)
    assert args.sub_atom_root == "/srv/atom"
    args = build_parser().parse_args(["jobs", "--status", "error"])
    assert (args.command, args.status, args.limit, args.json) == ("jobs", "error", 200, False)
    assert build_parser().parse_args([]).command is None
    with pytest.raises(SystemExit) as ended:
        build_parser().parse_args(["check", "--bogus"])
    assert ended.value.code == CHECK_BAD_USAGE
    out, err = capsys.readouterr()
    assert out.startswith("ATOMCTL UNKNOWN - unrecognized arguments: --bogus")
    assert err.startswith("usage: atomctl-tui check [-h] [--warn N]")


def test_lab_help_lists_its_commands():
    help_text = run(f"{BIN}/atomctl-lab", "--help").stdout
    for command in ("up", "down", "status", "exec", "submit", "ssh-config"):
        assert command in help_text


@pytest.mark.lab
def test_lab_refuses_a_non_root_user_in_words():
    # Drop to nobody after start-up: the interpreter lives where nobody cannot read it.
    probe = (
        "import os, sys\n"
        "from atomctl_tui.lab.cli import main\n"
        "os.setegid(65534); os.seteuid(65534)\n"
        "sys.exit(main(['up', '--name', 'never-booted']))\n"
    )
    result = run(sys.executable, "-c", probe)
    assert result.returncode == 1
    assert "must be run as root" in result.stderr


def test_a_missing_package_is_named(monkeypatch):
    monkeypatch.setitem(preflight.REQUIRED_FILES, "/nonexistent/bin/gearmand", "gearman-job-server")
    with pytest.raises(LabError, match="missing Debian packages: gearman-job-server"):
        preflight.check_packages()

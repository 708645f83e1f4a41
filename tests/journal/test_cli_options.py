"""The journal's command-line options: sizes in lines, nonsense refused in words."""

from __future__ import annotations

import subprocess
import sys

import pytest

from atomctl_tui.cli import build_parser


def test_journal_sizes_default_and_parse():
    args = build_parser().parse_args([])
    assert (args.journal_backlog, args.journal_lines) == (200, 10_000)
    args = build_parser().parse_args(["--journal-backlog", "0", "--journal-lines", "500"])
    assert (args.journal_backlog, args.journal_lines) == (0, 500)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--journal-backlog", "-1"], "-1 is too few: give at least 0"),
        (["--journal-lines", "0"], "0 is too few: give at least 1"),
        (["--journal-lines", "lots"], "'lots' is not a whole number of lines"),
    ],
)
def test_bad_sizes_are_refused_in_words(argv, words, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(argv)
    assert exit_info.value.code == 2
    assert words in capsys.readouterr().err


def test_help_names_the_journal_options():
    result = subprocess.run(
        [sys.executable, "-m", "atomctl_tui.cli", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "--journal-backlog N" in result.stdout and "--journal-lines N" in result.stdout

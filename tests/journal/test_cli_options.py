"""The journal's command-line options: sizes in lines, nonsense refused in words."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

from atomctl_tui.cli import build_parser, journal_settings_from
from atomctl_tui.config import default_settings


def journal_for(argv: list[str], **settings):
    base = default_settings()
    return journal_settings_from(build_parser().parse_args(argv), replace(base, **settings))


def test_journal_sizes_default_and_parse():
    journal = journal_for([])
    assert (journal.backlog, journal.max_lines) == (200, 10_000)
    journal = journal_for(["--journal-backlog", "0", "--journal-lines", "500"])
    assert (journal.backlog, journal.max_lines) == (0, 500)


def test_the_option_wins_over_the_config_file_and_patterns_follow_it():
    assert journal_for([], journal_backlog=500).backlog == 500
    assert journal_for(["--journal-backlog", "7"], journal_backlog=500).backlog == 7
    journal = journal_for([], unit_patterns=("php-worker@*.service",))
    assert journal.worker_units == ("php-worker@*.service",)


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
    assert exit_info.value.code == 1  # bad usage; 2 is `status`'s unreachable server
    assert words in capsys.readouterr().err


def test_help_names_the_journal_options():
    result = subprocess.run(
        [sys.executable, "-m", "atomctl_tui.cli", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "--journal-backlog N" in result.stdout and "--journal-lines N" in result.stdout

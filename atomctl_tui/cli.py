"""`atomctl-tui`: open the console."""

from __future__ import annotations

import argparse
import sys

from atomctl_tui import __version__
from atomctl_tui.hosts import local_host
from atomctl_tui.journal import DEFAULT_BACKLOG, DEFAULT_MAX_LINES, JournalSettings


def line_count(minimum: int):
    """An argparse type: a whole number of lines, at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of lines") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is too few: give at least {minimum}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="atomctl-tui",
        description="A keyboard-driven console for AtoM's Gearman job server, its atom-worker"
        " systemd units and their journal. Press ? in the console for every key.",
    )
    parser.add_argument("--version", action="version", version=f"atomctl-tui {__version__}")
    parser.add_argument(
        "--journal-backlog",
        type=line_count(0),
        default=DEFAULT_BACKLOG,
        metavar="N",
        help=f"journal lines from before the start to show (default {DEFAULT_BACKLOG})",
    )
    parser.add_argument(
        "--journal-lines",
        type=line_count(1),
        default=DEFAULT_MAX_LINES,
        metavar="N",
        help=f"journal lines kept in memory; the oldest go (default {DEFAULT_MAX_LINES:,})",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    journal = JournalSettings(backlog=args.journal_backlog, max_lines=args.journal_lines)
    # Imported here so `--help` and `--version` answer without loading Textual.
    from atomctl_tui.ui.app import AtomctlApp

    AtomctlApp(local_host(), journal=journal).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`atomctl-tui`: open the console."""

from __future__ import annotations

import argparse
import sys

from atomctl_tui import __version__
from atomctl_tui.hosts import local_host


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="atomctl-tui",
        description="A keyboard-driven console for AtoM's Gearman job server, its atom-worker"
        " systemd units and their journal. Press ? in the console for every key.",
    )
    parser.add_argument("--version", action="version", version=f"atomctl-tui {__version__}")
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="show everything, change nothing: no key that starts, stops, restarts, enables,"
        " disables or resets a unit is offered, and no such call reaches systemd",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Imported here so `--help` and `--version` answer without loading Textual.
    from atomctl_tui.ui.app import AtomctlApp

    AtomctlApp(local_host(), read_only=args.read_only).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

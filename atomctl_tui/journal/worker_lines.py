"""The workers' journal lines, read once, bounded in lines and time: a time window (what a
job's story needs, its worker's lines from its queueing to its end), or what other journalctl
options select (``check``'s history of the workers)."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from datetime import datetime, timedelta

from atomctl_tui.journal.entries import JournalEntry, parse_entry
from atomctl_tui.journal.follower import OUTPUT_FIELDS
from atomctl_tui.journal.scope import journal_matches
from atomctl_tui.outside_text import clean_line
from atomctl_tui.remote.hosts import Host

MAX_LINES = 5_000
"""The window's last lines at most: a long job's story keeps its end."""
MARGIN = timedelta(seconds=5)
STAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


class WorkerLinesError(Exception):
    """journalctl could not be run or said no; the message says why, in words."""


def read_window(
    host: Host,
    worker_patterns: Sequence[str],
    since: datetime,
    until: datetime | None,
    *,
    journal_args: Sequence[str] = (),
    timeout: float,
) -> list[JournalEntry]:
    """The workers' lines on ``host`` from ``since`` to ``until`` (None: now), in the host's
    local time as AtoM's database writes it. Blocks, at most ``timeout`` seconds."""
    options = [f"--since={(since - MARGIN).strftime(STAMP_FORMAT)}", f"--lines={MAX_LINES}"]
    if until is not None:
        options.append(f"--until={(until + MARGIN).strftime(STAMP_FORMAT)}")
    return read_worker_lines(host, worker_patterns, options, journal_args, timeout=timeout)


def read_worker_lines(
    host: Host,
    worker_patterns: Sequence[str],
    options: Sequence[str],
    journal_args: Sequence[str] = (),
    *,
    timeout: float,
) -> list[JournalEntry]:
    """The workers' lines on ``host`` that journalctl ``options`` select, read once (blocks,
    at most ``timeout`` seconds); WorkerLinesError when journalctl fails, in words."""
    argv = host.argv(
        "journalctl",
        "--no-pager",
        "--quiet",
        "--output=json",
        f"--output-fields={','.join(OUTPUT_FIELDS)}",
        *journal_args,
        *options,
        *journal_matches(worker_patterns, ()),
    )
    try:
        done = subprocess.run(
            argv, capture_output=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired as exc:
        raise WorkerLinesError(f"journalctl took longer than {timeout:g} s") from exc
    except OSError as exc:
        raise WorkerLinesError(f"journalctl could not be run: {exc.strerror or exc}") from exc
    if done.returncode != 0 and not done.stdout:
        words = done.stderr.decode(errors="replace").strip().splitlines()
        raise WorkerLinesError(
            clean_line(words[-1], max_chars=200)
            if words
            else f"journalctl exited with {done.returncode}"
        )
    entries = (parse_entry(line, host.label) for line in done.stdout.splitlines())
    return [entry for entry in entries if entry is not None]

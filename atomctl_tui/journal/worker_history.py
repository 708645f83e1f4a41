"""What a host's workers logged lately, read once: ``atomctl-tui check`` has no journal
follower, so it asks journalctl twice and reads the lines as the console's ``WorkerActivity``
does — the workers' "Ability not defined" lines since boot (they come only when a worker
starts), and every worker line of the last hour (failed jobs).
"""

from __future__ import annotations

from collections.abc import Sequence

from atomctl_tui.journal.worker_activity import (
    FAILURE_WINDOW_SECONDS,
    ActivitySnapshot,
    WorkerActivity,
)
from atomctl_tui.journal.worker_lines import WorkerLinesError, read_worker_lines
from atomctl_tui.remote.hosts import Host

MAX_LINES = 20_000
"""Of the last hour's worker lines: a flood keeps the newest, the memory stays bounded."""
ABILITY_NOT_DEFINED = "Ability not defined: "


def read_worker_history(
    host: Host,
    worker_patterns: Sequence[str],
    *,
    journal_args: Sequence[str] = (),
    timeout: float,
) -> ActivitySnapshot:
    """``host``'s workers as their journal tells it. A journalctl that fails or takes longer
    than ``timeout`` (each) leaves what it would have said out: an empty history."""
    activity = WorkerActivity(None, worker_patterns, host_label=host.label)
    for options in (
        ("--boot", f"--grep={ABILITY_NOT_DEFINED}"),
        (f"--since=-{int(FAILURE_WINDOW_SECONDS)}s", f"--lines={MAX_LINES}"),
    ):
        try:
            entries = read_worker_lines(
                host, worker_patterns, options, journal_args, timeout=timeout
            )
        except WorkerLinesError:
            continue
        activity.take(entries)
    return activity.snapshot()

"""What a journal line says on screen: who said it, and its words without repeats.

- An AtoM worker stamps each line ``Y-m-d H:i:s > `` (``worker_log``); the view shows the
  journal's time already, so the worker's own goes (a saved file keeps the whole message).
- systemd's own lines about a unit (``_PID=1``, the unit from its ``UNIT=`` field, see
  ``journal.entries``) are labelled ``systemd atom-worker@1``, not as the worker, and lose
  their ``atom-worker@1.service: `` prefix, which the label already says.
"""

from __future__ import annotations

from atomctl_tui.journal.entries import JournalEntry
from atomctl_tui.journal.worker_log import JOB_FAILURES, parse_worker_line, split_stamp

SYSTEMD_PID = "1"
SYSTEMD_OWN_UNIT = "init.scope"  # lines of systemd about itself
WARNING_PRIORITY = 4


def is_systemd_about_unit(entry: JournalEntry) -> bool:
    return entry.pid == SYSTEMD_PID and entry.unit is not None and entry.unit != SYSTEMD_OWN_UNIT


def source_label(entry: JournalEntry) -> str:
    """Who the line is from, as the source column shows it."""
    if entry.pid == SYSTEMD_PID and entry.unit is not None:
        return "systemd" if entry.unit == SYSTEMD_OWN_UNIT else f"systemd {entry.source}"
    return entry.source


def shown_message(entry: JournalEntry) -> str:
    """The message as the view shows it: without the worker's time, or the unit systemd names."""
    if is_systemd_about_unit(entry):
        return entry.message.removeprefix(f"{entry.unit}: ")
    return split_stamp(entry.message)[1]


def is_trouble(entry: JournalEntry) -> bool:
    """A line an admin must not miss: a warning or worse (systemd's "Main process exited",
    "Failed with result"), or an AtoM job failing (its worker prints those as info)."""
    if entry.priority <= WARNING_PRIORITY:
        return True
    stamp, _ = split_stamp(entry.message)
    return stamp is not None and parse_worker_line(entry.message).kind in JOB_FAILURES

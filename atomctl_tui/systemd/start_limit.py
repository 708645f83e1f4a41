"""A unit's start budget, in words: how many starts systemd still allows before it refuses.

systemd counts every start of a unit (a restart is a stop and a start; its own automatic
restarts count too) against ``StartLimitBurst`` starts per ``StartLimitIntervalUSec``; past
that, the unit fails with ``start-limit-hit`` and no start succeeds until ``reset-failed``.
The limit and the ``Restart=`` policy are D-Bus properties (read with the unit's details,
``units.py``); how many starts the current interval has seen is not. So it is counted from
the unit's journal: systemd's "Started …" lines (its message id ``UNIT_STARTED``) within the
last interval, after the last ``reset-failed`` this console made on it (its audit line). That
count can still differ from systemd's own: a ``reset-failed`` made elsewhere (``systemctl``)
zeroes systemd's and leaves no line, systemd's window starts at the first start after the last
one ended (so it can count fewer), and a journal that lost lines counts fewer. The words say
"as its journal tells", and only what the unit in front of us says — never the AtoM manual's
3 per 24 h.

``count_starts`` runs journalctl on the host: it blocks, call it from a thread.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass

from atomctl_tui.remote.hosts import Host
from atomctl_tui.systemd.audit import AUDIT_IDENTIFIER
from atomctl_tui.systemd.units import UnitState

UNIT_STARTED_MESSAGE_ID = (
    "39f53479d3a045ac8e11786248231fbf"  # sd-messages.h: SD_MESSAGE_UNIT_STARTED
)
COUNT_TIMEOUT_SECONDS = 10.0
MAX_COUNTED = 10_000  # lines read at most: a unit restarting in a loop
# Below this interval a start limit only stops tight crash loops: worth words only when close.
SHORT_INTERVAL_US = 60 * 1_000_000


@dataclass(frozen=True)
class StartBudget:
    """What is known of a unit's start limit, and of its starts within the interval."""

    unit: str
    burst: int | None
    interval_us: int | None
    restart: str
    starts: int | None = None
    """Starts within the last interval, as its journal tells; None: not counted."""
    why_not_counted: str = ""

    @property
    def limited(self) -> bool:
        return bool(self.burst) and bool(self.interval_us)


def budget_of(state: UnitState) -> StartBudget:
    return StartBudget(
        state.name, state.start_limit_burst, state.start_limit_interval_us, state.restart_policy
    )


def count_starts(host: Host, unit: str, interval_us: int, now: float | None = None) -> int:
    """How many times systemd started ``unit`` within the last ``interval_us``, from its
    journal. Raises OSError, subprocess.TimeoutExpired or ValueError (journalctl failed)."""
    since = (time.time() if now is None else now) - interval_us / 1_000_000
    done = subprocess.run(
        host.argv(
            "journalctl",
            "--no-pager",
            "--quiet",
            "--output=json",
            "--output-fields=MESSAGE_ID,ATOMCTL_ACTION,ATOMCTL_RESULT",
            f"--since=@{since:.0f}",
            f"--lines={MAX_COUNTED}",
            "_PID=1",
            f"UNIT={unit}",
            f"MESSAGE_ID={UNIT_STARTED_MESSAGE_ID}",
            "+",
            f"SYSLOG_IDENTIFIER={AUDIT_IDENTIFIER}",
            f"ATOMCTL_UNIT={unit}",
            "ATOMCTL_ACTION=reset-failed",
        ),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=COUNT_TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        error = done.stderr.decode(errors="replace").strip().splitlines()
        raise ValueError(error[-1][:200] if error else f"journalctl exit status {done.returncode}")
    count = 0
    for line in done.stdout.splitlines():  # oldest first
        try:
            fields = json.loads(line)
        except ValueError:
            continue
        if not isinstance(fields, dict):
            continue
        if fields.get("MESSAGE_ID") == UNIT_STARTED_MESSAGE_ID:
            count += 1
        elif fields.get("ATOMCTL_RESULT") == "done":  # a reset-failed: systemd counts afresh
            count = 0
    return count


def counted(host: Host, budget: StartBudget, now: float | None = None) -> StartBudget:
    """``budget`` with its starts counted (or why they could not be); blocks."""
    if not budget.limited or budget.interval_us is None:
        return budget
    try:
        starts = count_starts(host, budget.unit, budget.interval_us, now)
    except subprocess.TimeoutExpired:
        why = f"journalctl did not answer within {COUNT_TIMEOUT_SECONDS:.0f} s"
        return StartBudget(budget.unit, budget.burst, budget.interval_us, budget.restart, None, why)
    except (OSError, ValueError) as exc:
        why = f"journalctl: {exc}"
        return StartBudget(budget.unit, budget.burst, budget.interval_us, budget.restart, None, why)
    return StartBudget(budget.unit, budget.burst, budget.interval_us, budget.restart, starts)


def interval_text(interval_us: int) -> str:
    """``24 h``, ``10 min``, ``10 s``: systemd's interval as an admin says it."""
    seconds = interval_us // 1_000_000
    if seconds and seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds and seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{interval_us / 1_000_000:g} s"


def budget_words(budget: StartBudget) -> str:
    """What one more start means for ``budget``'s unit; "" when it is not worth saying (no
    limit and nothing known of Restart=, or a short window still far from its limit)."""
    restart = restart_words(budget.restart)
    if not budget.limited or budget.burst is None or budget.interval_us is None:
        if budget.burst == 0 or budget.interval_us == 0:
            return " ".join(filter(None, ["systemd sets no start limit on it.", restart]))
        return restart
    burst, within = budget.burst, interval_text(budget.interval_us)
    if budget.starts is None:
        words = (
            f"systemd allows {burst} starts in {within}; how many it had could not be counted"
            f" ({budget.why_not_counted})."
        )
        return f"{words} {restart}".strip()
    this = budget.starts + 1
    if this < burst:
        if budget.interval_us < SHORT_INTERVAL_US:
            return restart
        left = burst - this
        words = (
            f"This is start {this} of the {burst} systemd allows in {within} (as its journal"
            f" tells); {left} more after it."
        )
    elif this == burst:
        words = (
            f"This is start {this} of the {burst} allowed in {within} — after this, systemd"
            " refuses to start it until reset-failed."
        )
    else:
        words = (
            f"It was started {budget.starts} times in the last {within} (as its journal tells)"
            f" and systemd allows {burst}: it may refuse this start (start-limit-hit) unless a"
            " reset-failed cleared its count."
        )
    return f"{words} {restart}".strip()


def restart_words(restart: str) -> str:
    if not restart:
        return ""
    if restart == "no":
        return "Restart=no: if it fails, systemd leaves it down."
    return (
        f"Restart={restart}: systemd starts it again by itself when that policy says,"
        " and those starts count too."
    )


def limit_text(state: UnitState) -> str:
    """The unit's own start limit, short: ``3 starts in 24 h``, ``no start limit``; "" while
    its properties are unread."""
    burst, interval_us = state.start_limit_burst, state.start_limit_interval_us
    if burst is None or interval_us is None:
        return ""
    if not burst or not interval_us:
        return "no start limit"
    return f"{burst} starts in {interval_text(interval_us)}"

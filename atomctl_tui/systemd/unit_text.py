"""A unit's state as the short texts of a table cell (pure: no textual, no systemd calls)."""

from __future__ import annotations

import re

from atomctl_tui.systemd.units import NOT_LOADED, UnitState

# Sub-states that add nothing to their active state.
PLAIN_SUB_STATES = {("active", "running"), ("inactive", "dead"), ("failed", "failed")}
TRANSITIONS = frozenset({"activating", "deactivating", "reloading"})


def unit_label(name: str) -> str:
    """``atom-worker@1`` for ``atom-worker@1.service``: the suffix only takes room."""
    return name.removesuffix(".service")


def natural_key(name: str) -> tuple[int | str, ...]:
    """Sort atom-worker@2 before atom-worker@10."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def state_text(state: UnitState) -> str:
    if state.load_state == NOT_LOADED:
        return "inactive"
    if state.load_state not in ("loaded", ""):
        return state.load_state  # not-found, masked, bad-setting, error
    if (state.active_state, state.sub_state) in PLAIN_SUB_STATES:
        return state.active_state
    return f"{state.active_state} ({state.sub_state})"


def state_kind(state: UnitState) -> str:
    """One of failed, active, changing, inactive: what the state's colour says."""
    if state.active_state == "failed" or state.load_state not in ("loaded", NOT_LOADED, ""):
        return "failed"
    if state.active_state in TRANSITIONS:
        return "changing"
    if state.active_state == "active":
        return "active"
    return "inactive"


def result_text(state: UnitState) -> str:
    """Why the last run ended, when it did not end well: ``exit-code, status 1``."""
    if state.result in ("", "success"):
        return ""
    if state.exit_status and state.active_state not in ("active", "reloading"):
        return f"{state.result}, status {state.exit_status}"
    return state.result


def duration_text(seconds: float) -> str:
    """Two units at most: 42s, 5m12s, 2h05m, 3d04h."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def age_text(seconds: float) -> str:
    """How long something has been going, as a glance needs it: 42s, 5m, 2h05m, 3d04h. Past a
    minute, seconds would only make the line change every second."""
    if 60 <= seconds < 3600:
        return f"{int(seconds // 60)}m"
    return duration_text(seconds)


def uptime_text(state: UnitState, now: float) -> str:
    if (
        state.active_state not in ("active", "reloading", "deactivating")
        or not state.active_since_us
    ):
        return ""
    return age_text(max(0.0, now - state.active_since_us / 1_000_000))


def memory_text(state: UnitState) -> str:
    if state.memory_bytes is None:
        return "—"
    size = float(state.memory_bytes)
    for unit in ("B", "K", "M", "G"):
        if size < 1024:
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.1f}{unit}"
        size /= 1024
    return f"{size:.1f}T"


def cpu_text(state: UnitState) -> str:
    if state.cpu_ns is None:
        return "—"
    seconds = state.cpu_ns / 1e9
    return f"{seconds:.1f}s" if seconds < 60 else duration_text(seconds)


def pid_text(state: UnitState) -> str:
    return str(state.main_pid) if state.main_pid else ""


def restarts_text(state: UnitState) -> str:
    return "" if state.restarts is None else str(state.restarts)

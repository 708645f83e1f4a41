"""Is a worker unit's process on the job server? Its MainPID against the `workers` replies.

AtoM's worker sets the Gearman client id ``pid_<getmypid()>_<uniqid()>``, and the unit's
MainPID is that process, so a connection whose client id carries the MainPID is the unit's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

from atomctl_tui.gearman_admin import WorkerConnection
from atomctl_tui.worker_units import UnitState

# A worker that is up is expected on the job server; activating or stopping, not yet or no more.
EXPECTED_ON_JOB_SERVER = frozenset({"active", "reloading"})


class RegistrationKind(Enum):
    UNKNOWN = "unknown"  # no `workers` reply seen yet
    REGISTERED = "registered"
    MISSING = "missing"  # the unit is active but no connection carries its pid: a warning
    NOT_RUNNING = "not-running"  # no process, so nothing to register


@dataclass(frozen=True)
class Registration:
    kind: RegistrationKind
    abilities: int = 0  # distinct functions the worker's connections registered

    @property
    def text(self) -> str:
        if self.kind is RegistrationKind.REGISTERED:
            return f"{self.abilities} abilit{'y' if self.abilities == 1 else 'ies'}"
        if self.kind is RegistrationKind.MISSING:
            return "not registered"
        if self.kind is RegistrationKind.UNKNOWN:
            return "?"
        return "—"

    @property
    def is_warning(self) -> bool:
        return self.kind is RegistrationKind.MISSING


def registration_of(
    unit: UnitState, seen: Mapping[str, Iterable[WorkerConnection]] | None
) -> Registration:
    """``seen``: the latest `workers` reply of each job server; None before the first one."""
    if seen is None:
        return Registration(RegistrationKind.UNKNOWN)
    functions: set[str] = set()
    found = False
    if unit.main_pid:
        for connections in seen.values():
            for connection in connections:
                if connection.pid == unit.main_pid:
                    found = True
                    functions.update(connection.functions)
    if found:
        return Registration(RegistrationKind.REGISTERED, abilities=len(functions))
    if unit.active_state in EXPECTED_ON_JOB_SERVER:
        return Registration(RegistrationKind.MISSING)
    return Registration(RegistrationKind.NOT_RUNNING)

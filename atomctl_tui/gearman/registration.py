"""Is a worker unit's process on the job server? Its MainPID against the `workers` replies.

AtoM's worker sets the Gearman client id ``pid_<getmypid()>_<uniqid()>``, and the unit's
MainPID is that process, so a connection whose client id carries the MainPID is the unit's —
on one host. With several hosts pids repeat, so the connection must also come from the unit's
host: ``owners`` says which hosts a connection's address can be. A match through an address
several hosts share is ambiguous, and is shown as such rather than guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from atomctl_tui.gearman.admin import WorkerConnection
from atomctl_tui.systemd.units import UnitState

# A worker that is up is expected on the job server; activating or stopping, not yet or no more.
EXPECTED_ON_JOB_SERVER = frozenset({"active", "reloading"})


class RegistrationKind(Enum):
    UNKNOWN = "unknown"  # no `workers` reply seen yet
    REGISTERED = "registered"
    AMBIGUOUS = "ambiguous"  # its pid is there, from an address several hosts share
    MISSING = "missing"  # the unit is active but no connection carries its pid: a warning
    NOT_RUNNING = "not-running"  # no process, so nothing to register


@dataclass(frozen=True)
class Registration:
    kind: RegistrationKind
    abilities: int = 0  # distinct functions the worker's connections registered
    # The job servers it is registered on (health findings compare them with gearman.yml).
    servers: frozenset[str] = field(default=frozenset(), compare=False)

    @property
    def text(self) -> str:
        if self.kind is RegistrationKind.REGISTERED:
            return f"{self.abilities} abilit{'y' if self.abilities == 1 else 'ies'}"
        if self.kind is RegistrationKind.MISSING:
            return "not registered"
        if self.kind is RegistrationKind.AMBIGUOUS:
            return "ambiguous"
        if self.kind is RegistrationKind.UNKNOWN:
            return "?"
        return "—"

    @property
    def is_warning(self) -> bool:
        return self.kind in (RegistrationKind.MISSING, RegistrationKind.AMBIGUOUS)


# (server, connection) -> the hosts the connection may come from.
Owners = Callable[[str, WorkerConnection], frozenset[str]]


def registration_of(
    unit: UnitState,
    seen: Mapping[str, Iterable[WorkerConnection]] | None,
    *,
    host: str | None = None,
    owners: Owners | None = None,
) -> Registration:
    """``seen``: the latest `workers` reply of each job server; None before the first one.

    ``host`` and ``owners`` (several hosts): only connections that may come from ``host``
    count; those that may also come from another host make the match ambiguous.
    """
    if seen is None:
        return Registration(RegistrationKind.UNKNOWN)
    functions: set[str] = set()
    servers: set[str] = set()
    found = ambiguous = False
    if unit.main_pid:
        for server, connections in seen.items():
            for connection in connections:
                if connection.pid != unit.main_pid:
                    continue
                if owners is not None:
                    hosts = owners(server, connection)
                    if host not in hosts:
                        continue
                    if len(hosts) > 1:
                        ambiguous = True
                        continue
                found = True
                functions.update(connection.functions)
                servers.add(server)
    if found:
        return Registration(
            RegistrationKind.REGISTERED, abilities=len(functions), servers=frozenset(servers)
        )
    if ambiguous:
        return Registration(RegistrationKind.AMBIGUOUS)
    if unit.active_state in EXPECTED_ON_JOB_SERVER:
        return Registration(RegistrationKind.MISSING)
    return Registration(RegistrationKind.NOT_RUNNING)

"""The lab moments of tests/fixtures/health/*.json: each host's units as the console's
UnitWatch read them over D-Bus, and each job server's replies as gearadmin printed them."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atomctl_tui.atom import JOB_SERVER_UNIT
from atomctl_tui.gearman.admin import (
    parse_priority_line,
    parse_status_line,
    parse_workers_line,
)
from atomctl_tui.gearman.snapshot import ServerSnapshot, join_functions
from atomctl_tui.systemd.units import UnitState

FIXTURES = Path(__file__).parent.parent / "fixtures"
MOMENTS = FIXTURES / "health"
_GEARMAND_VERSION = re.compile(r"gearmand (\d[\w.+~-]*)")


@dataclass(frozen=True)
class Moment:
    """One captured moment of a lab (``name``: its file under tests/fixtures/health)."""

    name: str
    note: str  # the fixture's ``_captured``: how the moment was made
    captured_at: float  # time.time() of the capture
    site_prefix: str
    templates: tuple[str, ...]
    units: Mapping[str, UnitState]
    replies: Mapping[str, Mapping[str, Any]]  # per server: its replies, or {"unreachable": why}

    @property
    def servers(self) -> tuple[str, ...]:
        return tuple(self.replies)

    @property
    def gearmand_version(self) -> str | None:
        """The version the capture note names (gearadmin's replies do not hold it)."""
        found = _GEARMAND_VERSION.search(self.note)
        return found.group(1) if found else None

    def snapshots(self) -> tuple[ServerSnapshot, ...]:
        """One poll of every server of the moment, as the console's poller would make it."""
        return tuple(server_snapshot(self, server) for server in self.replies)


def load_moment(name: str) -> Moment:
    doc = json.loads((MOMENTS / f"{name}.json").read_text())
    return Moment(
        name=name,
        note=doc["_captured"],
        captured_at=doc["captured_at"],
        site_prefix=doc["site_prefix"],
        templates=tuple(doc["templates"]),
        units={unit: UnitState(**fields) for unit, fields in doc["units"].items()},
        replies=doc["servers"],
    )


def _reply_lines(reply: list[str]) -> list[str]:
    return [line for line in reply if line != "."]  # gearadmin prints the end mark


def server_snapshot(moment: Moment, server: str) -> ServerSnapshot:
    """``server``'s poll at the moment, parsed by the project's parsers. What a poll learns
    beyond the replies comes from the moment too: the lab's own server (the moment's first)
    is up since its unit became active (gearmand started then, as its unit's
    ActiveEnterTimestamp says) and its pid is the unit's main pid; the version is the
    one the capture names. The round trip was not captured: None (the pane says "?")."""
    entry = moment.replies[server]
    gearmand = moment.units.get(JOB_SERVER_UNIT) if server == moment.servers[0] else None
    at = moment.captured_at
    if "unreachable" in entry:
        changed = gearmand.state_since_us / 1e6 if gearmand and gearmand.state_since_us else at
        return ServerSnapshot(
            server, reachable=False, since=changed, polled_at=at, error=entry["unreachable"]
        )
    status = [parse_status_line(line) for line in _reply_lines(entry["status"])]
    priorities = [parse_priority_line(line) for line in _reply_lines(entry["prioritystatus"])]
    workers = [parse_workers_line(line) for line in _reply_lines(entry["workers"])]
    unreadable = [line for line in (*status, *priorities, *workers) if line is None]
    assert not unreadable, f"{moment.name}: {server} has replies the parsers do not read"
    functions = join_functions(
        [s for s in status if s is not None], [p for p in priorities if p is not None]
    )
    up = gearmand.active_since_us / 1e6 if gearmand and gearmand.active_since_us else at
    return ServerSnapshot(
        server,
        reachable=True,
        since=up,
        polled_at=at,
        started=up if gearmand and gearmand.active_since_us else None,
        version=moment.gearmand_version,
        pid=gearmand.main_pid if gearmand and gearmand.main_pid else None,
        functions=functions,
        connections=tuple(w for w in workers if w is not None),
        total=sum(f.total for f in functions),
        running=sum(f.running for f in functions),
        waiting=sum(f.waiting for f in functions),
    )

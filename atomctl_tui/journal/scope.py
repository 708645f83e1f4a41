"""Which journal lines the console follows: the settings, and the journalctl matches for them.

journalctl's matches are exact values, and a glob given to ``--unit`` is ANDed with every
other match (the console's own audit lines come through ``SYSLOG_IDENTIFIER``, ORed in), so
the matches name what they can and let wider ones bring the rest, which the follower then
filters by unit (``in_scope``). The argument list grows with the patterns, never with the
number of units they match (thousands of instances once made one remote argument too long):

- a unit named without a glob: its own lines, systemd's about it, coredumps and lines of
  root daemons about it (as ``journalctl -u`` does);
- a template pattern such as ``atom-worker@*.service``: its slice, which holds every instance,
  those started later too, without a restart;
- any other glob: ``system.slice``, where services run, and the slices of the template
  instances it matches among the units the journal knows (one slice per template: a new
  template's instances join at journalctl's next start); a service that chose a slice of its
  own (``Slice=``) is followed by name only;
- with any glob, every line of systemd itself (``_PID=1``) and every coredump: the units
  they are about are matched here.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass

from atomctl_tui.atom import JOB_SERVER_UNIT, WORKER_UNIT_PATTERNS
from atomctl_tui.config import DEFAULT_JOURNAL_BACKLOG
from atomctl_tui.systemd.audit import AUDIT_IDENTIFIER

DEFAULT_MAX_LINES = 10_000
GLOB_CHARS = frozenset("*?[")
OTHER_SERVICES_SLICE = "system.slice"
COREDUMP_MESSAGE_ID = "fc2e22bc6ee647b6b90729ab34a250b1"  # systemd-coredump's "dumped core"
UNIT_NAME = re.compile(r"^[A-Za-z0-9:_.\\@-]{1,255}$")  # systemd's unit name characters


@dataclass(frozen=True)
class JournalSettings:
    """Which journal lines the console follows and how many it keeps."""

    worker_units: tuple[str, ...] = WORKER_UNIT_PATTERNS
    other_units: tuple[str, ...] = (JOB_SERVER_UNIT,)
    identifiers: tuple[str, ...] = (AUDIT_IDENTIFIER,)
    backlog: int = DEFAULT_JOURNAL_BACKLOG
    max_lines: int = DEFAULT_MAX_LINES
    # Extra journalctl options that choose another journal without changing anything else,
    # e.g. ("--directory=/srv/journal/remote",) or ("--root=/mnt/host",).
    journal_args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.backlog < 0:
            raise ValueError(f"the journal backlog must be 0 or more lines, not {self.backlog}")
        if self.max_lines < 1:
            raise ValueError(f"the journal buffer must hold at least 1 line, not {self.max_lines}")

    @property
    def unit_patterns(self) -> tuple[str, ...]:
        return (*self.worker_units, *self.other_units)


def unit_escape(text: str) -> str:
    """``systemd-escape`` for a unit name part: '-' and specials become \\xNN."""
    out = []
    for index, char in enumerate(text):
        if char.isascii() and (char.isalnum() or char in ":_" or (char == "." and index)):
            out.append(char)
        elif char == "/":
            out.append("-")
        else:
            out.extend(f"\\x{byte:02x}" for byte in char.encode())
    return "".join(out)


def template_slice(pattern: str) -> str | None:
    """The slice holding every instance of a template pattern like ``atom-worker@*.service``."""
    prefix, at, rest = pattern.partition("@")
    if at and rest == "*.service" and prefix and not GLOB_CHARS & set(prefix):
        return f"system-{unit_escape(prefix)}.slice"
    return None


def resolve_units(patterns: Iterable[str], known_units: Iterable[str]) -> set[str]:
    """Unit names: the patterns without globs as they are, the globs matched against
    ``known_units`` (what the journal has seen). Only names systemd could have given a unit
    are taken from the journal: their slices go back into journalctl's arguments (through a
    remote shell, for a remote host — quoted, but a value that cannot be a unit has no
    business there anyway)."""
    patterns = list(patterns)
    units = {p for p in patterns if not GLOB_CHARS & set(p)}
    globs = [p for p in patterns if GLOB_CHARS & set(p)]
    units.update(
        u
        for u in known_units
        if UNIT_NAME.match(u) and any(fnmatch.fnmatchcase(u, g) for g in globs)
    )
    return units


def unit_slice(unit: str) -> str:
    """The slice systemd puts a service in by default: its template's, else system.slice."""
    prefix, at, _instance = unit.partition("@")
    return f"system-{unit_escape(prefix)}.slice" if at and prefix else OTHER_SERVICES_SLICE


def matches_need_known_units(patterns: Iterable[str]) -> bool:
    """Whether ``journal_matches`` needs the journal's known units for ``patterns``: only for a
    glob that is not a template's, whose units' slices it must name."""
    return any(GLOB_CHARS & set(p) and template_slice(p) is None for p in patterns)


def journal_matches(
    patterns: Iterable[str],
    identifiers: Iterable[str],
    units: Iterable[str] = (),
    known_units: Iterable[str] = (),
) -> list[str]:
    """journalctl match arguments for the lines of ``patterns`` (unit names or globs) and of
    ``units`` (more names), and of these ``identifiers`` — combined with OR. ``known_units``:
    units the journal knows, whose slices a glob that is not a template's may need.

    Matches on one field are alternatives; different fields in one group must all match;
    ``+`` separates the groups (journalctl(1), "matches").
    """
    patterns = list(patterns)
    names = sorted({p for p in patterns if not GLOB_CHARS & set(p)} | set(units))
    globs = [p for p in patterns if GLOB_CHARS & set(p)]
    slices = {template_slice(g) or OTHER_SERVICES_SLICE for g in globs}
    others = [g for g in globs if template_slice(g) is None]
    slices.update(
        unit_slice(u) for u in known_units if any(fnmatch.fnmatchcase(u, g) for g in others)
    )
    groups: list[list[str]] = []
    if names:
        groups.append([f"_SYSTEMD_UNIT={u}" for u in names])
    if slices:
        groups.append([f"_SYSTEMD_SLICE={s}" for s in sorted(slices)])
    if globs:
        groups.append(["_PID=1"])
        groups.append(["_UID=0", f"MESSAGE_ID={COREDUMP_MESSAGE_ID}"])
    elif names:
        groups.append(["_PID=1", *(f"UNIT={u}" for u in names)])
    if names:
        groups.append(["_UID=0", *(f"OBJECT_SYSTEMD_UNIT={u}" for u in names)])
        groups.append(["_UID=0", *(f"COREDUMP_UNIT={u}" for u in names)])
    if identifiers := sorted(set(identifiers)):
        groups.append([f"SYSLOG_IDENTIFIER={i}" for i in identifiers])
    matches: list[str] = []
    for group in groups:
        if matches:
            matches.append("+")
        matches.extend(group)
    return matches


def in_scope(
    unit: str | None,
    identifier: str | None,
    patterns: Iterable[str],
    identifiers: Iterable[str],
    units: Iterable[str] = (),
) -> bool:
    """Whether a line the matches brought (its unit, its identifier) is one of the scope's:
    the wider matches also bring systemd's lines about other units."""
    if identifier is not None and identifier in identifiers:
        return True
    if unit is None:
        return False
    return unit in units or any(fnmatch.fnmatchcase(unit, p) for p in patterns)

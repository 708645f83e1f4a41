"""Which journal lines the console follows: the settings, and the journalctl matches for them.

Unit patterns with globs are resolved against the units the journal knows (as ``journalctl
-u`` does, but combined with OR so the identifier lines join in); the instances of a template
pattern such as ``atom-worker@*.service`` are also matched through their slice, so an instance
started later is followed without a restart.
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
    are taken from the journal: they go back into journalctl's arguments (through a remote
    shell, for a remote host — quoted, but a value that cannot be a unit has no business
    there anyway)."""
    patterns = list(patterns)
    units = {p for p in patterns if not GLOB_CHARS & set(p)}
    globs = [p for p in patterns if GLOB_CHARS & set(p)]
    units.update(
        u
        for u in known_units
        if UNIT_NAME.match(u) and any(fnmatch.fnmatchcase(u, g) for g in globs)
    )
    return units


def journal_matches(
    units: Iterable[str], identifiers: Iterable[str], slices: Iterable[str] = ()
) -> list[str]:
    """journalctl match arguments for: these units' lines, systemd's lines about them, the
    lines of these identifiers and of the processes in these slices — combined with OR.

    Matches on one field are alternatives; different fields in one group must all match;
    ``+`` separates the groups (journalctl(1), "matches").
    """
    units = sorted(set(units))
    groups: list[list[str]] = []
    if units:
        groups.append([f"_SYSTEMD_UNIT={u}" for u in units])
        groups.append(["_PID=1", *(f"UNIT={u}" for u in units)])
        groups.append(["_UID=0", *(f"OBJECT_SYSTEMD_UNIT={u}" for u in units)])
        groups.append(["_UID=0", *(f"COREDUMP_UNIT={u}" for u in units)])
    if slices := sorted(set(slices)):
        groups.append([f"_SYSTEMD_SLICE={s}" for s in slices])
    if identifiers := sorted(set(identifiers)):
        groups.append([f"SYSLOG_IDENTIFIER={i}" for i in identifiers])
    matches: list[str] = []
    for group in groups:
        if matches:
            matches.append("+")
        matches.extend(group)
    return matches

"""Journal entries: one journal line, parsed from ``journalctl -o json`` into a bounded,
display-safe ``JournalEntry``, and written back out as a saved file's lines."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from atomctl_tui.journal.log_text import decode_field
from atomctl_tui.outside_text import clean_line


class JournalEntry(NamedTuple):
    """One journal line, its message already safe to show (see ``log_text``).

    A NamedTuple rather than a frozen dataclass: a flood builds tens of thousands a second.
    """

    cursor: str
    timestamp_us: int
    priority: int  # 0 emerg … 7 debug
    unit: str | None  # the unit the line comes from, or is about (systemd's own lines)
    identifier: str | None
    pid: str | None
    hostname: str | None
    message: str
    host: str | None = None  # the console's name for the host whose journal it came from

    @property
    def source(self) -> str:
        """Who the line is from, short: the unit without ``.service``, else the identifier."""
        if self.unit:
            return self.unit.removesuffix(".service")
        return self.identifier or "?"

    @property
    def timestamp(self) -> float:
        return self.timestamp_us / 1_000_000


_decode_json = json.JSONDecoder().raw_decode  # on str: no encoding sniffing for each line


def parse_entry(line: bytes | str, host: str | None = None) -> JournalEntry | None:
    """One line of ``journalctl -o json``; None when it is not a journal entry. ``host``: the
    console's name for the host it came from."""
    try:
        fields = _decode_json(line.decode() if isinstance(line, bytes) else line)[0]
        cursor = fields["__CURSOR"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(cursor, str):
        return None
    get = fields.get
    message = get("MESSAGE", "")
    return JournalEntry(
        cursor,
        _number(get("__REALTIME_TIMESTAMP"), 0),
        _number(get("PRIORITY"), 6),
        _short(_unit(get)),
        _short(get("SYSLOG_IDENTIFIER") or get("_COMM")),
        _short(get("_PID")),
        _short(get("_HOSTNAME")),
        clean_line(message if isinstance(message, str) else decode_field(message)),
        host,
    )


# Who may say which unit a line is about: any process can write UNIT=atom-worker@1.service
# into the journal (logger --journald, sd_journal_send), so these fields count only from
# systemd itself (_PID=1), root (_UID=0), or, for COREDUMP_UNIT, systemd-coredump's own
# service (it writes as the crashed process's user). The fields with an underscore are the
# journal's own (trusted): no client can set them.
_ABOUT_UNIT_FIELDS = ("OBJECT_SYSTEMD_UNIT", "UNIT")
COREDUMP_SERVICE = "systemd-coredump@"


def _unit(get: Callable[[str], object]) -> object:
    """The unit a line comes from, or is about when a trusted sender says so."""
    from_unit = get("_SYSTEMD_UNIT")
    sender_is_system = get("_PID") == "1" or get("_UID") == "0"
    if sender_is_system or (isinstance(from_unit, str) and from_unit.startswith(COREDUMP_SERVICE)):
        about = get("COREDUMP_UNIT")
        if about:
            return about
    if sender_is_system:
        for field in _ABOUT_UNIT_FIELDS:
            about = get(field)
            if about:
                return about
    return from_unit


def _number(value: object, default: int) -> int:
    if not isinstance(value, (str, int)):
        return default
    try:
        return int(value)
    except ValueError:
        return default


def _short(value: object) -> str | None:
    """A name-like field (unit, identifier, pid, host) as a short safe string."""
    if value is None:
        return None
    if isinstance(value, str) and len(value) <= 256 and value.isprintable():
        return value
    return clean_line(decode_field(value), max_chars=256)


def format_entry(entry: JournalEntry) -> str:
    """The entry as one line of a saved file: local ISO time, host (as the console names it,
    else the journal's _HOSTNAME), unit, identifier[pid] and message."""
    stamp = datetime.fromtimestamp(entry.timestamp).astimezone().isoformat(timespec="microseconds")
    who = f"{entry.identifier or '?'}[{entry.pid}]" if entry.pid else entry.identifier or "?"
    host = entry.host or entry.hostname or "-"
    return f"{stamp} {host} {entry.unit or '-'} {who}: {entry.message}"


def save_entries(path: Path, entries: Iterable[JournalEntry]) -> int:
    """Write ``entries`` to ``path``, a new file readable by its owner only (an existing one,
    or a symlink, is never written through).

    Returns how many lines were written; raises OSError (FileExistsError, PermissionError…).
    """
    count = 0
    # Created 0600 (not the umask's 0644): journal lines can hold what others must not read.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    with open(fd, "w", encoding="utf-8") as out:
        for entry in entries:
            out.write(format_entry(entry) + "\n")
            count += 1
    return count

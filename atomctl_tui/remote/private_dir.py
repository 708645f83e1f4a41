"""The console's private directory: its SSH control sockets, forwards and ssh logs.

Made with ``mkdtemp`` (mode 0700), in ``$TMPDIR`` when ssh can take that path literally and
it leaves room for a socket name, else in ``/tmp``: ssh expands ``%`` tokens and ``${VAR}``
in a ControlPath and in a forward's socket path, reads whitespace and quotes as the end of
an option's value, takes ``:`` as the separator of ``-L``, and a Unix socket path must fit in
108 bytes (with the 17 bytes ssh adds to a ControlPath while it binds).

The directory records its owner — the console's pid and that process's start time, so a
reused pid is not taken for the owner — in ``OWNER_FILE``. A console that ended without
removing it (kill -9, OOM, a power cut of its terminal) leaves it behind; the next console
removes every such directory whose owner is gone, once it has checked that the directory is
one of ours: a real directory (not a link), of this user, mode 0700, with a readable owner
record.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

PREFIX = "atomctl-tui-"
OWNER_FILE = "owner"
FALLBACK_BASE = "/tmp"
MAX_BASE_CHARS = 60  # + "/atomctl-tui-XXXXXXXX/h99-fwd99.sock" or the ControlPath's bind name
_LITERAL_PATH = re.compile(r"^/[A-Za-z0-9/._+-]*$")


def private_base() -> str:
    """Where private directories go: the temporary directory if ssh reads its path as it is."""
    base = tempfile.gettempdir()
    if _LITERAL_PATH.match(base) and len(base) <= MAX_BASE_CHARS:
        return base
    return FALLBACK_BASE


def process_start_time(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks after boot), None when it does not run."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as file:
            fields = file.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # After the command name: state is field 3 of stat(5), starttime field 22.
    return fields[19] if len(fields) > 19 else None


def make_private_dir() -> Path:
    """A new private directory, recording this process as its owner; stale ones removed."""
    base = private_base()
    remove_stale_dirs(base)
    path = Path(tempfile.mkdtemp(prefix=PREFIX, dir=base))
    pid = os.getpid()
    (path / OWNER_FILE).write_text(f"{pid} {process_start_time(pid)}\n", encoding="ascii")
    return path


def remove_stale_dirs(base: str) -> list[Path]:
    """Remove the private directories under ``base`` whose owner no longer runs; the removed."""
    removed = []
    with contextlib.suppress(OSError), os.scandir(base) as entries:
        for entry in entries:
            if entry.name.startswith(PREFIX) and _owner_gone(Path(entry.path)):
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(Path(entry.path))
    return removed


def _owner_gone(path: Path) -> bool:
    try:
        info = path.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
            return False
        if stat.S_IMODE(info.st_mode) != 0o700:
            return False
        pid_text, started = (path / OWNER_FILE).read_text(encoding="ascii").split()
    except (OSError, ValueError, UnicodeError):
        return False  # not ours, or just being made: left alone
    if not (pid_text.isdigit() and started.isdigit()):
        return False
    return process_start_time(int(pid_text)) != started

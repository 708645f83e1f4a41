"""The ssh processes of one console, found in /proc by the private directory they name."""

from __future__ import annotations

import os
from pathlib import Path


def _argv(pid: str) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # ended meanwhile
        return []
    return raw.decode(errors="replace").split("\0")


def ssh_processes(private_dir: Path) -> list[int]:
    """Every live ssh (master or client) whose ControlPath is in ``private_dir``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        argv = _argv(pid)
        ours = any(item.startswith(f"ControlPath={private_dir}/") for item in argv)
        if ours and os.path.basename(argv[0]) == "ssh" and _state(pid) not in ("Z", ""):
            found.append(int(pid))
    return found


def ssh_masters(private_dir: Path) -> list[int]:
    return [pid for pid in ssh_processes(private_dir) if "ControlMaster=yes" in _argv(str(pid))]


def _state(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""

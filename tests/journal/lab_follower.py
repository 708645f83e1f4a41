"""A JournalFollower running against a lab inside an async test, and the processes under it."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

from atomctl_tui.journal.entries import JournalEntry
from atomctl_tui.journal.follower import FollowerStatus, JournalFollower
from atomctl_tui.journal.scope import JournalSettings
from atomctl_tui.lab.state import LabState


class Recorder:
    """Collects what the follower hands over."""

    def __init__(self) -> None:
        self.entries: list[JournalEntry] = []
        self.statuses: list[FollowerStatus] = []

    def messages(self, identifier: str | None = None) -> list[str]:
        return [e.message for e in self.entries if identifier in (None, e.identifier)]


@contextlib.asynccontextmanager
async def running_follower(
    lab: LabState, settings: JournalSettings
) -> AsyncIterator[tuple[JournalFollower, Recorder]]:
    recorder = Recorder()
    follower = JournalFollower(
        lab.host(), settings, recorder.entries.extend, recorder.statuses.append
    )
    task = asyncio.ensure_future(follower.run())
    try:
        yield follower, recorder
    finally:
        follower.stop()
        await asyncio.wait_for(task, 30)


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def command_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except FileNotFoundError:
        return ""


def journalctl_under(follower: JournalFollower) -> int | None:
    """The journalctl process the follower started: the process itself, or the child of the
    run prefix (nsenter forks into the lab's PID namespace)."""
    process = follower.process
    if process is None:
        return None
    if command_name(process.pid) == "journalctl":
        return process.pid
    return next((c for c in children(process.pid) if command_name(c) == "journalctl"), None)


def is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def kill(pid: int, sig: int) -> None:
    os.kill(pid, sig)

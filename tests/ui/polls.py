"""Watching the console's Gearman polls from a test, as one more listener of its watch."""

from __future__ import annotations

from atomctl_tui.gearman.snapshot import ServerSnapshot
from atomctl_tui.gearman.watch import JobServersWatch


class PollRecorder:
    """Every poll the watch hands its listeners (called on the watch's thread)."""

    def __init__(self, watch: JobServersWatch) -> None:
        self.polls: list[tuple[ServerSnapshot, ...]] = []
        self.unsubscribe = watch.subscribe(self.polls.append)

    @property
    def count(self) -> int:
        return len(self.polls)

"""One job server's lines in the Job server pane: repainted only when they change, and the
screen laid out anew only when they may take another number of rows."""

from __future__ import annotations

import time

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

from atomctl_tui.gearman.snapshot import ServerSnapshot

DAY_SECONDS = 86400


class ServerBlock(Static):
    def __init__(self, snapshot: ServerSnapshot, round_trip: str) -> None:
        self.shown = shown_key(snapshot, round_trip)
        self.text = server_text(snapshot, round_trip)
        super().__init__(self.text)

    def show(self, snapshot: ServerSnapshot, round_trip: str) -> None:
        """Its lines are made only when what they show changed (a fleet's quiet second makes
        none), and repainted only when they did."""
        shown = shown_key(snapshot, round_trip)
        if shown == self.shown:
            return
        self.shown = shown
        text = server_text(snapshot, round_trip)
        if text == self.text:
            return
        # Laying out the whole screen for a new digit would cost more than the rest of a poll.
        layout = may_change_height(self.text, text, self.size.width)
        self.text = text
        self.update(text, layout=layout)


def server_text(snapshot: ServerSnapshot, round_trip: str) -> Text:
    """Five lines per server (what fits the pane at 80x24); ``round_trip`` as shown."""
    text = Text()
    if snapshot.reachable:
        # gearmand's own start, read on its host; "?" where no host the console reaches runs it.
        started = snapshot.started
        up_since = "?" if started is None else moment(started, snapshot.polled_at)
        text.append("● ", style="bold green")
        text.append(f"{snapshot.server}\n", style="bold")
        text.append(f"  up since {up_since}\n")
        text.append(f"  gearmand {snapshot.version} pid {snapshot.pid}\n")
        workers = len(snapshot.worker_connections)
        text.append(f"  {workers} worker{'s' if workers != 1 else ''} · rtt {round_trip}\n")
        text.append(
            f"  {snapshot.total} queued · {snapshot.running} run · {snapshot.waiting} wait\n"
        )
        if snapshot.malformed:
            text.append(f"  {snapshot.malformed} unreadable lines skipped\n", "yellow")
        if snapshot.functions_left_out:
            text.append(
                f"  {snapshot.functions_left_out:,} least busy functions not listed\n", "yellow"
            )
    else:
        text.append("✖ ", style="bold red")
        text.append(f"{snapshot.server}\n", style="bold")
        since = moment(snapshot.since, snapshot.polled_at)
        text.append(f"  UNREACHABLE since {since}\n", style="bold red")
        text.append(f"  {snapshot.error}\n")
    text.rstrip()
    return text


def shown_key(snapshot: ServerSnapshot, round_trip: str) -> tuple[object, ...]:
    """What ``server_text`` shows of ``snapshot``, cheaper to compare than its text: every
    field but the poll's time and round trip, the round trip as shown, and whether each
    moment is within a day."""
    now = snapshot.polled_at
    return (
        snapshot.server,
        snapshot.reachable,
        snapshot.since,
        snapshot.error,
        snapshot.version,
        snapshot.pid,
        snapshot.started,
        snapshot.connections,
        snapshot.total,
        snapshot.running,
        snapshot.waiting,
        snapshot.malformed,
        snapshot.functions_left_out,
        round_trip,
        now - snapshot.since < DAY_SECONDS,
        snapshot.started is not None and now - snapshot.started < DAY_SECONDS,
    )


def may_change_height(old: Text, new: Text, width: int) -> bool:
    """Whether ``new`` may wrap into another number of rows than ``old`` at ``width``: lines
    added or removed, or a changed line that is (or was) too long to fit on one row."""
    old_lines, new_lines = old.plain.split("\n"), new.plain.split("\n")
    if len(old_lines) != len(new_lines) or width <= 0:
        return True
    return any(
        before != after and max(cell_len(before), cell_len(after)) >= width
        for before, after in zip(old_lines, new_lines, strict=True)
    )


def moment(when: float, now: float) -> str:
    """A time of day, with the date once it is not within the last day."""
    shape = "%H:%M:%S" if now - when < DAY_SECONDS else "%Y-%m-%d %H:%M"
    return time.strftime(shape, time.localtime(when))

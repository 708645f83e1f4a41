"""The journal watch against a real lab journal: the first listener starts the follower, the
last one ends it and its journalctl, and a listener that falls behind holds the follower back
without losing a line."""

from __future__ import annotations

import threading

import pytest

from atomctl_tui.journal.follower import FollowerStatus
from atomctl_tui.journal.scope import JournalSettings
from atomctl_tui.journal.watch import (
    MAX_BATCHES_IN_FLIGHT,
    STARTING,
    JournalBatch,
    JournalEvent,
    JournalWatch,
)
from tests.journal.lab_follower import is_running, journalctl_under
from tests.journal.writing import write_stream
from tests.labs import unique_name
from tests.waiting import wait_until

pytestmark = pytest.mark.lab

FOLLOWING = FollowerStatus(True, "following")


def tag_only(tag: str) -> JournalSettings:
    return JournalSettings(worker_units=(), other_units=(), identifiers=(tag,), backlog=0)


class Listener:
    """What one listener got. It takes each batch at once, or holds them until ``release()``."""

    def __init__(self, *, holding: bool = False) -> None:
        self.statuses: list[FollowerStatus] = []
        self.messages: list[str] = []
        self.most_held = 0
        self._holding = holding
        self._held: list[JournalBatch] = []
        self._lock = threading.Lock()  # the watch's thread and the test's

    def __call__(self, event: JournalEvent) -> None:
        if isinstance(event, FollowerStatus):
            self.statuses.append(event)
            return
        self.messages.extend(entry.message for entry in event.entries)
        with self._lock:
            if not self._holding:
                event.taken()
                return
            self._held.append(event)
            self.most_held = max(self.most_held, len(self._held))

    def held(self) -> int:
        with self._lock:
            return len(self._held)

    def release(self) -> None:
        with self._lock:
            self._holding = False
            held, self._held = self._held, []
        for batch in held:
            batch.taken()


def test_the_first_listener_starts_it_and_the_last_one_ends_it(lab):
    tag = unique_name("watch")
    watch = JournalWatch(lab.host(), tag_only(tag))
    assert watch.follower.runs == 0  # nobody listens: no journalctl
    first, second = Listener(), Listener()
    unsubscribe_first = watch.subscribe(first)
    assert first.statuses == [STARTING]
    wait_until(lambda: first.statuses[-1] == FOLLOWING, what="journalctl following")
    unsubscribe_second = watch.subscribe(second)
    assert second.statuses == [FOLLOWING]  # the status as it is, first
    write_stream(lab, tag, [b"to both"])
    wait_until(lambda: "to both" in first.messages and "to both" in second.messages)

    journalctl = journalctl_under(watch.follower)
    assert journalctl is not None
    unsubscribe_first()
    write_stream(lab, tag, [b"to the second"])
    wait_until(lambda: "to the second" in second.messages, what="the line after")
    assert first.messages == ["to both"] and is_running(journalctl)

    unsubscribe_second()  # the last listener: the follower stops, its journalctl ends
    assert watch.follower.process is None and watch.follower.runs == 1
    wait_until(lambda: not is_running(journalctl), what="journalctl ended")
    assert second.messages == ["to both", "to the second"]


def test_a_listener_that_comes_late_gets_the_lines_handed_over_before_it(lab):
    # The workers' activity listens first and the journal pane a moment later: the backlog
    # the watch handed over meanwhile must reach the pane too, once.
    tag = unique_name("watch-late")
    write_stream(lab, tag, [b"old one", b"old two"])
    settings = JournalSettings(worker_units=(), other_units=(), identifiers=(tag,), backlog=10)
    watch = JournalWatch(lab.host(), settings)
    early, late = Listener(), Listener()
    unsubscribe_early = watch.subscribe(early)
    try:
        wait_until(lambda: early.messages == ["old one", "old two"], what="the backlog")
        unsubscribe_late = watch.subscribe(late)
        assert late.messages == ["old one", "old two"]
        write_stream(lab, tag, [b"new"])
        wait_until(lambda: late.messages[-1:] == ["new"], what="the next line")
        assert late.messages == ["old one", "old two", "new"]
        unsubscribe_late()
    finally:
        unsubscribe_early()


def test_started_before_anyone_listens_it_loses_and_repeats_no_line(lab):
    # The console starts following while Textual lays out its screen; the pane listens later.
    tag = unique_name("watch-early")
    write_stream(lab, tag, [b"old one", b"old two"])
    settings = JournalSettings(worker_units=(), other_units=(), identifiers=(tag,), backlog=10)
    watch = JournalWatch(lab.host(), settings)
    watch.start()
    try:
        wait_until(lambda: watch.follower.process is not None, what="the backlog read")
        listener = Listener()
        unsubscribe = watch.subscribe(listener)
        wait_until(lambda: listener.statuses[-1] == FOLLOWING, what="following")
        write_stream(lab, tag, [b"new"])
        wait_until(lambda: listener.messages[-1:] == ["new"], what="the next line")
        assert listener.messages == ["old one", "old two", "new"]
        unsubscribe()
    finally:
        watch.close()
    assert watch.follower.process is None


def test_a_unit_included_from_another_thread_restarts_journalctl_with_it(lab):
    tag = unique_name("watch-unit")
    unit = f"{tag}.service"
    watch = JournalWatch(lab.host(), tag_only(tag))
    listener = Listener()
    unsubscribe = watch.subscribe(listener)
    try:
        wait_until(lambda: watch.follower.runs == 1, what="journalctl following")
        watch.include_unit(unit)
        wait_until(lambda: watch.follower.runs == 2, what="journalctl with the unit")
        assert unit in watch.scope_units()
    finally:
        unsubscribe()


def test_a_listener_that_falls_behind_holds_the_follower_back_and_loses_nothing(lab):
    tag = unique_name("behind")
    count = 5000
    watch = JournalWatch(lab.host(), tag_only(tag))
    slow = Listener(holding=True)
    unsubscribe = watch.subscribe(slow)
    try:
        wait_until(lambda: slow.statuses[-1] == FOLLOWING, what="journalctl following")
        write_stream(lab, tag, [f"line {i}".encode() for i in range(1, count + 1)])
        wait_until(lambda: slow.held() == MAX_BATCHES_IN_FLIGHT, what="the batches in flight")
        slow.release()
        wait_until(lambda: len(slow.messages) >= count, what="every line")
    finally:
        unsubscribe()
    assert slow.most_held == MAX_BATCHES_IN_FLIGHT  # never a batch more while they were held
    assert slow.messages == [f"line {i}" for i in range(1, count + 1)]

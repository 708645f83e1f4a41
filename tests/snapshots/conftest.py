"""Fixtures of the snapshot tests: a frozen wall clock in UTC, and a fake gearmand's socket."""

from __future__ import annotations

import functools
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from atomctl_tui.gearman.trend import WaitingHistory
from atomctl_tui.ui.queues import pane as queues_pane
from tests.fakes import FakeGearmand, load_moment


class FrozenClock:
    """The wall clock (``time.time``) stopped at a moment, in UTC: what the console draws
    from it (uptimes, "since" times, journal times) is the same on every run and machine.
    The monotonic clocks (Textual's timers, the tests' waits) run on, but for the Queues
    pane's trend, whose 30 s buckets would otherwise split two polls now and then."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch
        monkeypatch.setenv("TZ", "UTC")
        time.tzset()
        monkeypatch.setattr(
            queues_pane, "WaitingHistory", functools.partial(WaitingHistory, clock=lambda: 0.0)
        )

    def freeze(self, at: float) -> None:
        self._monkeypatch.setattr(time, "time", lambda: at)


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FrozenClock]:
    yield FrozenClock(monkeypatch)
    monkeypatch.undo()
    time.tzset()  # the machine's own zone again


def moment_reply(moment: str, command: str) -> bytes:
    """A text reply of the moment's (first) server, as gearmand sent it."""
    (replies, *_) = load_moment(moment).replies.values()
    return "".join(f"{line}\n" for line in replies[command]).encode()


@pytest.fixture
def fake_gearmand() -> Iterator[FakeGearmand]:
    """The job server of the moment ``busy-later`` (8 arFindingAidJob jobs, 2 running), on a
    Unix socket (a short path: sun_path is 108 bytes): its `status` and `prioritystatus`, and
    `show jobs` and GET_STATUS as captured in a lab in the same state, one job cancelled
    (tests/fixtures/gearman/README.md)."""
    directory = Path(tempfile.mkdtemp(prefix="atomctl-gm-"))
    try:
        with FakeGearmand(
            directory / "gearmand.sock",
            {
                "show jobs": "gearman/show-jobs-2-running-1-cancelled.txt",
                "status": moment_reply("busy-later", "status"),
                "prioritystatus": moment_reply("busy-later", "prioritystatus"),
            },
            statuses="gearman/get-status-2-running-1-cancelled.bin",
        ) as server:
            yield server
    finally:
        shutil.rmtree(directory, ignore_errors=True)

"""Waiting inside a Pilot test: like tests.waiting.wait_until, but the app keeps running."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from textual.pilot import Pilot

T = TypeVar("T")


async def pilot_wait_until(
    pilot: Pilot, probe: Callable[[], T], *, timeout: float = 20.0, what: str = ""
) -> T:
    """Call ``probe`` until it returns something truthy, letting the app run in between."""
    deadline = time.monotonic() + timeout
    last = probe()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or probe}")
        await pilot.pause(0.05)
        last = probe()
    return last

"""An action is sent on the bus connection that was up when it was asked for, or not at all.

What a remote host's systemd process does with each request (``bus_process``): pinned to the
connection up when it arrived, refused when there was none or when that one was lost and
made again since — never kept in the bus's queue to run after a reconnection. Against the
shared lab's real systemd, reached through systemd-stdio-bridge as a remote host's is.
"""

from __future__ import annotations

import os
import signal

import pytest

from atomctl_tui.lab.state import LabState
from atomctl_tui.remote.hosts import Host
from atomctl_tui.systemd.actions import NOT_CONNECTED, Action, ConnectionGuard, UnitActions
from atomctl_tui.systemd.units import UnitWatch
from tests.lab_units import BOOT_WORKERS, main_pid, restore_workers
from tests.labs import unit_property
from tests.ui.test_workers_trouble import bridge_address, bridges_started_by_this_process
from tests.waiting import wait_until

pytestmark = pytest.mark.lab

W1, W2 = BOOT_WORKERS
PATTERNS = ["atom-worker*.service"]


def started(lab: LabState, unit: str) -> tuple[int, str]:
    return main_pid(lab, unit), unit_property(lab, unit, "InvocationID")


def test_an_action_pinned_to_a_lost_connection_is_refused_and_never_sent(lab):
    restore_workers(lab)
    before = started(lab, W1)
    host = Host(
        label="lab-via-bridge", run_prefix=lab.host().run_prefix, dbus_address=bridge_address(lab)
    )
    watch = UnitWatch(host, PATTERNS)
    guard = ConnectionGuard()
    never_connected = guard.pin()  # asked before any connection
    unsubscribe = watch.subscribe(guard.take)
    try:
        first = wait_until(lambda: guard.pin().connection, what="the first connection")
        pinned = guard.pin()
        assert pinned.connection == first

        refused = UnitActions(watch, PATTERNS, pinned=never_connected).perform(Action.RESTART, [W1])
        assert [(o.unit, o.result) for o in refused] == [(W1, NOT_CONNECTED)]
        assert refused[0].message.startswith(f"restart {W1}: lab-via-bridge is not connected")

        bridges = bridges_started_by_this_process()
        assert len(bridges) == 1, bridges
        os.kill(bridges[0], signal.SIGTERM)  # the bus this test started loses its far end
        wait_until(lambda: guard.pin().connection not in (None, first), what="a second connection")
        late = UnitActions(watch, PATTERNS, pinned=pinned).perform(Action.RESTART, [W1])
        assert [(o.unit, o.result) for o in late] == [(W1, NOT_CONNECTED)]
        assert "lost, and made again since" in late[0].message

        # The connection up now carries an action as ever; after it (one queue, in order)
        # anything kept from before would have been sent.
        done = UnitActions(watch, PATTERNS, pinned=guard.pin()).perform(Action.RESET_FAILED, [W2])
        assert [(o.unit, o.result) for o in done] == [(W2, "done")]
    finally:
        unsubscribe()
    assert started(lab, W1) == before


def test_an_action_while_systemd_cannot_be_reached_is_refused_at_once():
    """The bus keeps no work while it has no connection: kept, it would run unseen whenever
    the connection came back."""
    host = Host(label="nowhere", dbus_address=b"unix:path=/nonexistent/atomctl/bus")
    watch = UnitWatch(host, PATTERNS)
    statuses: list[object] = []
    unsubscribe = watch.subscribe(lambda update: statuses.append(update.status))
    try:
        wait_until(
            lambda: any(s is not None and "cannot reach" in s.detail for s in statuses),
            what="the first failed connection",
        )
        (outcome,) = watch.actions(PATTERNS).perform(Action.RESTART, [W1])
        assert not outcome.ok
        assert "nothing was sent" in outcome.message, outcome
    finally:
        unsubscribe()

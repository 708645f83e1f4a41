"""A unit's state as table text: failed never reads like inactive, and sizes stay short."""

from __future__ import annotations

from atomctl_tui.systemd.unit_text import (
    cpu_text,
    duration_text,
    memory_text,
    natural_key,
    result_text,
    state_kind,
    state_text,
    uptime_text,
)
from atomctl_tui.systemd.units import UnitState, with_properties

WORKER = "atom-worker@1.service"


def test_states_and_their_colours():
    running = UnitState(WORKER, "loaded", "active", "running")
    assert (state_text(running), state_kind(running)) == ("active", "active")
    failed = UnitState(WORKER, "loaded", "failed", "failed", result="start-limit-hit")
    assert (state_text(failed), state_kind(failed)) == ("failed", "failed")
    stopped = UnitState(WORKER, "loaded", "inactive", "dead")
    assert (state_text(stopped), state_kind(stopped)) == ("inactive", "inactive")
    waiting = UnitState(WORKER, "loaded", "activating", "auto-restart")
    assert (state_text(waiting), state_kind(waiting)) == ("activating (auto-restart)", "changing")
    installed_only = UnitState("atom-worker.service", unit_file_state="disabled")
    assert (state_text(installed_only), state_kind(installed_only)) == ("inactive", "inactive")
    missing = UnitState(WORKER, "not-found", "inactive", "dead")
    assert (state_text(missing), state_kind(missing)) == ("not-found", "failed")


def test_result_shows_how_the_last_run_ended():
    assert result_text(UnitState(WORKER, result="success")) == ""
    failed = UnitState(WORKER, active_state="failed", result="exit-code", exit_status=111)
    assert result_text(failed) == "exit-code, status 111"
    limit = UnitState(WORKER, active_state="failed", result="start-limit-hit")
    assert result_text(limit) == "start-limit-hit"


def test_durations_keep_two_units():
    assert [duration_text(s) for s in (0, 59, 61, 3599, 3600 * 2 + 300, 86400 * 3 + 3600 * 4)] == [
        "0s",
        "59s",
        "1m01s",
        "59m59s",
        "2h05m",
        "3d04h",
    ]
    since = UnitState(WORKER, active_state="active", active_since_us=1_000_000_000_000_000)
    assert uptime_text(since, now=1_000_000_000 + 42) == "42s"
    # Past a minute, minutes: the Workers rows do not change every second.
    assert uptime_text(since, now=1_000_000_000 + 90) == "1m"
    assert uptime_text(since, now=1_000_000_000 + 3600 * 2 + 300) == "2h05m"
    assert uptime_text(UnitState(WORKER, active_state="inactive"), now=0) == ""


def test_memory_and_cpu_unknown_is_a_dash():
    # systemd reports 2**64-1 when accounting is off (as in the lab); it arrives as None.
    unset = with_properties(
        UnitState(WORKER),
        {b"MemoryCurrent": 2**64 - 1, b"CPUUsageNSec": 2**64 - 1},
        b"org.freedesktop.systemd1.Service",
    )
    assert (memory_text(unset), cpu_text(unset)) == ("—", "—")
    known = UnitState(WORKER, memory_bytes=18 * 1024 * 1024 + 300_000, cpu_ns=1_500_000_000)
    assert (memory_text(known), cpu_text(known)) == ("18.3M", "1.5s")


def test_instances_sort_by_number():
    names = ["atom-worker@10", "atom-worker@2", "atom-worker", "atom-worker@1"]
    assert sorted(names, key=natural_key) == [
        "atom-worker",
        "atom-worker@1",
        "atom-worker@2",
        "atom-worker@10",
    ]


def test_properties_from_a_signal_update_only_what_they_carry():
    state = UnitState(WORKER, "loaded", "active", "running", main_pid=87, unit_file_state="enabled")
    changed = with_properties(
        state,
        {b"ActiveState": b"deactivating", b"SubState": b"stop-sigterm", b"FreezerState": b"x"},
        b"org.freedesktop.systemd1.Unit",
    )
    assert (changed.active_state, changed.sub_state) == ("deactivating", "stop-sigterm")
    assert (changed.main_pid, changed.unit_file_state) == (87, "enabled")

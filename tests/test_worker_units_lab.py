"""The unit watch against the shared lab's systemd: pushed updates, unit files, no load loops."""

from __future__ import annotations

import threading

import pytest

from atomctl_tui.atom import JOB_SERVER_UNIT, WORKER_UNIT_PATTERNS
from atomctl_tui.lab.state import LabState
from atomctl_tui.systemd.actions import Action, UnitActions
from atomctl_tui.systemd.units import (
    NOT_LOADED,
    UnitsUpdate,
    UnitWatch,
)
from tests.lab_units import BOOT_WORKERS, main_pid, restore_workers
from tests.labs import inside
from tests.waiting import wait_until

pytestmark = pytest.mark.lab

W1, W2 = BOOT_WORKERS


class Recorder:
    def __init__(self) -> None:
        self.updates: list[UnitsUpdate] = []
        self.lock = threading.Lock()

    def __call__(self, update: UnitsUpdate) -> None:
        with self.lock:
            self.updates.append(update)

    def count(self) -> int:
        with self.lock:
            return len(self.updates)


@pytest.fixture
def watch(lab: LabState):
    restore_workers(lab)
    watch = UnitWatch(lab.host(), [*WORKER_UNIT_PATTERNS, JOB_SERVER_UNIT])
    recorder = Recorder()
    unsubscribe = watch.subscribe(recorder)
    watch.recorder = recorder
    wait_until(
        lambda: watch.snapshot().get(W1) and watch.snapshot()[W1].main_pid,
        what="the first listing with details",
    )
    yield watch
    unsubscribe()
    restore_workers(lab)


def test_lists_loaded_units_installed_files_and_templates(watch, lab):
    units = watch.snapshot()
    assert units[W1].main_pid == main_pid(lab, W1)
    assert (units[W1].active_state, units[W1].unit_file_state) == ("active", "enabled")
    assert units["atom-worker.service"].load_state == NOT_LOADED
    assert units["atom-worker.service"].unit_file_state == "disabled"
    assert units[JOB_SERVER_UNIT].main_pid == main_pid(lab, JOB_SERVER_UNIT)
    assert watch.templates() == ("atom-worker@.service",)
    assert "atom-worker@.service" not in units


def test_an_outside_disable_and_enable_show_up_in_the_unit_file_state(watch, lab):
    inside(lab, "systemctl", "disable", W2)
    wait_until(lambda: watch.snapshot()[W2].unit_file_state == "disabled", what="disabled")
    inside(lab, "systemctl", "enable", W2)
    wait_until(lambda: watch.snapshot()[W2].unit_file_state == "enabled", what="enabled")


def test_an_instance_started_from_outside_appears_and_goes(watch, lab):
    unit = "atom-worker@5.service"
    inside(lab, "systemctl", "start", unit)
    wait_until(
        lambda: (s := watch.snapshot().get(unit)) and s.main_pid == main_pid(lab, unit),
        what=f"{unit} running",
    )
    inside(lab, "systemctl", "stop", unit)  # not enabled: systemd unloads it
    wait_until(lambda: unit not in watch.snapshot(), what=f"{unit} gone")


def test_a_daemon_reload_loses_no_unit(watch, lab):
    # A reload announces every unit as removed and then as new again.
    before = {name: (s.active_state, s.main_pid) for name, s in watch.snapshot().items()}
    settled = watch.recorder.count()
    inside(lab, "systemctl", "daemon-reload")
    wait_until(lambda: watch.recorder.count() > settled, what="the reload noticed")
    inside(lab, "systemctl", "restart", W1)  # and the watch still follows
    wait_until(lambda: watch.snapshot()[W1].main_pid == main_pid(lab, W1), what="the restart")
    after = {name: (s.active_state, s.main_pid) for name, s in watch.snapshot().items()}
    del before[W1], after[W1]
    assert after == before


def test_acting_on_a_unit_that_does_not_exist_says_so(watch):
    actions = UnitActions(watch, WORKER_UNIT_PATTERNS, user="tester")
    [outcome] = actions.perform(Action.START, ["no-such-worker.service"])
    assert outcome.result == "no-such-unit"
    assert outcome.message == (
        f"start no-such-worker.service: no such unit on {watch.host.label}; nothing changed."
    )

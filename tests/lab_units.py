"""The shared lab's worker units, read with systemctl inside it and put back as booted."""

from __future__ import annotations

from atomctl_tui.lab.state import LabState
from tests.labs import inside, unit_property

BOOT_WORKERS = ("atom-worker@1.service", "atom-worker@2.service")


def main_pid(lab: LabState, unit: str) -> int:
    return int(unit_property(lab, unit, "MainPID"))


def is_enabled(lab: LabState, unit: str) -> str:
    return inside(lab, "systemctl", "is-enabled", unit, check=False).strip()


def restore_workers(lab: LabState) -> None:
    """atom-worker@1 and @2 enabled and running, no other worker unit, start counters reset.

    The units keep AtoM's StartLimitBurst=3 per 24 h, which counts every start: reset-failed
    also resets that counter, so the next test can restart them again.
    """
    wants = lab.paths.unit_dir / "multi-user.target.wants"
    extra_enabled = sorted(
        path.name for path in wants.glob("atom-worker*.service") if path.name not in BOOT_WORKERS
    )
    if extra_enabled:
        inside(lab, "systemctl", "disable", *extra_enabled)
    loaded = inside(
        lab, "systemctl", "list-units", "--all", "--plain", "--no-legend", "atom-worker*"
    ).split("\n")
    extra_loaded = sorted({line.split()[0] for line in loaded if line.strip()} - set(BOOT_WORKERS))
    if extra_loaded:
        inside(lab, "systemctl", "stop", *extra_loaded)
    inside(lab, "systemctl", "enable", *BOOT_WORKERS)
    inside(lab, "systemctl", "reset-failed", "atom-worker*", check=False)
    inside(lab, "systemctl", "start", *BOOT_WORKERS)

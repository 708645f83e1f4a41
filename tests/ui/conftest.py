"""Fixtures of the UI tests: a worker whose AtoM root names another job server than the
lab's — the "wrong server in gearman.yml" fault: atom-worker@7 registered with a second
gearmand on another port."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from atomctl_tui.atom import DEFAULT_WORKER_TYPES, gearman_yml_text
from atomctl_tui.lab import preflight
from atomctl_tui.lab.state import LabState
from tests.lab_units import main_pid, restore_workers
from tests.labs import inside

ELSEWHERE_UNIT = "atomctl-test-gearmand-elsewhere"
MISPOINTED = "atom-worker@7.service"


@dataclass(frozen=True)
class Mispointed:
    pid: int  # atom-worker@7's main pid
    server: str  # the job server it registers with


@pytest.fixture
def mispointed_worker(lab: LabState) -> Iterator[Mispointed]:
    port = preflight.free_port(14730, {lab.gearman_port, lab.ssh_port})
    inside(lab, "systemd-run", f"--unit={ELSEWHERE_UNIT}", "/usr/sbin/gearmand",
           "--listen=127.0.0.1", f"--port={port}", "--log-file=none")  # fmt: skip
    elsewhere = lab.paths.root / "atom-elsewhere"
    (elsewhere / "config").mkdir(parents=True)
    (elsewhere / "config/gearman.yml").write_text(
        gearman_yml_text({"default": f"127.0.0.1:{port}"}, DEFAULT_WORKER_TYPES)
    )
    shutil.copy2(lab.paths.atom_root / "symfony", elsewhere / "symfony")
    for path in (elsewhere, elsewhere / "config"):
        path.chmod(0o755)
    dropin = lab.paths.unit_dir / f"{MISPOINTED}.d"
    dropin.mkdir()
    (dropin / "elsewhere.conf").write_text(f"[Service]\nWorkingDirectory={elsewhere}\n")
    inside(lab, "systemctl", "daemon-reload")
    inside(lab, "systemctl", "start", MISPOINTED)
    try:
        yield Mispointed(main_pid(lab, MISPOINTED), f"127.0.0.1:{port}")
    finally:
        inside(lab, "systemctl", "stop", MISPOINTED, ELSEWHERE_UNIT, check=False)
        shutil.rmtree(dropin)
        shutil.rmtree(elsewhere)
        inside(lab, "systemctl", "daemon-reload")
        restore_workers(lab)

"""Two labs as two remote hosts, and the console opened on them as an admin would open it.

Lab A runs gearmand and two workers. Lab B runs only workers: its own gearmand is stopped and
masked, and its gearman.yml names lab A's (``127.0.0.1:<A's port>`` — the labs share the
machine's network, so that address reaches A's gearmand from inside B too).

Each lab's AtoM root lives under its own directory; in each, ``/run/atomctl-atom`` (on the
lab's private /run) links to it, so one ``--atom-root`` fits both hosts, as one path fits
every host of a real AtoM cluster.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from atomctl_tui.atom import DEFAULT_WORKER_TYPES, JOB_SERVER_UNIT, gearman_yml_text
from atomctl_tui.cli import build_parser, settings_from
from atomctl_tui.fleet import Fleet, open_fleet
from atomctl_tui.lab.machine import gearman_admin
from atomctl_tui.lab.ssh import client_config_path
from atomctl_tui.lab.state import LabState
from atomctl_tui.ssh_link import DEFAULT_BRIDGE
from atomctl_tui.ui.app import AtomctlApp
from tests.lab_units import BOOT_WORKERS
from tests.labs import inside
from tests.waiting import wait_until

SHARED_ATOM_ROOT = "/run/atomctl-atom"
SSHD_UNIT = "atomctl-lab-sshd.service"
NO_CONFIG = {"XDG_CONFIG_HOME": "/nonexistent/atomctl-tui-tests"}


@dataclass(frozen=True)
class TwoLabs:
    a: LabState
    b: LabState

    def host_args(self) -> list[str]:
        return [f"root@127.0.0.1:{self.a.ssh_port}", f"root@127.0.0.1:{self.b.ssh_port}"]

    @property
    def label_a(self) -> str:
        return f"127.0.0.1:{self.a.ssh_port}"

    @property
    def label_b(self) -> str:
        return f"127.0.0.1:{self.b.ssh_port}"


def link_atom_root(lab: LabState) -> None:
    inside(lab, "ln", "-sfn", str(lab.paths.atom_root), SHARED_ATOM_ROOT)


def point_workers_at(b: LabState, a: LabState) -> None:
    """B without a job server of its own, its workers registered with A's."""
    inside(b, "systemctl", "mask", "--now", JOB_SERVER_UNIT)
    (b.paths.atom_root / "config" / "gearman.yml").write_text(
        gearman_yml_text({"default": f"127.0.0.1:{a.gearman_port}"}, DEFAULT_WORKER_TYPES)
    )
    inside(b, "systemctl", "restart", *BOOT_WORKERS)
    reset_start_limits(b)
    wait_until(
        lambda: (
            len([line for line in gearman_admin(a.gearman_port, "workers") if " : " in line])
            >= 2 * len(BOOT_WORKERS)
        ),
        timeout=30,
        what="both labs' workers registered with lab A's gearmand",
    )


def reset_start_limits(lab: LabState) -> None:
    """The units allow 3 starts a day; tests restart them, so the count starts afresh."""
    inside(lab, "systemctl", "reset-failed", "atom-worker*", check=False)


def console_args(labs: TwoLabs, *extra: str) -> list[str]:
    """The command line an admin would type (without the program name)."""
    hosts = [item for host in labs.host_args() for item in ("--host", host)]
    return [*hosts, "--ssh-config", str(client_config_path()), "--atom-root", SHARED_ATOM_ROOT,
            "--interval", "0.3", *extra]  # fmt: skip


@contextlib.contextmanager
def fleet_console(argv: list[str], *, bridge: str = DEFAULT_BRIDGE) -> Iterator[AtomctlApp]:
    """The console for ``argv``, its SSH connections opened (batch mode: no terminal here)
    and closed afterwards, as ``atomctl-tui`` does."""
    args = build_parser().parse_args(argv)
    settings = settings_from(args, environ=NO_CONFIG)
    patterns = [*settings.unit_patterns, JOB_SERVER_UNIT]
    fleet: Fleet
    fleet, fleet_settings = open_fleet(settings, patterns, interactive=False, bridge=bridge)
    try:
        yield AtomctlApp(fleet=fleet, settings=fleet_settings)
    finally:
        fleet.close()

"""Two labs as two remote hosts, set up as the fleet tests, benchmarks and screenshots need.

Lab A runs gearmand and its workers. Lab B runs only workers: its own gearmand is stopped and
masked, and its gearman.yml names lab A's (``127.0.0.1:<A's port>`` — the labs share the
machine's network, so that address reaches A's gearmand from inside B too).

Each lab's AtoM root lives under its own directory; in each, ``/run/atomctl-atom`` (on the
lab's private /run) links to it, so one ``--atom-root`` fits both hosts, as one path fits
every host of a real AtoM cluster.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass

from atomctl_tui.atom import DEFAULT_WORKER_TYPES, JOB_SERVER_UNIT, gearman_yml_text
from atomctl_tui.lab.machine import gearman_admin
from atomctl_tui.lab.ssh import client_config_path
from atomctl_tui.lab.state import LabError, LabState

SHARED_ATOM_ROOT = "/run/atomctl-atom"
SSHD_UNIT = "atomctl-lab-sshd.service"
NO_CONFIG = {"XDG_CONFIG_HOME": "/nonexistent/atomctl-tui-tests"}
REGISTER_TIMEOUT = 30.0


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


def boot_workers(lab: LabState) -> tuple[str, ...]:
    """The worker units the lab booted with: atom-worker@1 … @N."""
    return tuple(f"atom-worker@{index}.service" for index in range(1, lab.workers + 1))


def run_inside(lab: LabState, *command: str, check: bool = True) -> str:
    """Run a command inside the lab; its stdout."""
    result = subprocess.run(
        lab.nsenter(*command), capture_output=True, text=True, timeout=60, check=False
    )
    if check and result.returncode != 0:
        raise LabError(f"{command} failed in lab {lab.name}: {result.stderr}")
    return result.stdout


def link_atom_root(lab: LabState) -> None:
    run_inside(lab, "ln", "-sfn", str(lab.paths.atom_root), SHARED_ATOM_ROOT)


def point_workers_at(b: LabState, a: LabState) -> None:
    """B without a job server of its own, its workers registered with A's."""
    run_inside(b, "systemctl", "mask", "--now", JOB_SERVER_UNIT)
    (b.paths.atom_root / "config" / "gearman.yml").write_text(
        gearman_yml_text({"default": f"127.0.0.1:{a.gearman_port}"}, DEFAULT_WORKER_TYPES)
    )
    run_inside(b, "systemctl", "restart", *boot_workers(b))
    reset_start_limits(b)
    expected = len(boot_workers(a)) + len(boot_workers(b))
    deadline = time.monotonic() + REGISTER_TIMEOUT
    while len([line for line in gearman_admin(a.gearman_port, "workers") if " : " in line]) < (
        expected
    ):
        if time.monotonic() > deadline:
            raise LabError(f"lab {b.name}'s workers did not register with lab {a.name}'s gearmand")
        time.sleep(0.05)


def reset_start_limits(lab: LabState) -> None:
    """The units allow 3 starts a day; tests restart them, so the count starts afresh."""
    run_inside(lab, "systemctl", "reset-failed", "atom-worker*", check=False)


def console_args(labs: TwoLabs, *extra: str) -> list[str]:
    """The command line an admin would type (without the program name)."""
    hosts = [item for host in labs.host_args() for item in ("--host", host)]
    return [*hosts, "--ssh-config", str(client_config_path()), "--atom-root", SHARED_ATOM_ROOT,
            "--interval", "0.3", *extra]  # fmt: skip

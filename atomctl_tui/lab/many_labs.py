"""Many labs as many remote hosts, booted side by side and always powered off.

Each lab is a host of its own with its own gearmand and workers (as AtoM worker hosts that
each run a job server). ``/run/atomctl-atom`` (on each lab's private /run) links to that
lab's AtoM root, so one ``--atom-root`` fits every host. Labs boot a few at a time: `atomctl-lab
up` picks ports and writes the shared ssh client config under its own lock, so boots at once
are safe; the machine's CPUs are the limit.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from atomctl_tui.lab.ssh import client_config_path
from atomctl_tui.lab.state import LabError, LabState
from atomctl_tui.lab.two_labs import SHARED_ATOM_ROOT, link_atom_root

LAB_CLI = str(Path(sys.executable).with_name("atomctl-lab"))
BOOTS_AT_ONCE = 4
BOOT_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True)
class ManyLabs:
    labs: tuple[LabState, ...]

    def host_args(self) -> list[str]:
        return [f"root@127.0.0.1:{lab.ssh_port}" for lab in self.labs]

    @property
    def labels(self) -> list[str]:
        return [f"127.0.0.1:{lab.ssh_port}" for lab in self.labs]

    def console_args(self, *extra: str) -> list[str]:
        """The command line an admin would type (without the program name)."""
        hosts = [item for host in self.host_args() for item in ("--host", host)]
        return [*hosts, "--ssh-config", str(client_config_path()),
                "--atom-root", SHARED_ATOM_ROOT, *extra]  # fmt: skip


def lab_names(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{index:02d}" for index in range(1, count + 1)]


def _up(name: str, workers: int) -> LabState:
    done = subprocess.run(
        [LAB_CLI, "up", "--name", name, "--workers", str(workers)],
        capture_output=True,
        text=True,
        timeout=BOOT_TIMEOUT_SECONDS,
        check=False,
    )
    lab = LabState.load(name)
    if done.returncode != 0 or lab is None:
        raise LabError(f"lab {name} did not boot: {done.stderr.strip() or done.stdout.strip()}")
    link_atom_root(lab)
    return lab


def down(names: Sequence[str]) -> list[str]:
    """Power off every lab of ``names`` that has a state (booted, or half-booted); the errors."""
    errors = []

    def one(name: str) -> None:
        if LabState.load(name) is None:
            return
        done = subprocess.run(
            [LAB_CLI, "down", "--name", name],
            capture_output=True,
            text=True,
            timeout=BOOT_TIMEOUT_SECONDS,
            check=False,
        )
        if done.returncode != 0:
            errors.append(f"{name}: {done.stderr.strip() or done.stdout.strip()}")

    with ThreadPoolExecutor(BOOTS_AT_ONCE * 2) as pool:
        list(pool.map(one, names))
    return errors


@contextlib.contextmanager
def many_labs(
    prefix: str, count: int, *, workers: int = 1, at_once: int = BOOTS_AT_ONCE
) -> Iterator[ManyLabs]:
    """``count`` labs named ``<prefix>01``…, booted ``at_once`` at a time; every one of them
    powered off on the way out, whatever happens (an error, ctrl+c)."""
    names = lab_names(prefix, count)
    pool = ThreadPoolExecutor(at_once)
    try:
        try:
            labs = tuple(pool.map(lambda name: _up(name, workers), names))
        finally:  # on an error or ctrl+c, boot no more: the ones booting finish, then go down
            pool.shutdown(wait=True, cancel_futures=True)
        yield ManyLabs(labs)
    finally:
        errors = down(names)
        if errors:
            print("could not power off: " + "; ".join(errors), file=sys.stderr)

"""Where a lab lives on disk and what is known about a running one (``state.json``)."""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from atomctl_tui.remote.hosts import Host

DEFAULT_NAME = "atomlab"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


class LabError(Exception):
    """A lab operation that cannot go ahead; the message says why in words."""


def labs_home() -> Path:
    # Not under /tmp: the lab mounts a private tmpfs over /tmp before it reads its own files.
    return Path(os.environ.get("ATOMCTL_LAB_HOME", "/var/lib/atomctl-lab"))


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise LabError(
            f"lab name {name!r} is not allowed: use 1-31 lower-case letters, digits or '-',"
            " starting with a letter"
        )
    return name


@dataclass(frozen=True)
class LabPaths:
    """The files of one lab, all under ``labs_home()/<name>``."""

    name: str

    @property
    def root(self) -> Path:
        return labs_home() / self.name

    @property
    def unit_dir(self) -> Path:
        """Bind-mounted over /etc/systemd/system inside the lab."""
        return self.root / "etc-systemd-system"

    @property
    def atom_root(self) -> Path:
        return self.root / "atom"

    @property
    def runtime(self) -> Path:
        """A world-readable copy of the worker's Python code, so www-data can run it."""
        return self.root / "runtime"

    @property
    def ssh_dir(self) -> Path:
        return self.root / "ssh"

    @property
    def mariadb_dir(self) -> Path:
        """MariaDB's option file, data directory and the SQL that makes AtoM's database."""
        return self.root / "mariadb"

    @property
    def mariadb_data(self) -> Path:
        return self.mariadb_dir / "data"

    @property
    def mariadb_options(self) -> Path:
        return self.mariadb_dir / "my.cnf"

    @property
    def atom_database_sql(self) -> Path:
        """Root only: it holds the database user's password."""
        return self.mariadb_dir / "atom-database.sql"

    @property
    def boot_script(self) -> Path:
        return self.root / "boot.sh"

    @property
    def console_log(self) -> Path:
        return self.root / "console.log"

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def cgroup_name(self) -> str:
        return f"atomctl-lab-{self.name}"


@dataclass(frozen=True)
class LabState:
    """A running lab, as written by ``up`` and read by every other command."""

    name: str
    pid: int  # host pid of the lab's systemd (PID 1 inside)
    launcher_pid: int  # host pid of the `unshare` process that holds the namespaces
    pid_namespace: str  # e.g. "pid:[4026532601]", to find stray processes after `down`
    gearman_port: int
    ssh_port: int
    workers: int
    cgroups: tuple[str, ...]
    mysql_port: int = 0
    """MariaDB's TCP port on 127.0.0.1 (0 in the state of a lab booted before it had one)."""

    @property
    def paths(self) -> LabPaths:
        return LabPaths(self.name)

    @property
    def gearman_server(self) -> str:
        return f"127.0.0.1:{self.gearman_port}"

    @property
    def dbus_address(self) -> bytes:
        return f"unix:path=/proc/{self.pid}/root/run/dbus/system_bus_socket".encode()

    def nsenter(self, *command: str) -> list[str]:
        return ["nsenter", "-t", str(self.pid), "-m", "-p", "--", *command]

    def host(self) -> Host:
        """The lab seen as a machine to manage, reached from outside its namespaces."""
        return Host(
            label=f"lab:{self.name}",
            run_prefix=tuple(self.nsenter()),
            dbus_address=self.dbus_address,
        )

    def save(self) -> None:
        data = asdict(self)
        self.paths.state_file.write_text(json.dumps(data, indent=2) + "\n")

    @classmethod
    def load(cls, name: str) -> LabState | None:
        path = LabPaths(name).state_file
        try:
            data = json.loads(path.read_text())
            data["cgroups"] = tuple(data["cgroups"])
            return cls(**data)
        except FileNotFoundError:
            return None
        except (ValueError, TypeError, KeyError) as exc:
            raise LabError(f"{path} is damaged ({exc}); remove it and run `down` again") from exc

    def is_running(self) -> bool:
        """True while the recorded pid is still this lab's systemd."""
        try:
            return os.readlink(f"/proc/{self.pid}/ns/pid") == self.pid_namespace
        except OSError:
            return False

"""Checks before a lab boots, each failing with what to do about it."""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
from pathlib import Path

from atomctl_tui.lab.state import LabError

# What the lab runs, and the Debian package that provides it.
REQUIRED_FILES = {
    "/lib/systemd/systemd": "systemd",
    "/usr/bin/systemd-stdio-bridge": "systemd",
    "/usr/bin/dbus-daemon": "dbus",
    "/usr/sbin/gearmand": "gearman-job-server",
    "/lib/systemd/system/gearman-job-server.service": "gearman-job-server",
    "/usr/bin/gearadmin": "gearman-tools",
    "/usr/sbin/sshd": "openssh-server",
    "/usr/bin/ssh": "openssh-client",
    "/usr/bin/ssh-keygen": "openssh-client",
    "/usr/bin/unshare": "util-linux",
    "/usr/bin/nsenter": "util-linux",
    "/usr/bin/python3": "python3",
    "/usr/sbin/mariadbd": "mariadb-server",
    "/usr/bin/mariadb-install-db": "mariadb-server",
    "/lib/systemd/system/mariadb.service": "mariadb-server",
    "/usr/bin/mariadb": "mariadb-client",
}
REQUIRED_USERS = {
    "www-data": "base-passwd",
    "gearman": "gearman-job-server",
    "mysql": "mariadb-server",
}


def check_root() -> None:
    if os.geteuid() != 0:
        raise LabError(
            "the lab must be run as root: it boots systemd in new PID and mount namespaces"
        )


def check_packages() -> None:
    missing = sorted({pkg for path, pkg in REQUIRED_FILES.items() if not Path(path).exists()})
    for user, pkg in REQUIRED_USERS.items():
        try:
            pwd.getpwnam(user)
        except KeyError:
            missing.append(pkg)
    if missing:
        names = " ".join(sorted(set(missing)))
        raise LabError(f"missing Debian packages: {names} (install with: apt-get install {names})")


def check_unshare() -> None:
    """Namespaces may be refused (a container without CAP_SYS_ADMIN, a seccomp profile)."""
    result = subprocess.run(
        ["unshare", "--fork", "--pid", "--mount", "--mount-proc", "true"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise LabError(
            "unshare refused to create PID and mount namespaces"
            f" ({result.stderr.strip() or 'exit status ' + str(result.returncode)});"
            " the lab needs root with CAP_SYS_ADMIN outside a restricted container"
        )


EPHEMERAL_RANGE_PATH = "/proc/sys/net/ipv4/ip_local_port_range"
PORT_TRIES = 200


def port_is_free(port: int) -> bool:
    """Nothing listens on ``port`` of 127.0.0.1 (nor on every address).

    With SO_REUSEADDR, as gearmand and sshd bind: the connections of a lab just powered off,
    lingering in TIME_WAIT for a minute, do not hold the port, but a listener does.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def ephemeral_ports() -> range:
    """The ports the kernel gives outgoing connections (Linux's default: 32768-60999)."""
    try:
        low, high = (int(word) for word in Path(EPHEMERAL_RANGE_PATH).read_text().split())
    except (OSError, ValueError):
        return range(32768, 61000)
    return range(low, high + 1)


def check_port(port: int, option: str) -> int:
    if not 1 <= port <= 65535:
        raise LabError(f"{option} {port} is not a TCP port number")
    if not port_is_free(port):
        raise LabError(f"port {port} on 127.0.0.1 is in use; choose another with {option}")
    return port


def free_port(start: int, taken: set[int]) -> int:
    """The first port from ``start`` that nothing listens on and no other lab claims, outside
    the kernel's ephemeral range: there, any outgoing connection may take it while the lab
    is down, and the lab would not boot again on it."""
    ephemeral = ephemeral_ports()
    candidates = (port for port in range(start, 65536) if port not in ephemeral)
    tried = []
    for port in candidates:
        if port not in taken and port_is_free(port):
            return port
        tried.append(port)
        if len(tried) == PORT_TRIES:
            break
    where = f"from {start}" if not tried else f"between {tried[0]} and {tried[-1]}"
    raise LabError(
        f"no free port on 127.0.0.1 {where} outside the ephemeral range"
        f" {ephemeral.start}-{ephemeral.stop - 1} ({EPHEMERAL_RANGE_PATH})"
    )

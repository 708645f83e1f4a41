"""Boot a lab's systemd in new namespaces, wait until it is up, and power it off cleanly.

The lab's systemd is started by ``unshare`` in a private PID and mount namespace and in a
cgroup of its own (so two labs never manage the same cgroups). Only processes this module
started are ever signalled, by pid: the lab's systemd, which takes the rest with it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from atomctl_tui.lab import layout, preflight, ssh
from atomctl_tui.lab.state import LabError, LabPaths, LabState, labs_home
from atomctl_tui.outside_text import clean_line

BOOT_TIMEOUT = 90.0
POWEROFF_TIMEOUT = 30.0
# Where a lab's ports are looked for: below Linux's ephemeral range (32768-60999), and
# ``free_port`` skips that range wherever it lies on this machine.
GEARMAN_PORT_BASE = 4730
SSH_PORT_BASE = 2222
MYSQL_PORT_BASE = 3307
"""MariaDB's 3306 stays free for a server of the host's own."""


def running_labs() -> list[LabState]:
    labs = []
    home = labs_home()
    if home.is_dir():
        for state_file in sorted(home.glob("*/state.json")):
            state = LabState.load(state_file.parent.name)
            if state and state.is_running():
                labs.append(state)
    return labs


def up(
    name: str,
    workers: int,
    gearman_port: int | None,
    ssh_port: int | None,
    mysql_port: int | None,
) -> LabState:
    preflight.check_root()
    paths = LabPaths(name)
    previous = LabState.load(name)
    if previous and previous.is_running():
        raise LabError(
            f"lab {name!r} is already running (systemd pid {previous.pid}, gearmand port"
            f" {previous.gearman_port}, ssh port {previous.ssh_port});"
            f" run `atomctl-lab down --name {name}` first"
        )
    if previous:
        _remove_leftovers(previous)
    if workers < 0:
        raise LabError("--workers must be 0 or more")
    preflight.check_packages()
    preflight.check_unshare()
    # Held until the new lab's state is saved, so labs booting at once never pick one port.
    with _labs_lock():
        taken = {
            port
            for lab in running_labs()
            for port in (lab.gearman_port, lab.ssh_port, lab.mysql_port)
        }
        if gearman_port is None:
            gearman_port = preflight.free_port(GEARMAN_PORT_BASE, taken)
        else:
            preflight.check_port(gearman_port, "--gearman-port")
        if ssh_port is None:
            ssh_port = preflight.free_port(SSH_PORT_BASE, taken | {gearman_port})
        else:
            preflight.check_port(ssh_port, "--ssh-port")
        if ssh_port == gearman_port:
            raise LabError("--ssh-port and --gearman-port must differ")
        if mysql_port is None:
            mysql_port = preflight.free_port(MYSQL_PORT_BASE, taken | {gearman_port, ssh_port})
        else:
            preflight.check_port(mysql_port, "--mysql-port")
        if mysql_port in (gearman_port, ssh_port):
            raise LabError("--mysql-port must differ from --gearman-port and --ssh-port")
        layout.write_lab_files(
            paths,
            gearman_port=gearman_port,
            ssh_port=ssh_port,
            mysql_port=mysql_port,
            workers=workers,
        )
        ssh.write_sshd_files(paths, ssh_port)
        cgroups = _create_cgroups(paths.cgroup_name)
        launcher = _launch(paths, cgroups)
        try:
            pid = _wait_for_systemd(launcher, paths)
            state = LabState(
                name=name,
                pid=pid,
                launcher_pid=launcher.pid,
                pid_namespace=os.readlink(f"/proc/{pid}/ns/pid"),
                gearman_port=gearman_port,
                ssh_port=ssh_port,
                workers=workers,
                cgroups=tuple(str(c) for c in cgroups),
                mysql_port=mysql_port,
            )
            state.save()
        except BaseException:
            _poweroff_quietly(launcher, paths, cgroups)
            raise
    try:
        _wait_until_running(state)
        _wait_for_workers(state)
    except BaseException:
        _poweroff_quietly(launcher, paths, cgroups)
        raise
    with _labs_lock():
        ssh.write_client_config(running_labs())
    return state


def down(name: str) -> list[str]:
    """Power the lab off and prove nothing of it remains; returns what was done, in words."""
    preflight.check_root()
    state = LabState.load(name)
    if state is None:
        raise LabError(f"lab {name!r} is not running (no {LabPaths(name).state_file})")
    report = []
    if state.is_running():
        os.kill(state.pid, signal.SIGRTMIN + 4)  # systemd: start poweroff.target
        if not _wait_gone(state, POWEROFF_TIMEOUT):
            report.append(f"systemd did not power off in {POWEROFF_TIMEOUT:.0f} s; killed it")
            os.kill(state.pid, signal.SIGKILL)  # PID 1 of the namespace: takes every process
            _wait_gone(state, 10.0)
        report.append(f"lab {name!r} powered off")
    else:
        report.append(f"lab {name!r} was not running; removed what it left behind")
    _reap(state.launcher_pid)
    _remove_leftovers(state)
    leftovers = _leftovers(state)
    if leftovers:
        raise LabError("after power-off, still present: " + "; ".join(leftovers))
    report.append("no lab process, cgroup or mount remains")
    shutil.rmtree(state.paths.root)
    with _labs_lock():
        ssh.write_client_config(running_labs())
    return report


def unit_states(state: LabState, patterns: list[str]) -> list[dict[str, str]]:
    result = subprocess.run(
        state.nsenter("systemctl", "list-units", "--all", "--output=json", "--", *patterns),
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    units: list[dict[str, str]] = json.loads(result.stdout or "[]")  # unit, load, active, sub…
    return units


def gearman_admin(port: int, command: str, timeout: float = 5.0) -> list[str]:
    """One admin command against a lab's gearmand; lines up to the final '.'."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(command.encode() + b"\n")
        data = b""
        while not (data.endswith(b"\n.\n") or data == b".\n" or data.startswith((b"OK", b"ERR"))):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    lines = data.decode(errors="replace").splitlines()
    return [line for line in lines if line != "."]


@contextlib.contextmanager
def _labs_lock() -> Iterator[None]:
    home = labs_home()
    home.mkdir(parents=True, exist_ok=True)
    with (home / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


# -- boot -------------------------------------------------------------------------------


def _systemd_cgroup_dirs() -> list[Path]:
    """Our own cgroup in each hierarchy systemd uses (v1 name=systemd, unified v2)."""
    own = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        hierarchy, controllers, path = line.split(":", 2)
        if hierarchy == "0":
            own["cgroup2"] = path
        elif "name=systemd" in controllers.split(","):
            own["cgroup"] = path
    dirs = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        fields = left.split()
        mount_root, mount_point = fields[3], fields[4]
        fstype, _source, options = [*right.split(), "", "", ""][:3]
        if fstype not in own or (fstype == "cgroup" and "name=systemd" not in options):
            continue
        dirs.append(Path(mount_point) / os.path.relpath(own[fstype], mount_root))
    return dirs


def _create_cgroups(name: str) -> list[Path]:
    cgroups = [parent / name for parent in _systemd_cgroup_dirs()]
    for directory in cgroups:
        directory.mkdir(exist_ok=True)
    if not cgroups:
        raise LabError("no cgroup hierarchy for systemd is mounted on /sys/fs/cgroup")
    return cgroups


def _launch(paths: LabPaths, cgroups: list[Path]) -> subprocess.Popen[bytes]:
    """The launcher joins the lab's cgroups, then becomes `unshare`, which runs boot.sh."""
    join_then_unshare = (
        'for procs; do echo $$ > "$procs"; done; '
        'exec unshare --fork --pid --mount --mount-proc --propagation private "$0"'
    )
    with paths.console_log.open("wb") as log:
        return subprocess.Popen(
            ["/bin/sh", "-c", join_then_unshare, str(paths.boot_script)]
            + [str(c / "cgroup.procs") for c in cgroups],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _console_tail(paths: LabPaths) -> str:
    try:
        lines = paths.console_log.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return (": " + " | ".join(lines[-5:])) if lines else ""


def _wait_for_systemd(launcher: subprocess.Popen[bytes], paths: LabPaths) -> int:
    deadline = time.monotonic() + 15.0
    while time.monotonic() < deadline:
        if launcher.poll() is not None:
            raise LabError(
                f"the lab's boot script exited with status {launcher.returncode}"
                + _console_tail(paths)
            )
        for child in _children(launcher.pid):
            if _comm(child) == "systemd":
                return child
        time.sleep(0.05)
    raise LabError("systemd did not start in the lab within 15 s" + _console_tail(paths))


def _wait_until_running(state: LabState) -> None:
    deadline = time.monotonic() + BOOT_TIMEOUT
    # systemctl says "offline" until systemd has made /run/systemd/system, and nothing until
    # it listens on its private socket: on a busy machine its first steps after exec take a
    # while, so wait for that socket before asking.
    private_socket = Path(f"/proc/{state.pid}/root/run/systemd/private")
    while not private_socket.exists() and time.monotonic() < deadline and state.is_running():
        time.sleep(0.05)
    answer = ""
    while not answer and time.monotonic() < deadline:
        try:
            answer = subprocess.run(
                state.nsenter("systemctl", "is-system-running", "--wait"),
                capture_output=True,
                text=True,
                timeout=max(1.0, deadline - time.monotonic()),
                check=False,
            ).stdout.strip()
        except subprocess.TimeoutExpired:
            break
        if not answer:
            time.sleep(0.1)
    if answer != "running":
        failed = subprocess.run(
            state.nsenter("systemctl", "--failed", "--plain", "--no-legend", "--no-pager"),
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split("\n")
        units = [line.split()[0] for line in failed if line.strip()]
        raise LabError(
            f"the lab is {answer or 'not answering'} after booting; failed units:"
            f" {', '.join(units) or 'none'}" + "".join(_last_words(state, u) for u in units[:3])
        )


def _last_words(state: LabState, unit: str, lines: int = 8) -> str:
    """The end of a failed unit's journal, so a boot that fails says why."""
    text = subprocess.run(
        state.nsenter("journalctl", "--no-pager", "-o", "cat", "-n", str(lines), "-u", unit),
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    ).stdout.strip()
    return f"\n{unit}: " + clean_line(" | ".join(text.splitlines())) if text else ""


def _wait_for_workers(state: LabState) -> None:
    """Ready means every enabled worker has registered with the lab's gearmand."""
    deadline = time.monotonic() + 30.0
    connected = 0
    while time.monotonic() < deadline:
        try:
            lines = gearman_admin(state.gearman_port, "workers")
            connected = sum(1 for line in lines if " pid_" in line)
            if connected >= state.workers:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise LabError(
        f"only {connected} of {state.workers} workers registered with gearmand"
        f" on port {state.gearman_port} within 30 s"
    )


# -- power-off and clean-up -------------------------------------------------------------


def _wait_gone(state: LabState, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not state.is_running() and not _namespace_processes(state.pid_namespace):
            return True
        time.sleep(0.05)
    return False


def _poweroff_quietly(
    launcher: subprocess.Popen[bytes], paths: LabPaths, cgroups: list[Path]
) -> None:
    """Undo a boot that failed half-way; the lab's own pid is the launcher's child."""
    for child in _children(launcher.pid):
        if _comm(child) == "systemd":
            os.kill(child, signal.SIGKILL)
    if launcher.poll() is None:
        launcher.kill()
    launcher.wait(timeout=10)
    deadline = time.monotonic() + 10.0
    while any(_cgroup_processes(c) for c in cgroups) and time.monotonic() < deadline:
        time.sleep(0.05)
    _remove_cgroups(cgroups)
    paths.state_file.unlink(missing_ok=True)


def _reap(pid: int) -> None:
    """Collect the launcher's exit status when it is our child (`up` and `down` in one process)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _namespace_processes(pid_namespace: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.readlink(entry / "ns" / "pid") == pid_namespace:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _cgroup_processes(top: Path) -> list[int]:
    pids = []
    for procs in top.rglob("cgroup.procs") if top.is_dir() else ():
        try:
            pids += [int(p) for p in procs.read_text().split()]
        except OSError:
            continue
    return pids


def _remove_cgroups(cgroups: list[Path], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    for top in cgroups:
        if not top.is_dir():
            continue
        # Deepest first: a cgroup directory can only be removed once it has no children.
        directories = sorted(
            (p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True
        )
        for directory in [*directories, top]:
            _rmdir_when_released(directory, deadline)


def _rmdir_when_released(directory: Path, deadline: float) -> None:
    """The kernel keeps a cgroup busy for a moment after its last process has exited."""
    while True:
        try:
            directory.rmdir()
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                raise
        time.sleep(0.05)


def _remove_leftovers(state: LabState) -> None:
    if not _namespace_processes(state.pid_namespace):
        _remove_cgroups([Path(c) for c in state.cgroups])
    state.paths.state_file.unlink(missing_ok=True)


def _leftovers(state: LabState) -> list[str]:
    found = []
    stray = _namespace_processes(state.pid_namespace)
    if stray:
        found.append(f"processes {stray} in the lab's PID namespace")
    found += [f"cgroup {c}" for c in state.cgroups if Path(c).exists()]
    found += [
        f"process {pid} in cgroup {c}" for c in state.cgroups for pid in _cgroup_processes(Path(c))
    ]
    root = str(state.paths.root)
    mounts = [
        line.split()[4]
        for line in Path("/proc/self/mountinfo").read_text().splitlines()
        if root in line
    ]
    found += [f"mount {m}" for m in mounts]
    return found

"""The lab never touches the host, and `down` leaves nothing of it behind."""

from __future__ import annotations

import hashlib
import os
import socket
from pathlib import Path

import pytest

from atomctl_tui.lab.state import LabState
from tests.labs import boot, inside, lab_cli, unique_name

pytestmark = pytest.mark.lab


def tree_fingerprint(root: Path) -> str:
    """Names, link targets and contents of every entry under ``root``."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path).encode())
        if path.is_symlink():
            digest.update(os.readlink(path).encode())
        elif path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def namespace_processes(pid_namespace: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and os.readlink(entry / "ns/pid") == pid_namespace:
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_up_and_down_leave_the_host_untouched(tmp_path_factory):
    marker = Path("/tmp") / f"atomctl-lab-marker-{os.getpid()}"
    marker.write_text("the host's /tmp must survive the lab")
    etc_before = tree_fingerprint(Path("/etc/systemd/system"))
    name = unique_name("iso")
    try:
        lab = boot(name, "--workers", "1")
        inside(lab, "systemctl", "enable", "--now", "atom-worker@5.service")
        inside(lab, "sh", "-c", "echo lab > /tmp/written-inside-the-lab")
        assert not Path("/tmp/written-inside-the-lab").exists()
        assert tree_fingerprint(Path("/etc/systemd/system")) == etc_before
        assert (lab.paths.unit_dir / "multi-user.target.wants/atom-worker@5.service").is_symlink()
    finally:
        result = lab_cli("down", "--name", name)
    assert "no lab process, cgroup or mount remains" in result.stdout
    assert marker.read_text() == "the host's /tmp must survive the lab"
    assert tree_fingerprint(Path("/etc/systemd/system")) == etc_before
    assert namespace_processes(lab.pid_namespace) == []
    assert not any(Path(c).exists() for c in lab.cgroups)
    assert str(lab.paths.root) not in Path("/proc/self/mountinfo").read_text()
    assert LabState.load(name) is None
    assert not lab.paths.root.exists()
    marker.unlink()


def test_down_on_a_stopped_lab_says_so():
    result = lab_cli("down", "--name", unique_name("never"), check=False)
    assert result.returncode == 1
    assert "is not running" in result.stderr


def test_a_port_in_use_is_named():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = lab_cli("up", "--name", unique_name("busy"), "--gearman-port", str(port),
                         check=False)  # fmt: skip
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr


def test_a_bad_lab_name_is_refused():
    result = lab_cli("up", "--name", "-oops", check=False)
    assert result.returncode != 0
    result = lab_cli("up", "--name", "Bad Name", check=False)
    assert result.returncode == 1
    assert "is not allowed" in result.stderr

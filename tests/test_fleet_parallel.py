"""Masters opened all at once: a host that needs a password still gets its prompt, and a host
slow to answer holds nobody back. Against the shared lab's real sshd, and a second sshd in
the lab that refuses the key and asks for a password."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from atomctl_tui.atom import JOB_SERVER_UNIT
from atomctl_tui.cli import build_parser, settings_from
from atomctl_tui.fleet import open_fleet
from atomctl_tui.lab.ssh import client_key_path
from atomctl_tui.lab.state import LabState
from atomctl_tui.lab.two_labs import NO_CONFIG
from atomctl_tui.remote.ssh_link import LinkState
from atomctl_tui.systemd.bus_process import ProcessUnitWatch
from atomctl_tui.ui.app import AtomctlApp
from atomctl_tui.ui.workers.pane import WorkersPane
from tests.fleet.fleet_console import fleet_console
from tests.fleet.test_remote_trouble import one_host
from tests.labs import inside
from tests.ui.workers_console import SMALL_TERMINAL
from tests.waiting import wait_until, wait_until_async

pytestmark = pytest.mark.lab

PASSWORD = "fleet-test-secret"
PASSWORD_UNIT = "atomctl-test-password-sshd.service"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def password_sshd(lab: LabState) -> Iterator[int]:
    """A second sshd in the lab that refuses every key and lets root in with PASSWORD.

    sshd checks a password against /etc/shadow: the lab's is the machine's, so this sshd runs
    in a mount namespace of its own (inside the lab's) where a shadow file of the test's is
    bound over it — nothing else, in the lab or on the machine, sees that file. Its files are
    in the lab's directory: the lab has a /tmp of its own.
    """
    directory = lab.paths.root / "password-sshd"
    directory.mkdir(mode=0o700)
    port = free_port()
    hashed = subprocess.run(
        ["openssl", "passwd", "-6", "-stdin"], input=PASSWORD, capture_output=True, text=True,
        check=True,
    ).stdout.strip()  # fmt: skip
    shadow = directory / "shadow"
    shadow.write_text(f"root:{hashed}:19000:0:99999:7:::\n")
    shadow.chmod(0o600)
    config = directory / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\n"
        f"HostKey {lab.paths.ssh_dir / 'ssh_host_ed25519_key'}\n"
        "PidFile none\nAuthorizedKeysFile none\nPermitRootLogin yes\nPasswordAuthentication yes\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nPrintMotd no\nSetEnv SHLVL=1\n"
    )
    inside(
        lab, "systemd-run", f"--unit={PASSWORD_UNIT}", "--", "unshare", "--mount",
        "--propagation", "private", "--", "sh", "-c",
        'mount --bind "$1" /etc/shadow && exec /usr/sbin/sshd -D -e -f "$2"',
        "sh", str(shadow), str(config),
    )  # fmt: skip
    try:
        wait_until(lambda: _listening(port), what="the password sshd listening")
        # Bound in that sshd's namespace only: the lab's /etc/shadow (the machine's) is not it.
        assert inside(lab, "grep", "-c", "-F", hashed, "/etc/shadow", check=False).strip() == "0"
        yield port
    finally:
        inside(lab, "systemctl", "stop", PASSWORD_UNIT, check=False)
        inside(lab, "systemctl", "reset-failed", PASSWORD_UNIT, check=False)
        shutil.rmtree(directory)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def ssh_config_that_may_prompt(lab: LabState, directory: Path, port: int) -> Path:
    """The lab's client settings without BatchMode, and this port's host key known."""
    public = (lab.paths.ssh_dir / "ssh_host_ed25519_key.pub").read_text().split()
    known = directory / "known_hosts"
    known.write_text(
        f"[127.0.0.1]:{port} {public[0]} {public[1]}\n"
        f"[127.0.0.1]:{lab.ssh_port} {public[0]} {public[1]}\n"
    )
    config = directory / "ssh_config"
    config.write_text(
        f"Host *\n    User root\n    IdentityFile {client_key_path()}\n    IdentitiesOnly yes\n"
        f"    UserKnownHostsFile {known}\n    GlobalKnownHostsFile /dev/null\n"
        "    StrictHostKeyChecking yes\n    CheckHostIP no\n    NumberOfPasswordPrompts 1\n"
    )
    return config


def askpass(directory: Path) -> tuple[Path, Path]:
    """A program ssh asks for the password instead of the terminal; it notes each question."""
    asked = directory / "asked"
    program = directory / "askpass"
    program.write_text(f'#!/bin/sh\necho "$1" >> "{asked}"\necho "{PASSWORD}"\n')
    program.chmod(stat.S_IRWXU)
    return program, asked


def test_a_host_that_needs_a_password_is_asked_while_the_others_open_without(
    lab, tmp_path, monkeypatch
):
    """The masters open at once in batch mode: no prompt can happen there, so the host whose
    key is refused fails that first attempt, and is then opened alone, interactively — ssh
    asks for its password (here through SSH_ASKPASS, as it would on the terminal) once."""
    with password_sshd(lab) as port:
        config = ssh_config_that_may_prompt(lab, tmp_path, port)
        program, asked = askpass(tmp_path)
        monkeypatch.setenv("SSH_ASKPASS", str(program))
        monkeypatch.setenv("SSH_ASKPASS_REQUIRE", "force")
        argv = [
            "--host", f"root@127.0.0.1:{lab.ssh_port}", "--host", f"root@127.0.0.1:{port}",
            "--ssh-config", str(config), "--atom-root", str(lab.paths.atom_root),
        ]  # fmt: skip
        settings = settings_from(build_parser().parse_args(argv), environ=NO_CONFIG)
        said: list[str] = []
        fleet, _settings = open_fleet(
            settings, [JOB_SERVER_UNIT], interactive=True, say=said.append, start_units=False
        )
        try:
            key_link, password_link = (member.link for member in fleet.members)
            assert key_link is not None and password_link is not None
            assert key_link.status.connected and password_link.status.connected, said
            assert asked.read_text().count("password") == 1, asked.read_text()
            label = password_link.label
            # Refused in batch mode first (no prompt possible), then asked, alone.
            refused = [i for i, words in enumerate(said) if words.startswith(f"{label}: authent")]
            assert refused and said.index(f"{label}: connected") > refused[0], said
            assert password_link.run("echo", "in with a password").stdout == "in with a password\n"
            assert key_link.run("echo", "in with the key").stdout == "in with the key\n"
        finally:
            fleet.close()


@contextlib.contextmanager
def stalled_sshd() -> Iterator[tuple[int, list[socket.socket]]]:
    """A port that accepts connections and never says a word (an sshd stuck at start)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1]), accepted
    finally:
        # shutdown wakes the accept() of the thread; close alone would leave it blocked.
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        thread.join(5)
        for connection in accepted:
            connection.close()


async def test_a_host_slow_to_answer_holds_the_others_back_in_nothing(lab):
    """The stalled host's first attempt is still under way (its ssh waits for a banner that
    never comes) while the console is up and the lab's workers are on screen with their PIDs.
    Masters opened one after the other made the console wait for that attempt to give up."""
    with stalled_sshd() as (stalled_port, accepted):
        argv = [
            "--host", f"root@127.0.0.1:{stalled_port}", *one_host(lab),
            "--ssh-option", "ConnectTimeout=600",
        ]  # fmt: skip
        settings = settings_from(build_parser().parse_args(argv), environ=NO_CONFIG)
        patterns = [*settings.unit_patterns, JOB_SERVER_UNIT]
        fleet, fleet_settings = open_fleet(settings, patterns, interactive=False)
        try:
            stalled_link, lab_link = (member.link for member in fleet.members)
            assert stalled_link is not None and lab_link is not None
            app = AtomctlApp(fleet=fleet, settings=fleet_settings)
            async with app.run_test(size=SMALL_TERMINAL):
                workers = app.query_one(WorkersPane)
                lab_label = fleet.labels[1]
                await wait_until_async(
                    lambda: all(
                        (key := workers.row_key(lab_label, unit)) in workers.table.shown
                        and workers.table.shown[key]["pid"][0]
                        for unit in ("atom-worker@1.service", "atom-worker@2.service")
                    ),
                    what="the lab's workers with their PIDs",
                )
                assert lab_link.status.connected
                assert len(accepted) == 1  # the stalled host was tried, once, and still is
                assert not stalled_link.first_attempt(0)
                assert stalled_link.status.state is LinkState.CONNECTING
        finally:
            fleet.close()
        assert stalled_link.status.state is LinkState.CLOSED


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


async def test_hosts_children_come_from_one_fork_server_that_is_replaced_when_it_dies(lab):
    """Each remote host's systemd child is forked by the fleet's one fork server (sharing its
    imported pages), not started as a Python of its own. A fork server that dies takes no
    host down: its children go on, and a child started later comes from a new one."""
    # The lab twice, as two hosts: by address and by the lab's ssh config alias.
    argv = [*one_host(lab), "--host", f"root@lab-{lab.name}"]
    with fleet_console(argv) as app:
        async with app.run_test(size=SMALL_TERMINAL):
            first, second = (member.units for member in app.fleet.members)
            assert isinstance(first, ProcessUnitWatch) and isinstance(second, ProcessUnitWatch)
            await wait_until_async(
                lambda: first.connection_trouble() is None and second.connection_trouble() is None,
                what="both hosts' children connected",
            )
            assert first.child_pid is not None and second.child_pid is not None
            server = _parent(first.child_pid)
            assert _parent(second.child_pid) == server != os.getpid()
            os.kill(server, signal.SIGKILL)  # the fork server this test's console started
            wait_until(lambda: _parent(second.child_pid) != server, what="the fork server gone")
            survivor = second.child_pid
            killed = first.child_pid
            os.kill(killed, signal.SIGKILL)  # a child this test's console started
            await wait_until_async(
                lambda: (
                    first.child_pid not in (None, killed) and first.connection_trouble() is None
                ),
                what="a new child for the first host, connected",
            )
            assert first.child_pid is not None
            assert _parent(first.child_pid) not in (server, os.getpid())
            assert second.child_pid == survivor  # the other host's child never stopped
            assert second.connection_trouble() is None

"""The SSH master of a host: one at most, replaced when it dies, nothing left behind; a
private directory ssh can use whatever $TMPDIR holds. Against the shared lab's real sshd."""

from __future__ import annotations

import os
import signal
import tempfile

import pytest

from atomctl_tui.atom import JOB_SERVER_UNIT
from atomctl_tui.cli import build_parser, settings_from
from atomctl_tui.fleet import open_fleet
from atomctl_tui.lab.ssh import client_config_path
from atomctl_tui.lab.two_labs import NO_CONFIG
from atomctl_tui.remote.host_spec import parse_host_spec
from atomctl_tui.remote.ssh_link import SshLink, SshOptions
from tests.fleet.ssh_processes import ssh_masters, ssh_processes
from tests.fleet.test_remote_trouble import one_host
from tests.waiting import wait_until

pytestmark = pytest.mark.lab


def test_a_killed_master_is_replaced_by_one_master_and_none_is_left(lab, tmp_path):
    """A master killed outright leaves its control socket behind; ssh, finding it there,
    connects without listening on it. Each retry used to add one such master, in the
    background, authenticated and unreachable, all of them left running at the end."""
    spec = parse_host_spec(f"root@127.0.0.1:{lab.ssh_port}")
    link = SshLink(spec, SshOptions(str(client_config_path())), tmp_path, name="m0")
    assert link.open(interactive=False).connected
    link.start()
    try:
        (first,) = ssh_masters(tmp_path)
        os.kill(first, signal.SIGKILL)  # the master this test's link started
        wait_until(
            lambda: link.status.connected and ssh_masters(tmp_path) not in ([], [first]),
            what="a new master, connected",
        )
        assert len(ssh_masters(tmp_path)) == 1
        assert link.run("echo", "through the new master").stdout == "through the new master\n"
        assert len(ssh_masters(tmp_path)) == 1
    finally:
        link.close()
    assert ssh_processes(tmp_path) == []
    assert not link.control_path.exists()


@pytest.mark.parametrize("odd", ["%q%h", "a b", "c:d", "${HOME}"])
def test_a_tmpdir_ssh_would_misread_is_not_used(lab, tmp_path, monkeypatch, odd):
    """ssh expands % tokens and ${VAR} in a ControlPath and a forward's path, ends an
    option's value at whitespace, and splits -L at ':'. Such a TMPDIR once made every
    connection fail ("unknown key %q")."""
    tmpdir = tmp_path / odd
    tmpdir.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    monkeypatch.setattr(tempfile, "tempdir", None)  # gettempdir() reads TMPDIR again
    settings = settings_from(build_parser().parse_args(one_host(lab)), environ=NO_CONFIG)
    fleet, _settings = open_fleet(settings, [JOB_SERVER_UNIT], interactive=False, start_units=False)
    link = fleet.members[0].link
    assert link is not None
    private = link.control_path.parent
    try:
        assert link.status.connected, link.status.text
        assert link.run("echo", "ok").stdout == "ok\n"
        forward = link.forward("127.0.0.1", lab.gearman_port)
        wait_until(forward.exists, what="the forwarded Gearman socket")
        assert list(tmpdir.iterdir()) == []
    finally:
        fleet.close()
    assert not private.exists()
    assert ssh_processes(private) == []

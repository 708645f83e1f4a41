"""Which ports `atomctl-lab up` takes: real sockets on 127.0.0.1, no lab booted."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from atomctl_tui.lab import preflight
from atomctl_tui.lab.machine import GEARMAN_PORT_BASE, SSH_PORT_BASE
from atomctl_tui.lab.state import LabError
from tests.waiting import wait_until

TIME_WAIT = "06"  # the state column of /proc/net/tcp


def time_wait_ports() -> set[int]:
    ports = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == TIME_WAIT:
            ports.add(int(fields[1].split(":")[1], 16))
    return ports


def leave_a_connection_in_time_wait() -> int:
    """A port of a server that closed its side first, then stopped listening: what a lab
    powered off with its connections open leaves behind for a minute."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            served, _ = listener.accept()
            served.close()  # the server's side closes first: its port goes to TIME_WAIT
            client.recv(1)
    wait_until(lambda: port in time_wait_ports(), what=f"port {port} in TIME_WAIT")
    return port


def test_a_port_held_only_by_time_wait_is_free_and_a_listened_one_is_not():
    port = leave_a_connection_in_time_wait()
    assert preflight.port_is_free(port)
    assert preflight.check_port(port, "--gearman-port") == port
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gearmand binds
        listener.bind(("127.0.0.1", port))
        listener.listen()
        assert not preflight.port_is_free(port)
        with pytest.raises(LabError, match=f"port {port} on 127.0.0.1 is in use"):
            preflight.check_port(port, "--gearman-port")


def test_a_listener_on_every_address_holds_the_port_too():
    with socket.socket() as listener:
        listener.bind(("0.0.0.0", 0))
        listener.listen()
        assert not preflight.port_is_free(listener.getsockname()[1])


def test_default_ports_lie_outside_the_kernels_ephemeral_range(monkeypatch, tmp_path):
    ephemeral = preflight.ephemeral_ports()
    for base in (GEARMAN_PORT_BASE, SSH_PORT_BASE):
        assert preflight.free_port(base, set()) not in ephemeral
    # A machine whose ephemeral range starts low (net.ipv4.ip_local_port_range = 4000 5000).
    low_range = tmp_path / "ip_local_port_range"
    low_range.write_text("4000\t5000\n")
    monkeypatch.setattr(preflight, "EPHEMERAL_RANGE_PATH", str(low_range))
    assert preflight.ephemeral_ports() == range(4000, 5001)
    assert preflight.free_port(GEARMAN_PORT_BASE, set()) > 5000

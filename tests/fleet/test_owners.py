"""Matching Gearman connections to worker units of several hosts: by host address and pid.

The connections are gearmand's own `workers` lines (fixture captured from a lab, pids 87 and
199), given the addresses of the cases below.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from atomctl_tui.fleet import Fleet, FleetMember, GearmanTarget, is_loopback
from atomctl_tui.gearman.admin import parse_workers_line
from atomctl_tui.gearman.registration import RegistrationKind, registration_of
from atomctl_tui.gearman.servers import ServerAddress
from atomctl_tui.remote.hosts import Host
from atomctl_tui.remote.site import RemoteSite
from atomctl_tui.systemd.units import UnitState, UnitWatch

FIXTURES = Path(__file__).parent.parent / "fixtures"
DIRECT = "10.0.0.9:4730"
VIA_A = "127.0.0.1:4730 via a"


def member(label: str, *addresses: str) -> FleetMember:
    host = Host(label)
    # A watch that is never subscribed to: no connection to anything is made.
    site = RemoteSite("/atom", addresses=frozenset(addresses))
    return FleetMember(host, UnitWatch(host, ["atom-worker@*.service"]), site=site)


def connections_from(ip: str):
    lines = (FIXTURES / "gearmand-workers-two-units.txt").read_text().splitlines()
    return [replace(c, ip=ip) for c in map(parse_workers_line, lines) if c is not None]


def kind(fleet: Fleet, host: str, pid: int, seen: dict, via: dict) -> RegistrationKind:
    unit = UnitState(name="atom-worker@1.service", active_state="active", main_pid=pid)

    def owners(server, connection):
        return fleet.owners(connection.ip, via.get(server))

    return registration_of(unit, seen, host=host, owners=owners).kind


def test_the_same_pid_on_two_hosts_is_told_apart_by_address():
    fleet = Fleet([member("a", "10.0.0.1"), member("b", "10.0.0.2")])
    seen = {DIRECT: connections_from("10.0.0.2")}
    assert kind(fleet, "b", 87, seen, {}) is RegistrationKind.REGISTERED
    assert kind(fleet, "a", 87, seen, {}) is RegistrationKind.MISSING  # pid 87 of b, not a's


def test_loopback_on_a_server_reached_through_a_host_is_that_host():
    fleet = Fleet([member("a", "10.0.0.1"), member("b", "10.0.0.2")])
    seen = {VIA_A: connections_from("127.0.0.1")}
    via = {VIA_A: "a"}
    assert kind(fleet, "a", 199, seen, via) is RegistrationKind.REGISTERED
    assert kind(fleet, "b", 199, seen, via) is RegistrationKind.MISSING


def test_an_address_two_hosts_share_is_ambiguous_not_guessed():
    fleet = Fleet([member("a", "192.0.2.2", "127.0.0.1"), member("b", "192.0.2.2", "127.0.0.1")])
    for ip in ("192.0.2.2", "127.0.0.1"):  # loopback on a server reached from here
        seen = {DIRECT: connections_from(ip)}
        registration = registration_of(
            UnitState(name="atom-worker@1.service", active_state="active", main_pid=87),
            seen,
            host="a",
            owners=lambda server, c: fleet.owners(c.ip, None),
        )
        assert registration.kind is RegistrationKind.AMBIGUOUS
        assert registration.text == "ambiguous" and registration.is_warning
    # A definite match elsewhere wins over an ambiguous one.
    seen = {DIRECT: connections_from("192.0.2.2"), VIA_A: connections_from("127.0.0.1")}
    assert kind(fleet, "a", 87, seen, {VIA_A: "a"}) is RegistrationKind.REGISTERED


def test_one_host_matches_by_pid_alone_as_before():
    fleet = Fleet([member("only")])
    seen = {DIRECT: connections_from("203.0.113.7")}
    assert kind(fleet, "only", 87, seen, {}) is RegistrationKind.REGISTERED


def test_loopback_addresses_and_target_names():
    assert all(map(is_loopback, ["127.0.0.1", "127.1.2.3", "::1", "localhost", "::ffff:127.0.0.1"]))
    assert not any(map(is_loopback, ["10.0.0.1", "gearman1", "::2"]))
    address = ServerAddress("127.0.0.1", 4730)
    assert GearmanTarget(address, via="web1").name == "127.0.0.1:4730 via web1"
    assert GearmanTarget(ServerAddress("10.0.0.9", 4730)).name == "10.0.0.9:4730"

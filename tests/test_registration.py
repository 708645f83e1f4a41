"""Matching worker units to Gearman connections, on `workers` replies captured from gearmand.

gearmand-workers-two-units.txt was captured (gearadmin --workers, gearman-job-server 1.1.20)
from a lab whose atom-worker@1 had MainPID 87 and atom-worker@2 MainPID 199; the line with
client id '-' is gearadmin's own connection.
"""

from __future__ import annotations

from pathlib import Path

from atomctl_tui.gearman.admin import parse_workers_line
from atomctl_tui.gearman.registration import Registration, RegistrationKind, registration_of
from atomctl_tui.systemd.units import UnitState

FIXTURES = Path(__file__).parent / "fixtures"
SERVER = "127.0.0.1:4732"


def connections(fixture: str):
    lines = (FIXTURES / fixture).read_text().splitlines()
    return [c for c in map(parse_workers_line, lines) if c is not None]


def unit(pid: int, active_state: str = "active") -> UnitState:
    return UnitState(name="atom-worker@1.service", active_state=active_state, main_pid=pid)


def test_a_unit_whose_pid_has_a_connection_is_registered_with_its_abilities():
    seen = {SERVER: connections("gearmand-workers-two-units.txt")}
    registration = registration_of(unit(87), seen)
    # The stand-in registers every job class of AtoM's default gearman.yml: 18 of them.
    assert registration == Registration(RegistrationKind.REGISTERED, abilities=18)
    assert registration.text == "18 abilities" and not registration.is_warning
    assert registration_of(unit(199), seen).kind is RegistrationKind.REGISTERED


def test_an_active_unit_without_a_connection_is_a_warning():
    seen = {SERVER: connections("gearmand-workers-two-units.txt")}
    registration = registration_of(unit(4242), seen)
    assert registration.kind is RegistrationKind.MISSING
    assert registration.is_warning and registration.text == "not registered"


def test_a_stopped_unit_is_not_expected_on_the_job_server():
    seen = {SERVER: connections("gearmand-workers-two-units.txt")}
    for state in ("inactive", "failed", "activating", "deactivating"):
        registration = registration_of(unit(0, state), seen)
        assert not registration.is_warning, state
    assert registration_of(unit(0, "inactive"), seen).text == "—"


def test_without_any_reply_yet_the_registration_is_unknown():
    assert registration_of(unit(87), None).kind is RegistrationKind.UNKNOWN
    assert registration_of(unit(87), None).text == "?"
    # A reply that lists nobody is knowledge, not ignorance.
    assert registration_of(unit(87), {SERVER: []}).kind is RegistrationKind.MISSING


def test_connections_on_several_servers_add_up_without_counting_a_function_twice():
    first = connections("gearmand-workers.txt")  # pid 45 there: 2 functions
    seen = {"a:4730": first, "b:4730": first}
    registration = registration_of(unit(45), seen)
    assert registration == Registration(RegistrationKind.REGISTERED, abilities=2)
    assert registration_of(unit(44), seen).text == "1 ability"

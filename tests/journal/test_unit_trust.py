"""Which unit a journal line is about: UNIT= and its kin count only from systemd or root."""

from __future__ import annotations

import json

import pytest

from atomctl_tui.journal.entries import parse_entry


def entry(**fields: str) -> str:
    return json.dumps({"__CURSOR": "c", "MESSAGE": "m", **fields})


@pytest.mark.parametrize("field", ["UNIT", "OBJECT_SYSTEMD_UNIT", "COREDUMP_UNIT"])
def test_any_user_claiming_a_unit_is_attributed_to_its_own_unit(field):
    line = entry(**{field: "atom-worker@1.service"}, _PID="4242", _UID="65534")
    assert parse_entry(line).unit is None  # no _SYSTEMD_UNIT: a login session's process
    line = entry(
        **{field: "atom-worker@[/oops].service"}, _UID="65534", _SYSTEMD_UNIT="run-u9.service"
    )
    assert parse_entry(line).unit == "run-u9.service"


@pytest.mark.parametrize("sender", [{"_PID": "1", "_UID": "0"}, {"_PID": "77", "_UID": "0"}])
def test_systemd_and_root_say_which_unit_a_line_is_about(sender):
    line = entry(UNIT="atom-worker@1.service", _SYSTEMD_UNIT="init.scope", **sender)
    assert parse_entry(line).unit == "atom-worker@1.service"


def test_systemd_coredump_says_which_unit_crashed_as_the_crashed_user():
    line = entry(
        COREDUMP_UNIT="atom-worker@2.service",
        UNIT="atom-worker@9.service",  # not coredump's to say
        _UID="33",
        _SYSTEMD_UNIT="systemd-coredump@0-1234-0.service",
    )
    assert parse_entry(line).unit == "atom-worker@2.service"

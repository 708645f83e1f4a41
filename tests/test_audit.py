"""What an audit entry says, and who it names (the journal side is tested against a lab)."""

from __future__ import annotations

import pytest

from atomctl_tui.remote.hosts import Host
from atomctl_tui.systemd import audit
from atomctl_tui.systemd.audit import AuditError, audit_fields, invoking_user


def test_fields_name_unit_action_result_user_and_host():
    fields = audit_fields(Host("archive-01"), "atom-worker@1.service", "restart", "done", "alice")
    assert fields["SYSLOG_IDENTIFIER"] == "atomctl-tui"
    assert fields["ATOMCTL_UNIT"] == "atom-worker@1.service"
    assert fields["ATOMCTL_ACTION"] == "restart"
    assert fields["ATOMCTL_RESULT"] == "done"
    assert fields["ATOMCTL_USER"] == "alice"
    assert fields["ATOMCTL_HOST"] == "archive-01"
    assert fields["PRIORITY"] == "6"
    assert "restart atom-worker@1.service: done" in fields["MESSAGE"]


def test_failures_are_warnings_and_newlines_cannot_forge_fields():
    fields = audit_fields(Host("h"), "x.service", "stop", "access-denied", "eve\nATOMCTL_USER=root")
    assert fields["PRIORITY"] == "4"
    assert "\n" not in fields["ATOMCTL_USER"] and "\n" not in fields["MESSAGE"]


def test_the_user_behind_sudo_is_named(monkeypatch):
    monkeypatch.setenv("SUDO_USER", "alice")
    assert invoking_user() == "alice"
    monkeypatch.delenv("SUDO_USER")
    assert invoking_user()  # the login name, or the process's user without a terminal


def test_a_machine_without_journald_is_said_not_silently_skipped(monkeypatch):
    monkeypatch.setattr(audit, "JOURNAL_SOCKET", "/nonexistent/journal/socket")
    with pytest.raises(AuditError, match="no journal here"):
        audit.record(Host("archive-01"), "atom-worker@1.service", "restart", "done", "alice")


def test_a_host_where_logger_fails_is_said():
    host = Host("remote", run_prefix=("/bin/false",))  # stands for an ssh that cannot connect
    with pytest.raises(AuditError, match="audit entry not written on remote"):
        audit.record(host, "atom-worker@1.service", "restart", "done", "alice")

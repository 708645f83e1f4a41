"""What an audit entry says, and who it names (the journal side is tested against a lab)."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys

import pytest

from atomctl_tui.remote.hosts import Host
from atomctl_tui.systemd import audit
from atomctl_tui.systemd.audit import Actor, AuditError, audit_fields, invoking_user

ALICE = Actor(1000, "alice")
NOBODY_UID = 65534  # "nobody" in every passwd


def test_fields_name_unit_action_result_user_and_host():
    fields = audit_fields(Host("archive-01"), "atom-worker@1.service", "restart", "done", ALICE)
    assert fields["SYSLOG_IDENTIFIER"] == "atomctl-tui"
    assert fields["ATOMCTL_UNIT"] == "atom-worker@1.service"
    assert fields["ATOMCTL_ACTION"] == "restart"
    assert fields["ATOMCTL_RESULT"] == "done"
    assert fields["ATOMCTL_USER"] == "alice"
    assert fields["ATOMCTL_LOGINUID"] == "1000"
    assert "ATOMCTL_SUDO_USER" not in fields
    assert fields["ATOMCTL_HOST"] == "archive-01"
    assert fields["PRIORITY"] == "6"
    assert "restart atom-worker@1.service: done" in fields["MESSAGE"]


def test_failures_are_warnings_and_newlines_cannot_forge_fields():
    actor = Actor(None, "eve", sudo_user="eve\nATOMCTL_USER=root")
    fields = audit_fields(Host("h"), "x.service", "stop", "access-denied", actor)
    assert fields["PRIORITY"] == "4"
    assert fields["ATOMCTL_LOGINUID"] == "unset"
    assert "\n" not in fields["ATOMCTL_SUDO_USER"] and "\n" not in fields["MESSAGE"]


def fields_written_by_a_process_logged_in_as(uid: int, sudo_user: str) -> dict[str, str]:
    """The fields a child process would write, after the kernel was told its login uid (as
    PAM does at login; root may set it once, and it is kept across sudo and su)."""
    code = (
        "import json; from atomctl_tui.remote.hosts import Host; from atomctl_tui.systemd import"
        " audit; print(json.dumps(audit.audit_fields(Host('h'), 'u.service', 'stop', 'done',"
        " audit.acting_user())))"
    )
    script = 'echo "$1" > /proc/self/loginuid && shift && exec "$@"'
    done = subprocess.run(
        ["sh", "-c", script, "sh", str(uid), sys.executable, "-c", code],
        env={**os.environ, "SUDO_USER": sudo_user},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def test_the_kernel_login_uid_names_who_acted_not_the_environment():
    # SUDO_USER is only what the environment says: anyone can set it before `sudo -E`.
    fields = fields_written_by_a_process_logged_in_as(NOBODY_UID, sudo_user="alice")
    assert fields["ATOMCTL_USER"] == "nobody"
    assert fields["ATOMCTL_LOGINUID"] == str(NOBODY_UID)
    assert fields["ATOMCTL_SUDO_USER"] == "alice"
    assert "by nobody" in fields["MESSAGE"]


def test_without_a_login_uid_the_process_user_is_named(monkeypatch, tmp_path):
    unset = tmp_path / "loginuid"
    unset.write_text(str(audit.UNSET_LOGINUID))  # a service, or a container entered without PAM
    monkeypatch.setattr(audit, "LOGINUID_PATH", str(unset))
    monkeypatch.setenv("SUDO_USER", "alice")
    actor = audit.acting_user()
    assert actor.login_uid is None and actor.sudo_user == "alice"
    assert invoking_user() == pwd.getpwuid(os.getuid()).pw_name != "alice"


def test_a_machine_without_journald_is_said_not_silently_skipped(monkeypatch):
    monkeypatch.setattr(audit, "JOURNAL_SOCKET", "/nonexistent/journal/socket")
    with pytest.raises(AuditError, match="no journal here"):
        audit.record(Host("archive-01"), "atom-worker@1.service", "restart", "done", "alice")


def test_a_host_where_logger_fails_is_said():
    host = Host("remote", run_prefix=("/bin/false",))  # stands for an ssh that cannot connect
    with pytest.raises(AuditError, match="audit entry not written on remote"):
        audit.record(host, "atom-worker@1.service", "restart", "done", "alice")

"""Every action on a unit, written to the journal of the host it acted on.

Entries carry SYSLOG_IDENTIFIER=atomctl-tui and the fields ATOMCTL_UNIT, ATOMCTL_ACTION,
ATOMCTL_RESULT, ATOMCTL_USER and ATOMCTL_HOST, so `journalctl SYSLOG_IDENTIFIER=atomctl-tui`
(or `journalctl ATOMCTL_UNIT=atom-worker@1.service`) lists who did what.

On this machine pystemd's ``journal.sendv`` writes the entry. On a lab or a remote host the
console runs elsewhere, so ``logger --journald`` runs there (through ``host.argv``) and reads
the same fields from stdin: the entry lands in that host's journal, next to the unit's lines.
"""

from __future__ import annotations

import getpass
import os
import subprocess

from pystemd import journal

from atomctl_tui.remote.hosts import Host

AUDIT_IDENTIFIER = "atomctl-tui"
PRIORITY_INFO = 6
PRIORITY_WARNING = 4
WRITE_TIMEOUT_SECONDS = 10
JOURNAL_SOCKET = "/run/systemd/journal/socket"


class AuditError(Exception):
    """The entry could not be written; the message says where and why."""


def invoking_user() -> str:
    """Who asked: the user behind sudo, else the login name, else the process's user."""
    sudo_user = os.environ.get("SUDO_USER")
    if sudo_user:
        return sudo_user
    try:
        return os.getlogin()
    except OSError:  # no controlling terminal (a service, a test run)
        return getpass.getuser()


def audit_fields(host: Host, unit: str, action: str, result: str, user: str) -> dict[str, str]:
    fields = {
        "MESSAGE": f"{action} {unit}: {result} (by {user} with atomctl-tui)",
        "PRIORITY": str(PRIORITY_INFO if result == "done" else PRIORITY_WARNING),
        "SYSLOG_IDENTIFIER": AUDIT_IDENTIFIER,
        "ATOMCTL_UNIT": unit,
        "ATOMCTL_ACTION": action,
        "ATOMCTL_RESULT": result,
        "ATOMCTL_USER": user,
        "ATOMCTL_HOST": host.label,
    }
    # One field per line for logger; a newline in a value would start a bogus field.
    return {key: " ".join(value.splitlines()) for key, value in fields.items()}


def record(host: Host, unit: str, action: str, result: str, user: str | None = None) -> None:
    """Write one entry to ``host``'s journal; raises AuditError when that fails."""
    fields = audit_fields(host, unit, action, result, user or invoking_user())
    if host.is_local:
        # sendv reports nothing when it fails: without journald the entry would just vanish.
        if not os.path.exists(JOURNAL_SOCKET):
            raise AuditError(f"audit entry not written: no journal here ({JOURNAL_SOCKET})")
        journal.sendv(*(f"{key}={value}" for key, value in fields.items()))
        return
    entry = "".join(f"{key}={value}\n" for key, value in fields.items())
    argv = host.argv("logger", "--journald")
    try:
        done = subprocess.run(
            argv, input=entry, capture_output=True, text=True, timeout=WRITE_TIMEOUT_SECONDS
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AuditError(f"audit entry not written on {host.label}: {exc}") from exc
    if done.returncode != 0:
        reason = done.stderr.strip() or f"logger exited with {done.returncode}"
        raise AuditError(f"audit entry not written on {host.label}: {reason}")

"""Every action on a unit, written to the journal of the host it acted on.

Entries carry SYSLOG_IDENTIFIER=atomctl-tui and the fields ATOMCTL_UNIT, ATOMCTL_ACTION,
ATOMCTL_RESULT, ATOMCTL_USER, ATOMCTL_LOGINUID, ATOMCTL_SUDO_USER (when set) and ATOMCTL_HOST,
so `journalctl SYSLOG_IDENTIFIER=atomctl-tui` (or `journalctl ATOMCTL_UNIT=atom-worker@1.service`)
lists who did what.

"Who" comes from the kernel: the login uid of this process (``/proc/self/loginuid``), set by
PAM at login and kept across sudo and su, so it names the person behind ``sudo atomctl-tui``
and no environment variable can change it. ``SUDO_USER`` is recorded beside it, as what sudo
said. (Any local user can write an entry with this identifier: trust only those written by
root, ``journalctl _UID=0 SYSLOG_IDENTIFIER=atomctl-tui``.)

On this machine pystemd's ``journal.sendv`` writes the entry. On a lab or a remote host the
console runs elsewhere, so ``logger --journald`` runs there (through ``host.argv``) and reads
the same fields from stdin: the entry lands in that host's journal, next to the unit's lines.
"""

from __future__ import annotations

import os
import pwd
import subprocess
from dataclasses import dataclass, replace

from atomctl_tui.remote.hosts import Host

AUDIT_IDENTIFIER = "atomctl-tui"
PRIORITY_INFO = 6
PRIORITY_WARNING = 4
WRITE_TIMEOUT_SECONDS = 10
JOURNAL_SOCKET = "/run/systemd/journal/socket"
LOGINUID_PATH = "/proc/self/loginuid"
UNSET_LOGINUID = 4294967295  # (uid_t)-1: no login recorded for this process


class AuditError(Exception):
    """The entry could not be written; the message says where and why."""


@dataclass(frozen=True)
class Actor:
    """Who acts: the kernel's login uid (with its user name) and what sudo said."""

    login_uid: int | None
    """None when the kernel has none (a service, a container entered without a login)."""
    name: str
    """The login uid's user name, else this process's user: the primary "who"."""
    sudo_user: str | None = None


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # a uid with no passwd entry (another container's, a deleted user)
        return f"uid {uid}"


def read_login_uid() -> int | None:
    """The kernel's login uid of this process, None when unset or unreadable."""
    try:
        with open(LOGINUID_PATH, encoding="ascii") as file:
            uid = int(file.read().strip())
    except (OSError, ValueError):
        return None
    return None if uid == UNSET_LOGINUID else uid


def acting_user() -> Actor:
    login_uid = read_login_uid()
    name = _user_name(login_uid if login_uid is not None else os.getuid())
    return Actor(login_uid, name, os.environ.get("SUDO_USER") or None)


def invoking_user() -> str:
    """The name recorded as ATOMCTL_USER: the login uid's user, else this process's user."""
    return acting_user().name


def audit_fields(host: Host, unit: str, action: str, result: str, actor: Actor) -> dict[str, str]:
    fields = {
        "MESSAGE": f"{action} {unit}: {result} (by {actor.name} with atomctl-tui)",
        "PRIORITY": str(PRIORITY_INFO if result == "done" else PRIORITY_WARNING),
        "SYSLOG_IDENTIFIER": AUDIT_IDENTIFIER,
        "ATOMCTL_UNIT": unit,
        "ATOMCTL_ACTION": action,
        "ATOMCTL_RESULT": result,
        "ATOMCTL_USER": actor.name,
        "ATOMCTL_LOGINUID": "unset" if actor.login_uid is None else str(actor.login_uid),
        "ATOMCTL_HOST": host.label,
    }
    if actor.sudo_user is not None:
        fields["ATOMCTL_SUDO_USER"] = actor.sudo_user
    # One field per line for logger; a newline in a value would start a bogus field.
    return {key: " ".join(value.splitlines()) for key, value in fields.items()}


def record(host: Host, unit: str, action: str, result: str, user: str | None = None) -> None:
    """Write one entry to ``host``'s journal; raises AuditError when that fails. ``user``
    names the actor instead of the login uid's user (the login uid is recorded still)."""
    actor = acting_user()
    if user is not None:
        actor = replace(actor, name=user)
    fields = audit_fields(host, unit, action, result, actor)
    if host.is_local:
        # sendv reports nothing when it fails: without journald the entry would just vanish.
        if not os.path.exists(JOURNAL_SOCKET):
            raise AuditError(f"audit entry not written: no journal here ({JOURNAL_SOCKET})")
        from pystemd import journal  # here: `check`, `status` and --help need no pystemd

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

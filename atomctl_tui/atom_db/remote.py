"""AtoM's database on a remote host (``--host``), reached through that host's SSH master.

config.php is read over the master by a fixed ``sh`` script with the AtoM root as ``$1``
(never written into the script; ``Host.argv`` quotes every word for the remote shell), which
prints ``-`` when there is no such file, ``! <user> <owner> <group> <mode>`` when it cannot be
read, else its size and its bytes.

The database server is reached, as the host's Gearman server is, through a local Unix socket
in the console's private directory (mode 0700) forwarded by the master: to the remote socket
path when config.php names no host (``ssh -O forward -L local.sock:/remote.sock``), else to
``host:port`` as seen from that host (``SshLink.forward``). The master puts its own forwards
back after a reconnection; the socket forward is asked for again before each new database
connection (the master answers at once when it already has it).
"""

from __future__ import annotations

import subprocess

from atomctl_tui.atom import DEFAULT_ATOM_ROOT
from atomctl_tui.atom_db.config_php import (
    CONFIG_PHP,
    DEFAULT_ENVIRONMENT,
    MAX_CONFIG_BYTES,
    AtomDbConfigError,
    DatabaseSettings,
    missing_words,
    readers_words,
    settings_from_bytes,
)
from atomctl_tui.atom_db.connection import AtomDbError, Endpoint
from atomctl_tui.outside_text import clean_line
from atomctl_tui.remote.ssh_link import COMMAND_TIMEOUT_SECONDS, SshLink

READ_CONFIG_SCRIPT = f"""\
f="$1/{CONFIG_PHP}"
if [ ! -e "$f" ]; then echo -; exit 0; fi
if [ ! -r "$f" ]; then
    printf '! %s ' "$(id -un)"; stat -c '%U %G %a' -- "$f"; exit 0
fi
wc -c < "$f" && head -c {MAX_CONFIG_BYTES + 1} -- "$f"
"""


def read_remote_settings(
    link: SshLink, atom_root: str | None, *, environment: str = DEFAULT_ENVIRONMENT
) -> DatabaseSettings:
    """config.php's settings on ``link``'s host (AtomDbConfigError in words). Blocks for a
    round trip."""
    root = atom_root or str(DEFAULT_ATOM_ROOT)
    name = f"{link.label}:{root}/{CONFIG_PHP}"
    if not link.status.connected:
        raise AtomDbConfigError(f"{name} not read: no SSH connection ({link.status.text})")
    try:
        done = link.run("sh", "-c", READ_CONFIG_SCRIPT, "sh", root, text=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AtomDbConfigError(f"{name} not read ({exc})") from None
    head, newline, data = done.stdout.partition(b"\n")
    words = head.decode(errors="replace").split()
    if done.returncode != 0 or not newline or not words:
        why = clean_line(done.stderr.decode(errors="replace").strip(), 200)
        raise AtomDbConfigError(f"{name} not read ({why or f'status {done.returncode}'})")
    if words[0] == "-":
        raise AtomDbConfigError(missing_words(name))
    if words[0] == "!" and len(words) == 5 and words[4].isdigit():
        user, owner, group, mode = words[1], words[2], words[3], int(words[4], 8)
        readers = readers_words(clean_line(owner, 64), clean_line(group, 64), mode)
        raise AtomDbConfigError(
            f"{name} cannot be read by {clean_line(user, 64)} (permission denied); {readers}"
        )
    if not words[0].isdigit() or int(words[0]) != len(data):
        raise AtomDbConfigError(f"{name} not read whole (it changed while being read?)")
    return settings_from_bytes(data, name, environment=environment)


class RemoteEndpoints:
    """Finds, for a remote host's settings, the local socket that reaches its server."""

    def __init__(self, link: SshLink) -> None:
        self.link = link
        self.socket_path = link.runtime_dir / f"{link.control_path.stem}-db.sock"

    def __call__(self, settings: DatabaseSettings) -> Endpoint:
        status = self.link.status
        if not status.connected:
            raise AtomDbError(f"no SSH connection to {self.link.label} ({status.text})")
        label = f"{settings.where} on {self.link.label}"
        if settings.host is not None:
            path = self.link.forward(settings.host, settings.port)
            return Endpoint(label, unix_socket=str(path), forwarded=True)
        if ":" in settings.socket or not settings.socket.startswith("/"):
            raise AtomDbError(f"the socket path {settings.socket!r} cannot be forwarded over SSH")
        spec = f"{self.socket_path}:{settings.socket}"
        try:
            done = subprocess.run(
                self.link.control_argv("-O", "forward", "-L", spec),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=COMMAND_TIMEOUT_SECONDS,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise AtomDbError(f"cannot forward {label} over SSH ({exc})") from None
        if done.returncode != 0:
            why = clean_line(done.stderr.strip(), 200) or f"status {done.returncode}"
            raise AtomDbError(f"cannot forward {label} over SSH ({why})")
        return Endpoint(label, unix_socket=str(self.socket_path), forwarded=True)

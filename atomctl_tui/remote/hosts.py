"""Where the console looks: the machine whose systemd, journal and AtoM config it reads.

A ``Host`` tells the backends how to reach one machine: an argv prefix that runs a command
there (empty for this machine) and the D-Bus address of its system bus (None for the local
system bus). Commands are always argv lists — never shell strings built here.

A remote host reached with ssh is the one exception ssh itself imposes: ssh joins the words
of the remote command with spaces and the remote login shell parses the result. So for such a
host (``remote_shell``) every word of the command is quoted with ``shlex.quote`` and the
quoted words travel as one argv item: the remote shell then gives the command back exactly
the words it was given, whatever they hold (a journal cursor's ``;``, a unit name's ``\\``).
"""

from __future__ import annotations

import shlex
import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class Host:
    label: str
    run_prefix: tuple[str, ...] = ()
    dbus_address: bytes | None = None
    remote_shell: bool = False  # commands pass through a remote shell (ssh): quote them
    bus_bridge: str = ""  # the remote command behind a unixexec: dbus_address, if any

    def argv(self, *command: str) -> list[str]:
        """The argv that runs ``command`` on this host."""
        if self.remote_shell:
            return [*self.run_prefix, shlex.join(command)]
        return [*self.run_prefix, *command]

    @property
    def is_local(self) -> bool:
        return not self.run_prefix and self.dbus_address is None


def local_host() -> Host:
    return Host(label=socket.gethostname())

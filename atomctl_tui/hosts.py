"""Where the console looks: the machine whose systemd, journal and AtoM config it reads.

A ``Host`` tells the backends how to reach one machine: an argv prefix that runs a command
there (empty for this machine) and the D-Bus address of its system bus (None for the local
system bus). Commands are always argv lists — never shell strings.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class Host:
    label: str
    run_prefix: tuple[str, ...] = ()
    dbus_address: bytes | None = None

    def argv(self, *command: str) -> list[str]:
        """The argv that runs ``command`` on this host."""
        return [*self.run_prefix, *command]

    @property
    def is_local(self) -> bool:
        return not self.run_prefix and self.dbus_address is None


def local_host() -> Host:
    return Host(label=socket.gethostname())

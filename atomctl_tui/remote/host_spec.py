"""`--host [user@]host[:port]`: what the admin typed, checked before it gets anywhere near ssh.

The same meaning as ``systemctl -H``. A value that begins with ``-`` would be read by ssh as an
option (``-oProxyCommand=…`` runs a command), and whitespace or control characters have no
place in a host name, so both are refused with a message in words. Only letters, digits and
``._-`` make a host name or ssh config alias; an IPv6 address goes in brackets.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

_USER = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,63}$")
_HOST_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}$")


class HostSpecError(ValueError):
    """A --host value that is refused; the message says why."""


@dataclass(frozen=True)
class HostSpec:
    """One remote host: the ssh destination, its user and port (None: ssh's own default)."""

    hostname: str
    user: str | None = None
    port: int | None = None

    @property
    def label(self) -> str:
        """How the console names the host: ``host`` or ``host:port`` (the user left out)."""
        host = f"[{self.hostname}]" if ":" in self.hostname else self.hostname
        return f"{host}:{self.port}" if self.port is not None else host

    def __str__(self) -> str:
        return f"{self.user}@{self.label}" if self.user else self.label


def parse_host_spec(text: str) -> HostSpec:
    """``[user@]host[:port]`` or ``[user@][ipv6]:port``; HostSpecError when it is refused."""
    if not isinstance(text, str) or not text:
        raise HostSpecError("an empty host (expected [user@]host[:port])")
    shown = text.encode("unicode_escape").decode("ascii")  # a control character made visible
    if text.startswith("-"):
        raise HostSpecError(
            f"{shown!r}: a host must not begin with '-' (ssh would read it as an option)"
        )
    if any(char.isspace() or not char.isprintable() for char in text):
        raise HostSpecError(f"'{shown}': spaces and control characters are not allowed in a host")
    user, at, rest = text.rpartition("@")
    if at:
        if not _USER.match(user):
            raise HostSpecError(
                f"{shown!r}: {user!r} is not a user name (letters, digits, '.', '_', '-')"
            )
    else:
        user, rest = "", text
    host, port_text = _split_port(rest, shown)
    if host.startswith("-"):
        raise HostSpecError(
            f"{shown!r}: a host must not begin with '-' (ssh would read it as an option)"
        )
    if "/" in host:
        raise HostSpecError(
            f"{shown!r}: host/container (a container on a remote host) is not supported"
        )
    if ":" not in host and not _HOST_NAME.match(host):
        raise HostSpecError(
            f"{shown!r}: {host!r} is not a host name, ssh alias or IP address"
            " (letters, digits, '.', '_', '-')"
        )
    return HostSpec(hostname=host, user=user or None, port=_port(port_text, shown))


def _split_port(rest: str, shown: str) -> tuple[str, str]:
    if rest.startswith("["):
        close = rest.find("]")
        if close < 0:
            raise HostSpecError(f"{shown!r}: '[' without ']' (expected [IPv6]:PORT)")
        host, after = rest[1:close], rest[close + 1 :]
        if after and not after.startswith(":"):
            raise HostSpecError(f"{shown!r}: expected ':PORT' after ']'")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise HostSpecError(f"{shown!r}: {host!r} is not an IPv6 address") from None
        return host, after[1:] if after else ""
    if rest.count(":") > 1:
        raise HostSpecError(f"{shown!r}: put an IPv6 address in brackets: [{rest}] or [ADDR]:PORT")
    host, _, port = rest.partition(":")
    if rest.endswith(":"):
        raise HostSpecError(f"{shown!r}: ':' without a port")
    return host, port


def _port(text: str, shown: str) -> int | None:
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise HostSpecError(f"{shown!r}: port {text!r} is not a number from 1 to 65535")
    return int(text)


def check_ssh_option(text: str) -> str:
    """An ``--ssh-option`` value, ``Key=Value`` for ``ssh -o``: refused if it could be read as
    another option or holds control characters (it is passed as one argv item, never parsed
    by a shell here)."""
    shown = text.encode("unicode_escape").decode("ascii")
    if not text or text.startswith("-"):
        raise HostSpecError(f"--ssh-option {shown!r}: give an ssh option as Key=Value")
    if any(not char.isprintable() for char in text):
        raise HostSpecError(f"--ssh-option {shown!r}: control characters are not allowed")
    key = re.split(r"[=\s]", text, maxsplit=1)[0]
    if not key.isalnum():
        raise HostSpecError(f"--ssh-option {shown!r}: give an ssh option as Key=Value")
    return text

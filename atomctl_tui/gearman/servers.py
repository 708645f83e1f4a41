"""Which job servers to watch, and where that choice came from.

Precedence, first match wins: ``--gearman HOST:PORT`` (repeatable) › the console's config file
› AtoM's own config under the AtoM root (``apps/qubit/config/gearman.yml`` over
``config/gearman.yml``, then the legacy ``gearman_job_server`` setting of ``app.yml``) ›
``127.0.0.1:4730``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from atomctl_tui.atom import DEFAULT_GEARMAN_SERVER, GearmanConfig
from atomctl_tui.gearman.admin import DEFAULT_PORT
from atomctl_tui.gearman.connection import format_address

_HOST_NAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$")


class ServerAddressError(ValueError):
    """A server address that cannot be used; the message says what is wrong with it."""


@dataclass(frozen=True)
class ServerAddress:
    host: str
    port: int = DEFAULT_PORT

    def __str__(self) -> str:
        return format_address(self.host, self.port)


def parse_server_address(text: str) -> ServerAddress:
    """``host``, ``host:port``, ``1.2.3.4:port``, ``[v6]:port`` or a bare IPv6 address."""
    value = str(text).strip()
    if not value:
        raise ServerAddressError("empty server address (expected HOST:PORT)")
    host, port_text = value, ""
    if value.startswith("["):
        close = value.find("]")
        if close < 0:
            raise ServerAddressError(f"{value!r}: '[' without ']' (expected [IPv6]:PORT)")
        host, rest = value[1:close], value[close + 1 :]
        if rest and not rest.startswith(":"):
            raise ServerAddressError(f"{value!r}: expected ':PORT' after ']'")
        port_text = rest[1:]
        _check_ipv6(host, value)
    elif value.count(":") > 1:
        _check_ipv6(value, value)  # a bare IPv6 address has no port
    elif ":" in value:
        host, port_text = value.split(":")
    if ":" not in host and not _is_ipv4(host) and not _HOST_NAME.match(host):
        raise ServerAddressError(f"{value!r}: {host!r} is not a host name or IP address")
    return ServerAddress(host, _parse_port(port_text, value))


def _parse_port(text: str, value: str) -> int:
    if text == "":
        return DEFAULT_PORT
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ServerAddressError(f"{value!r}: port {text!r} is not a number from 1 to 65535")
    return int(text)


def _is_ipv4(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


def _check_ipv6(host: str, value: str) -> None:
    try:
        ipaddress.IPv6Address(host)
    except ValueError as exc:
        raise ServerAddressError(f"{value!r}: {host!r} is not an IPv6 address") from exc


@dataclass(frozen=True)
class ServerChoice:
    """The servers to watch and, in words, where that list came from."""

    servers: tuple[ServerAddress, ...]
    source: str


def choose_servers(
    cli_servers: list[str] | tuple[str, ...],
    config_servers: tuple[ServerAddress, ...],
    config_file: str | None,
    atom_config: GearmanConfig | None,
) -> ServerChoice:
    """Apply the precedence; raises ServerAddressError for a bad ``--gearman`` or AtoM value."""
    if cli_servers:
        return ServerChoice(_unique(parse_server_address(s) for s in cli_servers), "--gearman")
    if config_servers:
        return ServerChoice(_unique(config_servers), f"config file {config_file}")
    if atom_config is not None and atom_config.servers_from_file:
        try:
            servers = _unique(parse_server_address(s) for s in atom_config.servers)
        except ServerAddressError as exc:
            raise ServerAddressError(f"{atom_config.source}: {exc}") from exc
        return ServerChoice(servers, atom_config.source)
    return ServerChoice((parse_server_address(DEFAULT_GEARMAN_SERVER),), "built-in default")


def _unique(servers: Iterable[ServerAddress]) -> tuple[ServerAddress, ...]:
    return tuple(dict.fromkeys(servers))

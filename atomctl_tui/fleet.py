"""The hosts the console watches: this machine (or a lab), or remote hosts over SSH.

A ``Fleet`` holds, for each host, how to reach it (``Host``), its worker units (a
``UnitSource``: a ``UnitWatch``, or for a remote host a ``ProcessUnitWatch``, forked by the
fleet's one ``BusChildren``) and, for a remote host, its SSH connection and the addresses it
is known by. It also says which job
servers to watch and how to reach each one:

- ``--gearman`` or ``servers:`` name them: reached directly from here;
- otherwise each host's own AtoM config (gearman.yml, read over SSH) names its servers; a
  server whose address is local to that host (``127.0.0.1``, ``localhost``, ``::1``) is
  reached through that host's SSH connection (a forwarded Unix socket), any other directly.
  The same address named by several hosts is one server — unless it is local to each, then
  it is one per host ("127.0.0.1:4730 via web1").

Gearman's ``workers`` list gives each connection's IP address; ``owners`` says which hosts
an address can belong to, so that a worker unit is matched to a connection by host *and* pid
(pids repeat across machines). When several hosts share the address (two hosts behind one
NAT, or labs on one machine) the match is ambiguous, and the console says so.
"""

from __future__ import annotations

import contextlib
import ipaddress
import queue
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from atomctl_tui.atom import DEFAULT_GEARMAN_SERVER
from atomctl_tui.config import HOSTS_SOURCE, ConfiguredHost, Settings
from atomctl_tui.gearman.servers import ServerAddress, ServerAddressError, parse_server_address
from atomctl_tui.remote.hosts import Host
from atomctl_tui.remote.ssh_link import DEFAULT_BRIDGE, SshLink, SshOptions
from atomctl_tui.systemd.unit_source import UnitSource
from atomctl_tui.systemd.units import UnitWatch

if TYPE_CHECKING:
    from atomctl_tui.remote.site import RemoteSite
    from atomctl_tui.systemd.bus_process import BusChildren

# What only remote hosts need (their child processes, their AtoM site read over SSH, the
# private directory) is imported in open_fleet: this machine's console starts without it.

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
START_WAIT_SECONDS = 3.0
"""How long the console waits for the hosts' first, batch-mode connections before it starts;
one still connecting then goes on in the background (as a host unreachable at start-up)."""


def is_loopback(address: str) -> bool:
    """An address (or ``localhost``) that means "this machine" wherever it is used."""
    if address.lower() in LOOPBACK_NAMES:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return (mapped or ip).is_loopback


@dataclass(frozen=True)
class GearmanTarget:
    """A job server to watch, and the host whose SSH connection reaches it (None: direct)."""

    address: ServerAddress
    via: str | None = None
    socket_path: Path | None = field(default=None, compare=False)  # the forward, when via
    # Why the way to it is down now (the SSH connection is), else None.
    blocked: Callable[[], str | None] | None = field(default=None, compare=False, repr=False)

    @property
    def name(self) -> str:
        return str(self.address) if self.via is None else f"{self.address} via {self.via}"


@dataclass
class FleetMember:
    host: Host
    units: UnitSource
    link: SshLink | None = None
    site: RemoteSite | None = None

    @property
    def label(self) -> str:
        return self.host.label

    @property
    def addresses(self) -> frozenset[str]:
        return self.site.addresses if self.site is not None else frozenset()


class Fleet:
    """Every host of the console, in the order given."""

    def __init__(
        self,
        members: Sequence[FleetMember],
        *,
        targets: Sequence[GearmanTarget] | None = None,
        runtime_dir: Path | None = None,
        bus_children: BusChildren | None = None,
    ) -> None:
        self.members = tuple(members)
        self._targets = tuple(targets) if targets is not None else None
        self._runtime_dir = runtime_dir
        self._bus_children = bus_children

    @classmethod
    def single(cls, host: Host, patterns: Sequence[str], *, read_only: bool = False) -> Fleet:
        """One host whose bus is a local socket (this machine, a lab): watched in-process."""
        return cls([FleetMember(host, UnitWatch(host, patterns, read_only=read_only))])

    @property
    def several(self) -> bool:
        return len(self.members) > 1

    @property
    def labels(self) -> list[str]:
        return [member.label for member in self.members]

    def member(self, label: str | None) -> FleetMember:
        """The member named ``label`` (None: the first)."""
        if label is None:
            return self.members[0]
        return next(member for member in self.members if member.label == label)

    def gearman_targets(self, settings: Settings) -> tuple[GearmanTarget, ...]:
        if self._targets is not None:
            return self._targets
        return tuple(GearmanTarget(address) for address in settings.servers)

    def owners(self, ip: str, via: str | None) -> frozenset[str]:
        """The hosts a Gearman connection from ``ip`` may come from, on a server reached
        through ``via``'s SSH connection (None: directly from here)."""
        if not self.several:
            return frozenset(self.labels)  # one host: its pid alone says it
        if is_loopback(ip):
            if via is not None:
                return frozenset({via})  # the server's own machine
            return frozenset(m.label for m in self.members if any(map(is_loopback, m.addresses)))
        try:
            ip = str(ipaddress.ip_address(ip))
        except ValueError:
            return frozenset()
        return frozenset(m.label for m in self.members if ip in m.addresses)

    def close(self) -> None:
        """End every child process and SSH connection, and remove the console's private
        directory."""
        from atomctl_tui.systemd.bus_process import ProcessUnitWatch

        for member in self.members:
            # A child process ends only when told; a UnitWatch's bus ends with its last listener.
            if isinstance(member.units, ProcessUnitWatch):
                member.units.stop()
            if member.link is not None:
                member.link.close()
        if self._bus_children is not None:
            self._bus_children.close()
        if self._runtime_dir is not None:
            shutil.rmtree(self._runtime_dir, ignore_errors=True)


def open_fleet(
    settings: Settings,
    patterns: Sequence[str],
    *,
    read_only: bool = False,
    interactive: bool = True,
    say: Callable[[str], None] = lambda words: None,
    bridge: str = DEFAULT_BRIDGE,
    start_units: bool = True,
) -> tuple[Fleet, Settings]:
    """Connect to ``settings.hosts`` (every host at once in batch mode; then, ``interactive``,
    one at a time those a prompt could let in, so prompts do not mix), read each one's AtoM
    site, and return the fleet with the settings it implies (job servers, site prefix,
    warnings). A host that cannot be reached, or is still connecting after
    ``START_WAIT_SECONDS``, does not stop anything: it is retried in the background and the
    console shows its state. ``start_units=False`` leaves each host's unit watch to start with
    its first listener (a one-shot reader subscribes before it starts)."""
    from atomctl_tui.remote.private_dir import make_private_dir
    from atomctl_tui.systemd.bus_process import BusChildren

    runtime_dir = make_private_dir()  # mode 0700; those of consoles that died go
    bus_children = BusChildren()
    options = SshOptions(settings.ssh_config, settings.ssh_options)
    labels = _labels(settings.hosts)
    links = [
        SshLink(configured.spec, options, runtime_dir, name=f"h{index}", label=label, bridge=bridge)
        for index, (configured, label) in enumerate(zip(settings.hosts, labels, strict=True))
    ]
    try:
        return _open_fleet(
            settings,
            patterns,
            links,
            runtime_dir,
            bus_children,
            read_only,
            interactive,
            say,
            start_units,
        )
    except BaseException:  # ctrl+c at a prompt, a signal: leave nothing behind
        for link in links:
            link.close()
        bus_children.close()
        shutil.rmtree(runtime_dir, ignore_errors=True)
        raise


def _open_links(
    links: Sequence[SshLink],
    interactive: bool,
    say: Callable[[str], None],
    connected: Callable[[int], None],
) -> None:
    """Every master at once in batch mode, then those a prompt could open, one at a time;
    ``connected(index)`` as each one is up, in the order they come up."""
    finished: queue.Queue[int] = queue.Queue()
    for index, link in enumerate(links):
        link.begin(partial(finished.put, index))
        say(f"{link.label}: connecting…")
    deadline = time.monotonic() + START_WAIT_SECONDS
    pending = set(range(len(links)))
    while pending:
        try:
            index = finished.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        pending.discard(index)
        say(f"{links[index].label}: {links[index].status.text}")
        if links[index].status.connected:
            connected(index)
    for index in sorted(pending):
        say(f"{links[index].label}: still connecting; the console starts without waiting for it")
    if not interactive:
        return
    for index, link in enumerate(links):
        if index not in pending and link.prompt_could_help:
            say(f"{link.label}: connecting, ssh may ask…")
            say(f"{link.label}: {link.open(interactive=True).text}")
            if link.status.connected:
                connected(index)


def _open_fleet(
    settings: Settings,
    patterns: Sequence[str],
    links: list[SshLink],
    runtime_dir: Path,
    bus_children: BusChildren,
    read_only: bool,
    interactive: bool,
    say: Callable[[str], None],
    start_units: bool,
) -> tuple[Fleet, Settings]:
    from atomctl_tui.remote.site import read_remote_site
    from atomctl_tui.systemd.bus_process import ProcessUnitWatch

    if start_units:  # else it starts with the first unit watch that does
        with contextlib.suppress(OSError):  # else each host's child says why it cannot start
            bus_children.start()  # its imports while the masters open
    watches = [
        ProcessUnitWatch(link.host(), patterns, read_only=read_only, children=bus_children)
        for link in links
    ]
    site_reads: dict[int, Future[RemoteSite]] = {}

    def connected(index: int) -> None:
        """A host is up: its AtoM site read, its units watched, while others connect."""
        site_reads[index] = pool.submit(
            read_remote_site, links[index], settings.hosts[index].atom_root
        )
        if start_units:
            watches[index].start()

    with ThreadPoolExecutor(max_workers=max(1, len(links))) as pool:
        _open_links(links, interactive, say, connected)
        for index, link in enumerate(links):  # up since, though not waited for
            if index not in site_reads and link.status.connected:
                connected(index)
        sites = [
            site_reads[index].result() if index in site_reads else None
            for index in range(len(links))
        ]
    members = [
        FleetMember(link.host(), watch, link=link, site=site)
        for link, watch, site in zip(links, watches, sites, strict=True)
    ]
    warnings = list(settings.warnings)
    for member in members:
        if member.site is None:
            warnings.append(
                f"{member.label}: not connected at start-up, so its AtoM config was not read"
            )
        else:
            warnings.extend(member.site.warnings)
    targets = _targets(settings, members, warnings)
    primary = next((m.site for m in members if m.site and m.site.atom_root), None)
    fleet_settings = replace(
        settings,
        servers=tuple(dict.fromkeys(target.address for target in targets)),
        site_prefix=primary.prefix if primary else None,
        worker_types=MappingProxyType(dict(primary.gearman.worker_types))
        if primary and primary.gearman
        else settings.worker_types,
        warnings=tuple(warnings),
    )
    for link in links:
        link.start()
    if start_units:
        for watch in watches:
            watch.start()  # connecting while the console starts
    fleet = Fleet(members, targets=targets, runtime_dir=runtime_dir, bus_children=bus_children)
    return fleet, fleet_settings


def _labels(hosts: Sequence[ConfiguredHost]) -> list[str]:
    """``host[:port]``, or with the user too when two hosts would otherwise share a name."""
    short = [configured.spec.label for configured in hosts]
    return [
        label if short.count(label) == 1 else str(configured.spec)
        for label, configured in zip(short, hosts, strict=True)
    ]


def _targets(
    settings: Settings, members: Sequence[FleetMember], warnings: list[str]
) -> tuple[GearmanTarget, ...]:
    if settings.servers_source != HOSTS_SOURCE:  # --gearman or servers: from here
        return tuple(GearmanTarget(address) for address in settings.servers)
    targets: dict[GearmanTarget, None] = {}
    for member in members:
        gearman = member.site.gearman if member.site else None
        named = gearman.servers if gearman and gearman.servers_from_file else ()
        for text in named or (DEFAULT_GEARMAN_SERVER,):
            try:
                address = parse_server_address(text)
            except ServerAddressError as exc:
                warnings.append(f"{member.label}: a Gearman server is unusable: {exc}")
                continue
            targets[_target(address, member)] = None
    return tuple(targets)


def _target(address: ServerAddress, member: FleetMember) -> GearmanTarget:
    link = member.link
    if link is None or not is_loopback(address.host):
        return GearmanTarget(address)

    def blocked() -> str | None:
        status = link.status
        return None if status.connected else f"no SSH connection to {link.label} ({status.text})"

    return GearmanTarget(
        address,
        via=member.label,
        socket_path=link.forward(address.host, address.port),
        blocked=blocked,
    )

"""The health findings' inputs that come from the fleet: which servers each host's gearman.yml
names, on which host each job server runs, and whose a Gearman connection is.

Used alike by the console (``ui/health_strip.py``) and by ``atomctl-tui check``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from atomctl_tui.atom import AtomConfigError, load_gearman_config
from atomctl_tui.config import Settings
from atomctl_tui.fleet import Fleet, FleetMember, GearmanTarget, is_loopback
from atomctl_tui.gearman.admin import WorkerConnection
from atomctl_tui.gearman.registration import Owners
from atomctl_tui.health.findings import HostView
from atomctl_tui.remote.ssh_link import LinkStatus
from atomctl_tui.systemd.bus import CONNECTING, ConnectionStatus
from atomctl_tui.systemd.units import UnitState, UnitsUpdate, is_template, matches


def gearman_servers_by_host(fleet: Fleet, settings: Settings) -> dict[str, tuple[str, ...] | None]:
    """The servers each host's AtoM site names (AtoM's default when its gearman.yml names
    none); None where no AtoM site is known, or its config cannot be read."""
    return {member.label: _site_servers(member, settings) for member in fleet.members}


def _site_servers(member: FleetMember, settings: Settings) -> tuple[str, ...] | None:
    if member.link is not None:  # a remote host: its site was read over SSH
        site = member.site
        if site is None or site.atom_root is None or site.gearman is None:
            return None
        return site.gearman.servers
    if settings.atom_root is None:
        return None
    try:
        return load_gearman_config(settings.atom_root).servers
    except AtomConfigError:
        return None  # the Job server pane and `status` already say why


def server_hosts(fleet: Fleet, targets: Sequence[GearmanTarget]) -> dict[str, str]:
    """The host each job server runs on, where the console can tell: the host whose SSH
    connection reaches it, the only host for a loopback address, or the one host that has
    the address."""
    found: dict[str, str] = {}
    for target in targets:
        if target.via is not None:
            found[target.name] = target.via
        elif not fleet.several and is_loopback(target.address.host):
            found[target.name] = fleet.labels[0]
        else:
            owners = [m.label for m in fleet.members if target.address.host in m.addresses]
            if len(owners) == 1:
                found[target.name] = owners[0]
    return found


def connection_owners(fleet: Fleet, targets: Sequence[GearmanTarget]) -> Owners | None:
    """With several hosts, which hosts a server's connection may come from (None: one host,
    where the pid alone says it)."""
    if not fleet.several:
        return None
    via = {target.name: target.via for target in targets}

    def owners(server: str, connection: WorkerConnection) -> frozenset[str]:
        return fleet.owners(connection.ip, via.get(server))

    return owners


def host_view(
    label: str,
    units: Mapping[str, UnitState],
    *,
    templates: Sequence[str],
    systemd: ConnectionStatus | None,
    link: LinkStatus | None,
    gearman_servers: tuple[str, ...] | None,
    worker_patterns: Sequence[str],
) -> HostView:
    return HostView(
        label=label,
        units=units,
        systemd=systemd,
        link=link,
        gearman_servers=gearman_servers,
        can_add_worker=any(
            is_template(name) and matches(name, worker_patterns) for name in templates
        ),
    )


class UnitsReading:
    """A listener of a host's unit watch that knows when the host's units have all been
    read once: systemd connected, the units listed, each loaded unit's details read (its
    NRestarts known). A failed connection ends the wait too: it is a finding."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.units: dict[str, UnitState] = {}
        self.templates: tuple[str, ...] = ()
        self.status = CONNECTING
        self._listed = False
        self.done = threading.Event()

    def __call__(self, update: UnitsUpdate) -> None:
        with self._lock:
            for name in update.removed:
                self.units.pop(name, None)
            self.units.update(update.changed)
            if update.status is not None:
                self.status = update.status
            if update.templates is not None:
                self.templates = update.templates
            self._listed |= update.listed
            failed = not self.status.connected and self.status != CONNECTING
            read = self._listed and all(
                unit.restarts is not None
                for unit in self.units.values()
                if unit.is_loaded and unit.is_service
            )
            if failed or read:
                self.done.set()

    def result(self) -> tuple[dict[str, UnitState], tuple[str, ...], ConnectionStatus]:
        with self._lock:
            return dict(self.units), self.templates, self.status

"""The health findings' inputs that come from the fleet: which servers each host's gearman.yml
names, on which host each job server runs, whose a Gearman connection is, and each host's
units as read so far.

Used alike by the console (``health/monitor.py``) and by ``atomctl-tui check``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from atomctl_tui.config import Settings
from atomctl_tui.fleet import Fleet, FleetMember, GearmanTarget, is_loopback
from atomctl_tui.gearman.admin import WorkerConnection
from atomctl_tui.gearman.registration import Owners
from atomctl_tui.gearman.snapshot import ServerSnapshot
from atomctl_tui.health.findings import HealthInputs, HostView
from atomctl_tui.health.unit_rules import server_key
from atomctl_tui.journal.worker_activity import ActivitySnapshot
from atomctl_tui.remote.ssh_link import LinkStatus
from atomctl_tui.systemd.bus import CONNECTING, ConnectionStatus
from atomctl_tui.systemd.units import UnitState, UnitsUpdate, is_template, matches

if TYPE_CHECKING:
    from atomctl_tui.atom_db.watch import JobsSnapshot


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
    # Read at start-up (the Job server pane and `status` say why when it could not be).
    return settings.gearman_config.servers if settings.gearman_config else None


def asked_server(fleet: Fleet, settings: Settings, targets: Sequence[GearmanTarget]) -> str | None:
    """The watched server AtoM asks whether a worker can take a job: the last one the site's
    gearman.yml names (the first remote host's site, with several hosts); None when the
    console cannot tell which watched server that is."""
    asked: str | None = None
    site_host: str | None = None
    for member in fleet.members:
        if member.link is None:
            if settings.gearman_config is None:
                return None
            asked = settings.gearman_config.asked_server
        elif member.site is not None and member.site.gearman is not None:
            asked, site_host = member.site.gearman.asked_server, member.label
        if asked is not None:
            break
    if asked is None:
        return None
    key = server_key(asked)
    matching = [t for t in targets if server_key(t.name) == key]
    if len(matching) > 1:  # one loopback address per host: the site's own host's
        matching = [t for t in matching if t.via == site_host]
    return matching[0].name if len(matching) == 1 else None


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


class FleetFacts:
    """What the fleet and the settings tell the findings, worked out once; ``inputs()`` adds
    what changes (units, SSH connections, polls)."""

    def __init__(self, fleet: Fleet, settings: Settings) -> None:
        targets = fleet.gearman_targets(settings)
        self.labels = tuple(fleet.labels)
        self.settings = settings
        self.gearman_servers = gearman_servers_by_host(fleet, settings)
        self.server_hosts = server_hosts(fleet, targets)
        self.owners = connection_owners(fleet, targets)
        self.asked_server = asked_server(fleet, settings, targets)

    def inputs(
        self,
        readings: Mapping[str, UnitsReading],
        links: Mapping[str, LinkStatus],
        snapshots: tuple[ServerSnapshot, ...] | None,
        *,
        now: float = 0.0,
        unanswered: ConnectionStatus | None = None,
        activities: Mapping[str, ActivitySnapshot] | None = None,
        atom_jobs: Mapping[str, JobsSnapshot] | None = None,
    ) -> HealthInputs:
        """Every host as ``readings`` (none: no units known) and ``links`` (none: reached
        without SSH) say. ``unanswered``: what a systemd still connecting is said to be (a
        check whose time is up); ``now`` 0: the time of the assessment."""
        patterns = self.settings.unit_patterns
        hosts = []
        for label in self.labels:
            reading = readings.get(label)
            units, templates, status = reading.result() if reading else ({}, (), None)
            if status == CONNECTING and unanswered is not None:
                status = unanswered
            hosts.append(
                HostView(
                    label=label,
                    units=units,
                    systemd=status,
                    link=links.get(label),
                    gearman_servers=self.gearman_servers.get(label),
                    can_add_worker=any(
                        is_template(name) and matches(name, patterns) for name in templates
                    ),
                )
            )
        return HealthInputs(
            hosts=tuple(hosts),
            snapshots=snapshots,
            site_prefix=self.settings.site_prefix,
            worker_types=self.settings.worker_types,
            worker_patterns=patterns,
            server_hosts=self.server_hosts,
            owners=self.owners,
            now=now,
            asked_server=self.asked_server,
            activities=activities or {},
            atom_jobs=atom_jobs or {},
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

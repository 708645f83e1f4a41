"""The whole console (``AtomctlApp``) on fake sources replaying captured lab moments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from atomctl_tui.atom import DEFAULT_WORKER_TYPES
from atomctl_tui.config import Settings
from atomctl_tui.fleet import Fleet, FleetMember, GearmanTarget
from atomctl_tui.gearman.servers import parse_server_address
from atomctl_tui.gearman.watch import JobServersWatch
from atomctl_tui.journal.watch import JournalWatch
from atomctl_tui.remote.hosts import Host
from atomctl_tui.ui.app import AtomctlApp
from tests.fakes import (
    FakeJobServers,
    FakeJournal,
    FakeUnitSource,
    Moment,
    journal_fixture_entries,
    load_moment,
)

HOST_LABEL = "hscratch"  # the lab the moments were captured in
JOURNAL_FIXTURE = "journal-hostile.jsonl"


@dataclass(frozen=True)
class FakeConsole:
    app: AtomctlApp
    moment: Moment  # the last moment played: what the console shows
    units: FakeUnitSource
    job_servers: FakeJobServers
    journal: FakeJournal


def fake_console(moment_names: Sequence[str], *, gearmand_socket: Path) -> FakeConsole:
    """The console on one host whose units are the last moment's, whose job server polls
    are the moments' in order (played by ``job_servers.play_all()``), whose journal holds
    the hostile journal lines; the job server's admin port (the Jobs view's) is
    ``gearmand_socket``."""
    moments = [load_moment(name) for name in moment_names]
    moment = moments[-1]
    host = Host(label=HOST_LABEL)
    units = FakeUnitSource(host, moment.units, templates=moment.templates)
    addresses = tuple(parse_server_address(server) for server in moment.servers)
    targets = tuple(
        GearmanTarget(address, socket_path=gearmand_socket if index == 0 else None)
        for index, address in enumerate(addresses)
    )
    settings = Settings(
        servers=addresses,
        servers_source=f"the captured lab moment {moment.name!r}",
        atom_root=None,
        site_prefix=moment.site_prefix,
        worker_types=DEFAULT_WORKER_TYPES,
    )
    job_servers = FakeJobServers(m.snapshots() for m in moments)
    journal = FakeJournal(host, journal_fixture_entries(JOURNAL_FIXTURE))
    app = AtomctlApp(
        fleet=Fleet([FleetMember(host, units)], targets=targets),
        settings=settings,
        # The fakes stand where the backends stand: the same calls, no subclassing.
        job_servers=cast(JobServersWatch, job_servers),
        journal_watches=[cast(JournalWatch, journal)],
        atom_sites=[],  # no AtoM database in these moments: the AtoM jobs view has its own
    )
    return FakeConsole(app, moment, units, job_servers, journal)

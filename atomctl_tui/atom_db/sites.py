"""The database of an AtoM site, on this machine or on a remote host."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

from atomctl_tui.atom import DEFAULT_ATOM_ROOT
from atomctl_tui.atom_db.config_php import DEFAULT_ENVIRONMENT, read_local_settings
from atomctl_tui.atom_db.connection import AtomDatabase
from atomctl_tui.atom_db.jobs import JobsQuery
from atomctl_tui.atom_db.remote import RemoteEndpoints, read_remote_settings
from atomctl_tui.atom_db.report import SiteJobs
from atomctl_tui.atom_db.watch import JobsSnapshot, read_jobs
from atomctl_tui.config import ConfiguredHost, Settings
from atomctl_tui.fleet import Fleet, FleetMember
from atomctl_tui.remote.ssh_link import SshLink


def local_database(
    atom_root: str | os.PathLike[str], *, environment: str = DEFAULT_ENVIRONMENT
) -> AtomDatabase:
    """The database config.php under ``atom_root`` names, reached from this machine."""
    return AtomDatabase(lambda: read_local_settings(atom_root, environment=environment))


def remote_database(
    link: SshLink, atom_root: str | None, *, environment: str = DEFAULT_ENVIRONMENT
) -> AtomDatabase:
    """The database of ``link``'s host's AtoM site (``atom_root`` there; None: AtoM's
    default root), reached through its SSH master."""
    return AtomDatabase(
        lambda: read_remote_settings(link, atom_root, environment=environment),
        RemoteEndpoints(link),
    )


def read_local_site(
    label: str, atom_root: str | os.PathLike[str] | None, query: JobsQuery | None
) -> SiteJobs:
    """This machine's AtoM site's jobs, read once (blocks, bounded)."""
    if atom_root is None:
        error = f"no AtoM site found (none at {DEFAULT_ATOM_ROOT}; give --atom-root)"
        return SiteJobs(label, None, JobsSnapshot(time.time(), error=error))
    database = local_database(atom_root)
    try:
        return SiteJobs(label, str(atom_root), read_jobs(database, query))
    finally:
        database.close()


def read_fleet_sites(fleet: Fleet, settings: Settings, query: JobsQuery | None) -> list[SiteJobs]:
    """Each remote host's AtoM site's jobs, read once through its SSH master, all at once."""

    def read(member: FleetMember, configured: ConfiguredHost) -> SiteJobs:
        assert member.link is not None
        database = remote_database(member.link, configured.atom_root)
        root = configured.atom_root or str(DEFAULT_ATOM_ROOT)
        try:
            return SiteJobs(member.label, root, read_jobs(database, query))
        finally:
            database.close()

    pairs = list(zip(fleet.members, settings.hosts, strict=True))
    with ThreadPoolExecutor(max_workers=max(1, len(pairs))) as pool:
        return list(pool.map(lambda pair: read(*pair), pairs))

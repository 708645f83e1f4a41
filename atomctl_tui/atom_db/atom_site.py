"""One host's AtoM site as the console reaches it: its jobs' watch, and a way to open the
database for one job's story or for marking a job failed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from atomctl_tui.atom_db.connection import AtomDatabase
from atomctl_tui.atom_db.sites import local_database, remote_database
from atomctl_tui.atom_db.watch import AtomJobsWatch
from atomctl_tui.config import Settings
from atomctl_tui.fleet import Fleet
from atomctl_tui.remote.hosts import Host


@dataclass(frozen=True)
class AtomSite:
    host: Host
    """The host whose site it is: its journal holds the workers' lines, its audit entries."""
    watch: AtomJobsWatch
    open_database: Callable[[], AtomDatabase]
    """A connection of its own (the watch's is busy on its thread); the caller closes it."""
    site_prefix: str | None = None
    """The site's Gearman function prefix, when known."""


def console_sites(fleet: Fleet, settings: Settings) -> list[AtomSite]:
    """The AtoM site of each host whose database the console can reach: this machine's (its
    ``--atom-root``), or each remote host's through its SSH master (the root found there).
    A lab or a host entered by a command prefix has none: its socket is not this machine's."""
    sites = []
    # Remote members are the configured hosts, in their order.
    configured_roots = [host.atom_root for host in settings.hosts]
    for index, member in enumerate(fleet.members):
        if member.link is not None:
            root = member.site.atom_root if member.site is not None else None
            if root is None and index < len(configured_roots):
                root = configured_roots[index]
            link = member.link
            prefix = member.site.prefix if member.site is not None else None
            sites.append(
                AtomSite(
                    member.host,
                    AtomJobsWatch(remote_database(link, root)),
                    partial(remote_database, link, root),
                    prefix,
                )
            )
        elif member.host.is_local and settings.atom_root is not None:
            local_root = settings.atom_root
            sites.append(
                AtomSite(
                    member.host,
                    AtomJobsWatch(local_database(local_root)),
                    partial(local_database, local_root),
                    settings.site_prefix,
                )
            )
    return sites

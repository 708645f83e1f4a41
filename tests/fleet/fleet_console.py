"""The console opened on remote hosts (labs over SSH) as an admin would open it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from atomctl_tui.atom import JOB_SERVER_UNIT
from atomctl_tui.cli import build_parser, settings_from
from atomctl_tui.fleet import Fleet, open_fleet
from atomctl_tui.lab.two_labs import NO_CONFIG
from atomctl_tui.remote.ssh_link import DEFAULT_BRIDGE
from atomctl_tui.ui.app import AtomctlApp


@contextlib.contextmanager
def fleet_console(argv: list[str], *, bridge: str = DEFAULT_BRIDGE) -> Iterator[AtomctlApp]:
    """The console for ``argv``, its SSH connections opened (batch mode: no terminal here)
    and closed afterwards, as ``atomctl-tui`` does."""
    args = build_parser().parse_args(argv)
    settings = settings_from(args, environ=NO_CONFIG)
    patterns = [*settings.unit_patterns, JOB_SERVER_UNIT]
    fleet: Fleet
    fleet, fleet_settings = open_fleet(settings, patterns, interactive=False, bridge=bridge)
    try:
        yield AtomctlApp(fleet=fleet, settings=fleet_settings)
    finally:
        fleet.close()

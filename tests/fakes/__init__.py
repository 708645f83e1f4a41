"""Fakes of the console's sources, replaying moments captured for real (tests/fixtures).

Each stands where a backend object stands — a unit watch, an SSH link, the job servers'
watch, a host's journal watch, a job server's admin port — with the same ``subscribe(listener)
-> unsubscribe``, and says only what a fixture says: gearmand's replies go through the
project's own parsers, journal lines through ``parse_entry``. Nothing here reaches a real
systemd, gearmand, journald or sshd; unit actions on a fake host are refused and recorded.
"""

from tests.fakes.gearmand import FakeGearmand
from tests.fakes.job_servers import FakeJobServers
from tests.fakes.journal import FakeJournal, journal_fixture_entries
from tests.fakes.moments import Moment, load_moment, server_snapshot
from tests.fakes.ssh import FakeSshLink
from tests.fakes.units import FakeUnitSource, RefusingUnitActions

__all__ = [
    "FakeGearmand",
    "FakeJobServers",
    "FakeJournal",
    "FakeSshLink",
    "FakeUnitSource",
    "Moment",
    "RefusingUnitActions",
    "journal_fixture_entries",
    "load_moment",
    "server_snapshot",
]

"""A journal scope of thousands of units followed over SSH: journalctl's argument list does
not grow with them (2,000 once made it too long for one remote command, and the pane
retried for ever). Against the shared lab's real sshd and journald."""

from __future__ import annotations

import asyncio

import pytest

from atomctl_tui.journal.follower import JournalFollower
from atomctl_tui.journal.scope import JournalSettings
from atomctl_tui.lab.ssh import client_config_path
from atomctl_tui.remote.host_spec import parse_host_spec
from atomctl_tui.remote.ssh_link import SshLink, SshOptions
from tests.journal.lab_follower import Recorder
from tests.journal.writing import write_stream
from tests.labs import inside, unique_name
from tests.waiting import wait_until_async

pytestmark = pytest.mark.lab

UNITS = 2000

# journald learns a unit name from any entry that carries it: one entry per name, from root.
_NAME_UNITS = """
import socket, sys
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
for n in range(int(sys.argv[2])):
    entry = f"SYSLOG_IDENTIFIER={sys.argv[1]}-names\\nUNIT={sys.argv[1]}@{n}.service\\nMESSAGE=x\\n"
    sock.sendto(entry.encode(), "/run/systemd/journal/socket")
"""


async def test_thousands_of_units_are_followed_over_ssh(lab, tmp_path):
    template = unique_name("many")
    inside(lab, "python3", "-c", _NAME_UNITS, template, str(UNITS))
    await wait_until_async(
        lambda: inside(lab, "journalctl", "-F", "UNIT").count(f"{template}@") >= UNITS,
        what="the journal to know every unit",
    )
    link = SshLink(
        parse_host_spec(f"root@127.0.0.1:{lab.ssh_port}"),
        SshOptions(str(client_config_path())),
        tmp_path,
        name="j0",
    )
    assert link.open(interactive=False).connected
    settings = JournalSettings(
        worker_units=(f"{template}@*.service",), other_units=(), identifiers=(template,)
    )
    got = Recorder()
    follower = JournalFollower(link.host(), settings, got.entries.extend, got.statuses.append)
    task = asyncio.ensure_future(follower.run())
    try:
        await wait_until_async(lambda: follower.runs >= 1, what="journalctl --follow started")
        assert len(follower.units) >= UNITS
        assert len(" ".join(follower.command())) < 4096
        write_stream(lab, template, [b"after the many"])
        # An instance of the template: its own line comes through its slice, systemd's
        # through _PID=1, kept here for its unit.
        unit = f"{template}@late.service"
        # It stays a moment after its line: journald reads a line's unit from the cgroup of
        # the process that wrote it, which a process already gone no longer has.
        inside(lab, "systemd-run", "--quiet", "--wait", f"--unit={unit}",
               "sh", "-c", "echo from late; sleep 1")  # fmt: skip
        await wait_until_async(
            lambda: "after the many" in got.messages(template), what="the line written"
        )
        try:
            await wait_until_async(
                lambda: any(e.message == "from late" and e.unit == unit for e in got.entries),
                what="the instance's own line",
            )
        except AssertionError:
            raise AssertionError([(e.unit, e.identifier, e.message) for e in got.entries]) from None
        await wait_until_async(
            lambda: any(e.message.startswith("Started") and e.unit == unit for e in got.entries),
            what="systemd's line about the instance",
        )
        assert all(status.healthy for status in got.statuses), got.statuses
        assert {e.unit for e in got.entries if e.unit} <= {unit}
    finally:
        follower.stop()
        await asyncio.wait_for(task, 30)
        link.close()

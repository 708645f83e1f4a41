"""The follower against a real lab journal: scope, resume after a kill, new units, errors."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import pytest

from atomctl_tui.journal.follower import JournalFollower
from atomctl_tui.journal.scope import JournalSettings
from tests.journal.lab_follower import is_running, journalctl_under, running_follower
from tests.journal.writing import write_stream
from tests.labs import inside, unique_name
from tests.waiting import wait_until_async

pytestmark = pytest.mark.lab

ONLY_TAGS = {"worker_units": (), "other_units": ()}


async def test_follows_its_scope_and_nothing_else(lab):
    tag, outsider = unique_name("scope-in"), unique_name("scope-out")
    settings = JournalSettings(identifiers=(tag,))
    async with running_follower(lab, settings) as (_, got):
        write_stream(lab, outsider, [b"not for us"])
        write_stream(lab, tag, [b"for us"])
        await wait_until_async(lambda: "for us" in got.messages(tag), what="the scoped line")
        assert "not for us" not in got.messages()
        # The default scope: the workers' own lines came as the backlog, and nothing else.
        sources = {e.source for e in got.entries}
        assert any(source.startswith("atom-worker@") for source in sources), sources
        for source in sources:
            assert source.startswith("atom-worker") or source in {"gearman-job-server", tag}
        # The backlog comes from a one-shot journalctl first: the follow reports in after.
        await wait_until_async(lambda: got.statuses, what="the follower's status")
        assert got.statuses[0].healthy


async def test_killing_journalctl_loses_no_line_and_repeats_none(lab):
    """A numbered sequence written across two kills: of journalctl itself, then of the
    process the follower started (nsenter, leaving journalctl orphaned on the pipe)."""
    tag = unique_name("resume")
    count = 600
    settings = JournalSettings(**ONLY_TAGS, identifiers=(tag,), backlog=10_000)
    writer_code = (
        "import sys, time\n"
        f"for i in range(1, {count + 1}):\n"
        "    print(f'seq-{i}', flush=True)\n"
        "    time.sleep(0.005)\n"  # the workload spreads its lines over the kills
    )
    async with running_follower(lab, settings) as (follower, got):
        writer = subprocess.Popen([sys.executable, "-c", writer_code], stdout=subprocess.PIPE)
        cat = subprocess.Popen(lab.nsenter("systemd-cat", "-t", tag), stdin=writer.stdout)
        writer.stdout.close()
        try:
            await wait_until_async(lambda: len(got.entries) >= 100, what="the first lines")
            journalctl = journalctl_under(follower)
            assert journalctl is not None, "no journalctl under the follower"
            os.kill(journalctl, signal.SIGKILL)
            await wait_until_async(lambda: follower.runs == 2, what="journalctl started again")

            await wait_until_async(lambda: len(got.entries) >= 300, what="lines after the kill")
            leader, orphan = follower.process.pid, journalctl_under(follower)
            os.kill(leader, signal.SIGKILL)
            await wait_until_async(lambda: follower.runs == 3, what="a third journalctl")
            await wait_until_async(lambda: not is_running(orphan), what="the orphan ended")
        finally:
            assert writer.wait(timeout=60) == 0 and cat.wait(timeout=60) == 0
        expected = [f"seq-{i}" for i in range(1, count + 1)]
        await wait_until_async(lambda: len(got.entries) >= count, what="the whole sequence")
        assert got.messages(tag) == expected


async def test_a_unit_outside_the_scope_joins_it_without_losing_lines(lab):
    tag = unique_name("probe")
    unit = f"{tag}.service"
    async with running_follower(lab, JournalSettings(identifiers=(tag,))) as (follower, got):
        write_stream(lab, tag, [b"before"])
        await wait_until_async(lambda: "before" in got.messages(tag), what="the first line")
        # The line may have come with the backlog, before following began: then the restart
        # comes before the first journalctl --follow, which then is the one with the unit.
        runs = follower.runs
        assert follower.include_unit(unit) is True
        assert follower.include_unit(unit) is False  # already in
        await wait_until_async(lambda: follower.runs > runs, what="journalctl with the unit")
        inside(lab, "systemd-run", "--quiet", "--wait", f"--unit={unit}", "echo", f"from {unit}")
        write_stream(lab, tag, [b"after"])
        await wait_until_async(lambda: "after" in got.messages(tag), what="the last line")

        def unit_lines() -> list[str]:
            return [e.message for e in got.entries if e.unit == unit]

        # Its own output, and systemd's lines about it (matched through UNIT= from PID 1).
        await wait_until_async(lambda: f"from {unit}" in unit_lines(), what="the unit's line")
        await wait_until_async(
            lambda: any(m.startswith("Started") for m in unit_lines()), what="systemd's line"
        )
        assert got.messages(tag) == ["before", "after"]
        assert unit in follower.scope_units()


async def test_a_journalctl_that_fails_is_reported_in_words_and_retried(lab):
    settings = JournalSettings(journal_args=("--no-such-option",))
    async with running_follower(lab, settings) as (_, got):

        def failures() -> list[str]:
            return [status.text for status in got.statuses if not status.healthy]

        await wait_until_async(lambda: len(failures()) >= 2, what="a second failed attempt")
        first, second = failures()[:2]
        assert "exit status 1" in first and "no-such-option" in first, first
        assert "following again in 0.5 s" in first and "following again in 1 s" in second


async def test_journal_args_point_it_at_another_journal(lab):
    """--directory: a copy of the lab's journal, standing for a journal from elsewhere."""
    tag = unique_name("copy")
    write_stream(lab, tag, [b"in the copy"])
    # journald takes stream lines asynchronously: copy once the line is in its files.
    await wait_until_async(
        lambda: inside(lab, "journalctl", "-q", "-o", "cat", "-t", tag).strip() == "in the copy",
        what="the line in the live journal",
    )
    copy = f"/tmp/{tag}"  # the lab's private /tmp
    inside(lab, "cp", "-r", "/run/log/journal", copy)
    try:
        write_stream(lab, tag, [b"only in the live journal"])
        settings = JournalSettings(identifiers=(tag,), journal_args=(f"--directory={copy}",))
        async with running_follower(lab, settings) as (_, got):
            await wait_until_async(lambda: got.messages(tag), what="the copied line")
            assert got.messages(tag) == ["in the copy"]
    finally:
        inside(lab, "rm", "-rf", copy)


async def test_stop_between_backlog_and_following_ends_the_run(lab):
    """Asked to stop as the backlog arrives (the moment the --directory test once hung on):
    no journalctl is left running and run() returns."""
    tag = unique_name("stop")
    write_stream(lab, tag, [b"backlog line"])
    await wait_until_async(
        lambda: inside(lab, "journalctl", "-q", "-o", "cat", "-t", tag).strip(),
        what="the line in the journal",
    )
    follower = JournalFollower(
        lab.host(),
        JournalSettings(worker_units=(), other_units=(), identifiers=(tag,)),
        on_entries=lambda entries: follower.stop(),
    )
    await asyncio.wait_for(follower.run(), 30)
    assert follower.process is None and follower.runs == 0

"""A poll's commands sent in one write and their replies read in order (fake servers; the lab
test `test_gearman_admin_lab.py` asks a real gearmand the same way)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from atomctl_tui.gearman.admin import POLL_COMMANDS, AdminTimeout, CommandRefused, ProtocolError

from .test_gearman_admin_hostile import client, fake_server

REPLIES = {
    b"getpid": b"OK 42\n",
    b"version": b"OK 1.1.20\n",
    b"status": b"md5-arFindingAidJob\t3\t1\t2\nmd5-arFileImportJob\t0\t0\t1\n.\n",
    b"prioritystatus": b"md5-arFindingAidJob\t1\t1\t0\t2\nmd5-arFileImportJob\t0\t0\t0\t1\n.\n",
    b"workers": b"7 127.0.0.1 pid_12_a : md5-arFindingAidJob\n8 127.0.0.1 - :\n.\n",
}
ALL_AT_ONCE = b"".join(REPLIES[command.encode()] for command in POLL_COMMANDS)


async def read_commands(reader: asyncio.StreamReader) -> list[bytes]:
    """Every command of a poll, before anything is answered."""
    return [(await reader.readline()).strip() for _ in POLL_COMMANDS]


async def test_a_poll_sends_every_command_before_reading_any_reply():
    async def handler(reader, writer, _n):
        # Answers only once all five are in: a client that waited for each reply in turn
        # would wait for ever (the call timeout).
        while all(commands := await read_commands(reader)):
            writer.write(b"".join(REPLIES[command] for command in commands))
            await writer.drain()

    async with fake_server(handler) as (port, connections), client(port) as admin:
        replies = await admin.poll()
        again = await admin.poll()
    assert (replies.pid, replies.version) == (42, "1.1.20")
    assert [(s.function, s.total, s.running) for s in replies.status.items] == [
        ("md5-arFindingAidJob", 3, 1),
        ("md5-arFileImportJob", 0, 0),
    ]
    assert [(p.high, p.normal) for p in replies.priorities.items] == [(1, 1), (0, 0)]
    assert [c.pid for c in replies.workers.items] == [12, None]
    assert replies.round_trip > 0
    assert again.status is replies.status  # the same bytes: the same listing
    assert connections() == 1


@pytest.mark.parametrize("piece", [1, 7, 4096])
async def test_replies_split_anywhere_are_read_in_order(piece):
    async def handler(reader, writer, _n):
        await read_commands(reader)
        for start in range(0, len(ALL_AT_ONCE), piece):
            writer.write(ALL_AT_ONCE[start : start + piece])
            await writer.drain()
        await reader.read()

    async with fake_server(handler) as (port, _), client(port, call_timeout=5) as admin:
        replies = await admin.poll()
    assert replies.pid == 42 and len(replies.status.items) == 2 and len(replies.workers.items) == 2


async def test_a_listing_that_is_only_its_end_mark_is_empty():
    empty = {**REPLIES, b"status": b".\n", b"prioritystatus": b".\r\n", b"workers": b".\n"}

    async def handler(reader, writer, _n):
        commands = await read_commands(reader)
        writer.write(b"".join(empty[command] for command in commands))
        await writer.drain()
        await reader.read()

    async with fake_server(handler) as (port, _), client(port) as admin:
        replies = await admin.poll()
    assert replies.status.items == replies.priorities.items == replies.workers.items == ()


async def test_a_reply_beyond_the_last_is_refused_and_the_next_poll_is_clean():
    async def handler(reader, writer, n):
        await read_commands(reader)
        writer.write(ALL_AT_ONCE + (b"OK smuggled\n" if n == 1 else b""))
        await writer.drain()
        while await reader.readline():
            pass

    async with fake_server(handler) as (port, connections), client(port) as admin:
        with pytest.raises(ProtocolError, match="sent more after the end of 'workers'"):
            await admin.poll()
        assert (await admin.poll()).pid == 42
    assert connections() == 2


async def test_a_refused_command_in_a_poll_drops_the_connection_out_of_step():
    async def handler(reader, writer, n):
        commands = await read_commands(reader)
        if n == 1:
            writer.write(REPLIES[b"getpid"] + b"ERR UNKNOWN_COMMAND version\n")
        else:
            writer.write(b"".join(REPLIES[command] for command in commands))
        with contextlib.suppress(ConnectionError):
            await writer.drain()
            await reader.read()

    async with fake_server(handler) as (port, connections), client(port) as admin:
        with pytest.raises(CommandRefused, match="UNKNOWN_COMMAND"):
            await admin.poll()
        assert (await admin.poll()).version == "1.1.20"
    assert connections() == 2


async def test_a_silent_reply_in_a_poll_is_named_in_the_timeout():
    async def handler(reader, writer, _n):
        await read_commands(reader)
        writer.write(REPLIES[b"getpid"] + REPLIES[b"version"] + b"md5-f\t1\t0\t0\n")
        await writer.drain()
        await reader.read()

    async with fake_server(handler) as (port, _), client(port, call_timeout=0.3) as admin:
        with pytest.raises(AdminTimeout, match=r"no complete reply to 'status' within 0\.3 s"):
            await admin.poll()

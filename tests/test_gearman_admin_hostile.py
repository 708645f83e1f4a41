"""The admin client against fake job servers that misbehave: clear errors, no crash, no hang.

Each fake server is a real asyncio TCP server in the test; how it answers is the test's point.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable

import pytest

from atomctl_tui.gearman.admin import (
    AdminTimeout,
    CommandRefused,
    GearmanAdminClient,
    GearmanAdminError,
    ProtocolError,
    ServerUnreachable,
)

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]
GOOD_LINE = b"md5-arFindingAidJob\t3\t1\t2\n"


@contextlib.asynccontextmanager
async def fake_server(handler: Handler, host: str = "127.0.0.1"):
    """A server on a free port; ``handler`` gets each connection and its number (from 1)."""
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        with contextlib.suppress(ConnectionError):
            await handler(reader, writer, connections)
        writer.close()

    server = await asyncio.start_server(serve, host, 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port, lambda: connections
    finally:
        server.close()
        await server.wait_closed()


def client(port: int, host: str = "127.0.0.1", **options) -> GearmanAdminClient:
    options.setdefault("call_timeout", 0.5)
    options.setdefault("connect_timeout", 0.5)
    return GearmanAdminClient(host, port, **options)


async def test_garbage_lines_are_counted_and_skipped():
    async def handler(reader, writer, _n):
        await reader.readline()
        writer.write(
            b"\x00\xff\xfe binary\n"
            + GOOD_LINE
            + b"\x1b[31mred\x1b[0m\t1\t2\t3\n"
            + b"only\ttwo\n"
            + b"f\t1\t0\t0\r\n"
            + b".\n"
        )
        await writer.drain()
        await reader.read()

    async with fake_server(handler) as (port, _), client(port) as admin:
        listing = await admin.status()
    assert [s.function for s in listing.items] == ["md5-arFindingAidJob", "f"]
    assert listing.malformed == 3


async def test_a_line_cut_off_by_a_close_is_an_error_in_words():
    async def handler(reader, writer, _n):
        await reader.readline()
        writer.write(GOOD_LINE + b"md5-arFindingAidJob\t3")
        await writer.drain()

    async with fake_server(handler) as (port, _), client(port) as admin:
        with pytest.raises(ProtocolError, match="closed the connection in the middle of a line"):
            await admin.status()


async def test_a_reply_closed_before_its_end_mark_is_an_error():
    async def handler(reader, writer, _n):
        await reader.readline()
        writer.write(GOOD_LINE)
        await writer.drain()

    async with fake_server(handler) as (port, _), client(port) as admin:
        with pytest.raises(ProtocolError, match="before the reply ended"):
            await admin.status()


async def test_a_10_mb_line_hits_the_line_limit_and_the_next_call_is_clean():
    async def handler(reader, writer, n):
        await reader.readline()
        if n == 1:
            writer.write(b"x" * (10 * 1024 * 1024) + b"\n.\n")
        else:
            writer.write(GOOD_LINE + b".\n")
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        await reader.read()

    async with fake_server(handler) as (port, connections), client(port, call_timeout=5) as admin:
        with pytest.raises(ProtocolError, match="longer than 65536 bytes"):
            await admin.status()
        listing = await admin.status()  # a new connection, not the rest of the huge line
    assert [s.total for s in listing.items] == [3]
    assert connections() == 2


async def test_a_reply_that_never_ends_hits_the_call_timeout():
    async def handler(reader, writer, _n):
        await reader.readline()
        while True:
            writer.write(GOOD_LINE)
            await writer.drain()
            await asyncio.sleep(0.01)

    async with fake_server(handler) as (port, _), client(port, call_timeout=0.3) as admin:
        with pytest.raises(AdminTimeout, match=r"no complete reply to 'status' within 0\.3 s"):
            await admin.status()


async def test_a_fast_endless_reply_hits_the_line_count_limit():
    async def handler(reader, writer, _n):
        await reader.readline()
        while True:
            writer.write(GOOD_LINE * 100)
            await writer.drain()

    async with (
        fake_server(handler) as (port, _),
        client(port, call_timeout=10, max_reply_lines=1000) as admin,
    ):
        with pytest.raises(ProtocolError, match="went on past 1000 lines"):
            await admin.status()


async def test_silence_hits_the_timeout_and_a_late_answer_is_never_read_later():
    async def handler(reader, writer, n):
        await reader.readline()
        if n == 1:
            await asyncio.sleep(1.0)
            writer.write(b"OK stale\n")
        else:
            writer.write(b"OK fresh\n")
        await writer.drain()
        await reader.read()

    async with fake_server(handler) as (port, _), client(port, call_timeout=0.3) as admin:
        with pytest.raises(AdminTimeout):
            await admin.version()
        assert await admin.version() == "fresh"


async def test_err_replies_become_clear_errors_and_keep_the_connection():
    async def handler(reader, writer, _n):
        while line := await reader.readline():
            if line.startswith(b"cancel job"):
                writer.write(b"ERR UNKNOWN_JOB\r\n")
            elif line.startswith(b"status"):
                writer.write(b"ERR UNKNOWN_COMMAND Unknown+server+command%22status%22\r\n")
            else:
                writer.write(b"OK 9\n")
            await writer.drain()

    async with fake_server(handler) as (port, connections), client(port) as admin:
        with pytest.raises(CommandRefused) as refused:
            await admin.cancel_job("H:lab:1")
        assert refused.value.code == "UNKNOWN_JOB"
        with pytest.raises(CommandRefused, match='UNKNOWN_COMMAND: Unknown server command"status"'):
            await admin.status()
        assert await admin.getpid() == 9
    assert connections() == 1


async def test_an_unexpected_single_line_reply_is_a_protocol_error():
    async def handler(reader, writer, _n):
        await reader.readline()
        writer.write(b"hello there\n")
        await writer.drain()
        await reader.read()

    async with fake_server(handler) as (port, _), client(port) as admin:
        with pytest.raises(ProtocolError, match="unexpected reply to 'getpid': 'hello there'"):
            await admin.getpid()


async def test_arguments_cannot_smuggle_a_second_command():
    async def handler(reader, writer, _n):
        raise AssertionError("nothing may reach the server")

    async with fake_server(handler) as (port, connections), client(port) as admin:
        for handle in ["H:1\nshutdown", "H 1", "", "H:1\r"]:
            with pytest.raises(GearmanAdminError, match="is not a job handle"):
                await admin.cancel_job(handle)
        with pytest.raises(GearmanAdminError, match="whole numbers"):
            await admin.maxqueue("f", -1)
    assert connections() == 0


async def test_refused_and_unknown_hosts_are_unreachable_in_words():
    async with fake_server(lambda r, w, n: asyncio.sleep(0)) as (port, _):
        pass  # the port is free again: nothing listens there now
    with pytest.raises(ServerUnreachable, match=re.escape(f"127.0.0.1:{port}: connection refused")):
        await client(port).status()
    with pytest.raises(ServerUnreachable, match=re.escape("nosuchhost.invalid:4730: ")):
        await client(4730, host="nosuchhost.invalid").status()


async def test_ipv6_and_host_names_reach_the_server():
    async def handler(reader, writer, _n):
        while await reader.readline():
            writer.write(b"OK 1.1.20+ds\n")
            await writer.drain()

    async with fake_server(handler, host="::1") as (port, _), client(port, host="::1") as admin:
        assert admin.address == f"[::1]:{port}"
        assert await admin.version() == "1.1.20+ds"
    async with fake_server(handler) as (port, _), client(port, host="localhost") as admin:
        assert await admin.version() == "1.1.20+ds"


async def test_a_reply_dribbled_in_tiny_pieces_is_read_whole():
    reply = b"".join(f"f{n}\t{n}\t0\t1\n".encode() for n in range(300)) + b".\n"

    async def handler(reader, writer, _n):
        await reader.readline()
        for start in range(0, len(reply), 7):
            writer.write(reply[start : start + 7])
            await writer.drain()
            await asyncio.sleep(0)

    async with fake_server(handler) as (port, _), client(port, call_timeout=5) as admin:
        listing = await admin.status()
    assert [s.total for s in listing.items] == list(range(300))
    assert listing.malformed == 0


async def test_bytes_after_the_end_mark_are_refused_and_the_connection_dropped():
    async def handler(reader, writer, n):
        await reader.readline()
        writer.write(GOOD_LINE + b".\nOK smuggled\n" if n == 1 else b"OK 5\n")
        await writer.drain()
        await reader.read()

    async with fake_server(handler) as (port, connections), client(port) as admin:
        with pytest.raises(ProtocolError, match="sent more after the end of 'status'"):
            await admin.status()
        assert await admin.getpid() == 5
    assert connections() == 2

"""The admin client against fake job servers that misbehave: clear errors, no crash, no hang.

Each fake server is a real asyncio TCP server in the test; how it answers is the test's point.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections.abc import Awaitable, Callable

import pytest

from atomctl_tui.gearman.admin import (
    DEFAULT_MAX_REPLY_LINES,
    AdminTimeout,
    CommandRefused,
    GearmanAdminClient,
    GearmanAdminError,
    ProtocolError,
    ServerUnreachable,
)
from atomctl_tui.gearman.poller import MAX_FUNCTIONS_KEPT, ServerPoller
from atomctl_tui.gearman.servers import ServerAddress

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


# -- a hostile gearmand: every reply a review sent at the console ---------------------------

ESC_LINE = "\x1b]0;owned-title\x07\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07\x1b[31mred"
BIDI = "job\u202eSdaolnwod"  # shows as "jobdownloadS…" reversed in a terminal that obeys it
HOSTILE_REPLIES = {
    b"getpid": b"OK 77\n",
    b"version": f"OK 1.1.20{ESC_LINE}\n".encode(),
    b"status": (
        f"{BIDI}\t3\t1\t0\n"
        "[/oops]\t1\t0\t0\n"
        "count\t\u00b2\t0\t0\n"  # a superscript two: str.isdigit() says yes, int() says no
        f"huge\t{'9' * 5000}\t0\t0\n"
        ".\n"
    ).encode(),
    b"prioritystatus": f"{BIDI}\t0\t2\t0\t0\n.\n".encode(),
    b"workers": (
        f"7 10.0.0.1 pid_{'1' * 5000}_x : {BIDI}\n"
        f"8 10.0.0.2 {ESC_LINE} : f1\n"
        "\u00b2 10.0.0.3 - : f2\n"
        ".\n"
    ).encode(),
    b"show jobs": f"H:lab:[/oops]{BIDI}\t0\t0\t1\n.\n".encode(),
    b"cancel job": b"ERR UNKNOWN_JOB %1B]52;c;eA%3D%3D%07gone+%E2%80%AE\n",
}


@contextlib.contextmanager
def hostile_gearmand(replies: dict[bytes, bytes] | None = None):
    """A fake gearmand on a thread of its own (so a subprocess can use it too): each command
    gets the reply of the longest key it starts with; its port."""
    table = HOSTILE_REPLIES if replies is None else replies
    started = threading.Event()
    state: dict[str, object] = {}

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while line := await reader.readline():
                keys = [k for k in table if line.startswith(k)]
                writer.write(table[max(keys, key=len)] if keys else b"ERR UNKNOWN_COMMAND x\n")
                await writer.drain()
        writer.close()

    async def run() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        stop = asyncio.Event()
        state.update(port=server.sockets[0].getsockname()[1], loop=asyncio.get_running_loop())
        state["stop"] = stop
        started.set()
        async with server:
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(run(),), daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        yield state["port"]
    finally:
        loop = state["loop"]
        assert isinstance(loop, asyncio.AbstractEventLoop)
        loop.call_soon_threadsafe(state["stop"].set)  # type: ignore[attr-defined]
        thread.join(10)


def shown_safely(text: str) -> bool:
    """No terminal control, no bidi control: what clean_line lets through."""
    return text.isprintable() and "\x1b" not in text and "\u202e" not in text


async def test_every_text_of_a_hostile_reply_comes_out_clean():
    with hostile_gearmand() as port:
        async with client(port) as admin:
            status = await admin.status()
            workers = await admin.workers()
            jobs = await admin.show_jobs()
            version = await admin.version()
            with pytest.raises(CommandRefused) as refused:
                await admin.cancel_job("H:lab:1")
    texts = [s.function for s in status.items] + [version, str(refused.value)]
    texts += [t for c in workers.items for t in (c.ip, c.client_id or "", *c.functions)]
    texts += [j.handle for j in jobs.items]
    assert all(shown_safely(t) for t in texts), texts
    assert status.items[0].function == "job\\u202eSdaolnwod"  # visible, not obeyed
    assert "[/oops]" in [s.function for s in status.items]  # data: markup is the UI's affair
    assert version == "1.1.20red"
    assert str(refused.value) == "UNKNOWN_JOB: gone \\u202e"


async def test_numbers_must_be_short_ascii_digits_else_the_line_is_malformed():
    with hostile_gearmand() as port:
        async with client(port) as admin:
            status = await admin.status()
            workers = await admin.workers()
    assert [s.function for s in status.items] == ["job\\u202eSdaolnwod", "[/oops]"]
    assert status.malformed == 2  # the superscript two and the 5,000 digits
    assert [c.fd for c in workers.items] == [7, 8] and workers.malformed == 1
    assert workers.items[0].pid is None  # pid_<5,000 digits>: not a pid


@pytest.mark.parametrize("answer", ["\u00b2", "9" * 5000, "0", "-5", "12 34"])
async def test_a_getpid_that_is_no_pid_is_an_error_in_words(answer):
    with hostile_gearmand({b"getpid": f"OK {answer}\n".encode()}) as port:
        async with client(port) as admin:
            with pytest.raises(ProtocolError, match="not a pid"):
                await admin.getpid()


async def test_the_poller_turns_a_hostile_getpid_into_an_unreachable_server_in_words():
    with hostile_gearmand({b"getpid": b"OK \xc2\xb2\n"}) as port:
        poller = ServerPoller(ServerAddress("127.0.0.1", port), call_timeout=1)
        snapshot = await poller.poll()
        await poller.close()
    assert not snapshot.reachable
    assert snapshot.error == "'getpid' answered '²', not a pid"


async def test_a_server_with_many_functions_is_summarised_busiest_first():
    count = MAX_FUNCTIONS_KEPT + 500
    lines = [f"f{n:05d}\t{n % 7}\t0\t{n % 2}\n" for n in range(count)]
    replies = {
        b"getpid": b"OK 5\n",
        b"version": b"OK 1\n",
        b"status": ("".join(lines) + ".\n").encode(),
        b"prioritystatus": b".\n",
        b"workers": b".\n",
    }
    with hostile_gearmand(replies) as port:
        poller = ServerPoller(ServerAddress("127.0.0.1", port), call_timeout=5)
        snapshot = await poller.poll()
        await poller.close()
    assert len(snapshot.functions) == MAX_FUNCTIONS_KEPT
    assert snapshot.functions_left_out == 500
    assert snapshot.total == sum(n % 7 for n in range(count))  # the sums count every one
    # Every function with the most waiting jobs is kept; those left out wait least.
    kept = {f.function for f in snapshot.functions}
    assert all(f"f{n:05d}" in kept for n in range(count) if n % 7 >= 2)


async def test_a_reply_over_the_line_limit_is_an_error_not_a_memory_sink():
    body = b"f\t1\t0\t0\n" * (DEFAULT_MAX_REPLY_LINES + 2) + b".\n"
    with hostile_gearmand({b"status": body}) as port:
        async with client(port, call_timeout=30) as admin:
            with pytest.raises(ProtocolError, match=f"went on past {DEFAULT_MAX_REPLY_LINES}"):
                await admin.status()

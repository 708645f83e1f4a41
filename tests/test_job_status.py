"""GET_STATUS packets, encoded and decoded against gearmand 1.1.20's own bytes
(tests/fixtures/gearman/README.md), and the client's limits against a hostile server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from atomctl_tui.gearman.admin import AdminTimeout, ProtocolError, ServerUnreachable
from atomctl_tui.gearman.job_status import (
    HEADER,
    MAX_PAYLOAD_BYTES,
    STATUS_RES,
    JobStatus,
    JobStatusClient,
    JobStatuses,
    decode_error,
    decode_header,
    decode_status,
    encode_get_status,
)

FIXTURES = Path(__file__).parent / "fixtures" / "gearman"


def packets(data: bytes) -> list[tuple[int, bytes]]:
    """Split captured replies into (type, payload)."""
    found = []
    while data:
        kind, size = decode_header(data[: HEADER.size])
        found.append((kind, data[HEADER.size : HEADER.size + size]))
        data = data[HEADER.size + size :]
    return found


def captured(name: str) -> list[JobStatus]:
    replies = packets((FIXTURES / name).read_bytes())
    assert {kind for kind, _ in replies} == {STATUS_RES}
    statuses = [decode_status(payload) for _, payload in replies]
    assert None not in statuses
    return statuses  # type: ignore[return-value]


def test_get_status_is_the_documented_packet():
    assert encode_get_status("H:vm:1") == b"\0REQ\x00\x00\x00\x0f\x00\x00\x00\x06H:vm:1"


@pytest.mark.parametrize(
    "handle", ["", "H:vm 1", "H:vm:\x001", "H:" + "x" * 62, "H:vm:1\n", "H:vm:é"]
)
def test_a_handle_gearmand_cannot_answer_is_never_encoded(handle):
    with pytest.raises(ValueError, match="not a job handle"):
        encode_get_status(handle)


def test_captured_replies_say_running_queued_cancelled_and_unknown():
    statuses = captured("get-status-running-queued-cancelled-unknown.bin")
    assert statuses == [
        JobStatus("H:vm:1", known=True, running=True, numerator=0, denominator=0),
        JobStatus("H:vm:2", known=True, running=False, numerator=0, denominator=0),
        JobStatus("H:vm:3", known=True, running=False, numerator=0, denominator=0),
        JobStatus("H:vm:99", known=False, running=False, numerator=0, denominator=0),
    ]


def test_captured_replies_of_two_running_among_eight():
    statuses = captured("get-status-2-running-1-cancelled.bin")
    assert [s.handle for s in statuses if s.running] == ["H:vm:1", "H:vm:2"]
    assert len(statuses) == 8 and all(s.known for s in statuses)


def test_captured_progress_of_a_worker():
    assert captured("get-status-progress-3-of-10.bin") == [
        JobStatus("H:vm:10", known=True, running=True, numerator=3, denominator=10)
    ]


@pytest.mark.parametrize(
    "payload",
    [
        b"H:vm:1\x001\x001\x000",  # a field short
        b"H:vm:1\x001\x001\x000\x000\x00",  # one too many
        b"H:vm:1\x002\x001\x000\x000",  # known is 0 or 1
        b"H:vm:1\x001\x00yes\x000\x000",
        b"H:vm:1\x001\x001\x00-1\x000",  # numbers are digits
        b"H:vm:1\x001\x001\x000\x001234567890",  # of bounded length
        b"\x1b[31m\x001\x001\x000\x000",  # a handle is printable
        b"\x001\x001\x000\x000",  # and not empty
    ],
)
def test_a_malformed_status_is_refused(payload):
    assert decode_status(payload) is None


def test_a_header_that_is_not_a_reply_is_refused():
    with pytest.raises(ValueError, match="RES"):
        decode_header(b"\0REQ\x00\x00\x00\x14\x00\x00\x00\x00")
    with pytest.raises(ValueError, match="12 bytes"):
        decode_header(b"\0RES")


def test_an_error_packet_is_words_made_safe():
    assert decode_error(b"ERR_CODE\x00bad \x1b[2Jthing") == "ERR_CODE: bad thing"
    assert decode_error(b"") == "an error without words"


def test_what_was_not_answered_in_words():
    assert JobStatuses(asked=3).words() == ""
    words = JobStatuses(asked=500, left_out=20, refused=1, malformed=2).words()
    assert words == (
        "the first 500 asked, 20 more not, 1 handles gearmand cannot answer not asked,"
        " 2 unreadable replies"
    )


# -- the client against a scripted server --------------------------------------------------

Answer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def server(answer: Answer, tmp_path: Path) -> AsyncIterator[JobStatusClient]:
    path = tmp_path / "gm.sock"
    listening = await asyncio.start_unix_server(answer, path=str(path))
    client = JobStatusClient("fake", unix_path=path, call_timeout=0.5, max_handles=3)
    try:
        yield client
    finally:
        await client.close()
        listening.close()
        await listening.wait_closed()


async def read_requests(reader: asyncio.StreamReader, count: int) -> list[bytes]:
    handles = []
    for _ in range(count):
        magic, kind, size = HEADER.unpack(await reader.readexactly(HEADER.size))
        assert (magic, kind) == (b"\0REQ", 15)
        handles.append(await reader.readexactly(size))
    return handles


def status_res(payload: bytes, kind: int = STATUS_RES) -> bytes:
    return HEADER.pack(b"\0RES", kind, len(payload)) + payload


async def test_handles_are_asked_together_capped_and_answered_by_handle(tmp_path):
    asked: list[bytes] = []

    async def answer(reader, writer):
        handles = await read_requests(reader, 3)
        asked.extend(handles)
        # The captured bytes for H:vm:1 and H:vm:2, then one the client never asked about.
        replies = (FIXTURES / "get-status-running-queued-cancelled-unknown.bin").read_bytes()
        writer.write(replies[: 2 * (HEADER.size + 14)] + status_res(b"H:vm:7\x001\x001\x000\x000"))
        await writer.drain()

    async with server(answer, tmp_path) as client:
        result = await client.statuses(
            ["H:vm:1", "H:vm:2", "H:vm:1", "bad handle", "H:vm:5", "H:vm:6", "H:vm:7"]
        )
    assert asked == [b"H:vm:1", b"H:vm:2", b"H:vm:5"]
    assert set(result.by_handle) == {"H:vm:1", "H:vm:2"}
    assert result.by_handle["H:vm:1"].running and not result.by_handle["H:vm:2"].running
    assert (result.asked, result.left_out, result.refused, result.malformed) == (3, 2, 1, 1)


async def test_a_reply_over_the_size_limit_is_refused_in_words(tmp_path):
    async def answer(reader, writer):
        await read_requests(reader, 1)
        writer.write(HEADER.pack(b"\0RES", STATUS_RES, MAX_PAYLOAD_BYTES + 1))
        await writer.drain()

    async with server(answer, tmp_path) as client:
        with pytest.raises(ProtocolError, match="at most 1,024 expected"):
            await client.statuses(["H:vm:1"])


async def test_a_text_reply_is_not_the_binary_protocol(tmp_path):
    async def answer(reader, writer):
        await read_requests(reader, 1)
        writer.write(b"ERR UNKNOWN_COMMAND x\r\n")
        await writer.drain()

    async with server(answer, tmp_path) as client:
        with pytest.raises(ProtocolError, match="not gearmand's binary protocol"):
            await client.statuses(["H:vm:1"])


async def test_an_error_packet_is_refused_in_words(tmp_path):
    async def answer(reader, writer):
        await read_requests(reader, 1)
        writer.write(status_res(b"UNKNOWN_JOB\x00no such job", kind=19))
        await writer.drain()

    async with server(answer, tmp_path) as client:
        with pytest.raises(ProtocolError, match="gearmand refused: UNKNOWN_JOB: no such job"):
            await client.statuses(["H:vm:1"])


async def test_a_silent_server_times_out_and_a_closing_one_is_lost(tmp_path):
    async def silent(reader, writer):
        await read_requests(reader, 1)
        await asyncio.sleep(5)

    async with server(silent, tmp_path) as client:
        with pytest.raises(AdminTimeout, match=r"no status of 1 jobs within 0\.5 s"):
            await client.statuses(["H:vm:1"])

    async def closing(reader, writer):
        await read_requests(reader, 1)
        writer.write(status_res(b"H:vm:1\x001")[:15])
        writer.close()

    async with server(closing, tmp_path) as client:
        with pytest.raises(ProtocolError, match="connection lost"):
            await client.statuses(["H:vm:1"])


async def test_no_server_is_unreachable_in_words(tmp_path):
    client = JobStatusClient("fake", unix_path=tmp_path / "none.sock")
    with pytest.raises(ServerUnreachable, match="no such file or directory"):
        await client.statuses(["H:vm:1"])


async def test_nothing_askable_asks_nothing(tmp_path):
    client = JobStatusClient("fake", unix_path=tmp_path / "none.sock")
    result = await client.statuses(["H:" + "x" * 70])
    assert (result.asked, result.refused, result.by_handle) == (0, 1, {})

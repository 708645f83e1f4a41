"""gearmand's text admin protocol: typed replies (an asyncio client follows in its own issue)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WorkerConnection:
    """One line of `workers`: a connection, the client id it set, the functions it can do."""

    fd: int
    ip: str
    client_id: str | None  # None when the connection set none (gearmand prints '-')
    functions: tuple[str, ...]

    @property
    def pid(self) -> int | None:
        """The worker's pid when the client id is AtoM's ``pid_<pid>_<uniqid>``."""
        if self.client_id and self.client_id.startswith("pid_"):
            number = self.client_id.split("_")[1]
            if number.isdigit():
                return int(number)
        return None


def parse_workers_line(line: str) -> WorkerConnection | None:
    """``FD IP CLIENT_ID : func1 func2``; None for a line of another shape."""
    head, colon, tail = line.partition(" :")
    fields = head.split()
    if not colon or len(fields) != 3 or not fields[0].isdigit():
        return None
    fd, ip, client_id = fields
    return WorkerConnection(
        fd=int(fd),
        ip=ip,
        client_id=None if client_id == "-" else client_id,
        functions=tuple(tail.split()),
    )

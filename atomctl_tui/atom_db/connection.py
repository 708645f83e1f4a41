"""Connections to AtoM's database (PyMySQL), in bounded time, with errors in words.

A connection is opened with connect, read and write timeouts and autocommit off. Reading
happens in a read-only transaction (``START TRANSACTION READ ONLY``): whatever a query held,
it can change nothing, and each read sees the database as of its own start. Writing (marking a
job failed) is one ordinary transaction, committed or rolled back whole.

Errors are said in plain words — no server at the socket or host, access denied for the user,
no such database, no answer in time — and never carry the password: a message is built from
the error's code and the settings' user, database and server, and the server's own text (for
codes not known here) is cleaned and searched for the password before it is shown.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

import pymysql
import pymysql.cursors
from pymysql.connections import Connection

from atomctl_tui.atom_db.config_php import AtomDbConfigError, DatabaseSettings
from atomctl_tui.outside_text import clean_line

CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 10
WRITE_TIMEOUT_SECONDS = 10

T = TypeVar("T")
Cursor = pymysql.cursors.Cursor
DbConnection: TypeAlias = "Connection[Cursor]"  # PyMySQL's class is generic in its stubs only

# MySQL/MariaDB error codes (server and client) this module says in its own words.
_ACCESS_DENIED = 1045
_DB_ACCESS_DENIED = 1044
_UNKNOWN_DATABASE = 1049
_NO_SUCH_TABLE = 1146
_COMMAND_DENIED = 1142
_READ_ONLY_TRANSACTION = 1792
_LOCK_WAIT_TIMEOUT = 1205
_CANNOT_CONNECT = 2003
_GONE_AWAY = 2006
_LOST = 2013
_ERRNO = re.compile(r"\[Errno (\d+)\]")


class AtomDbError(Exception):
    """AtoM's database could not be used: the reason in words (never the password)."""


@dataclass(frozen=True)
class Endpoint:
    """Where to connect: a Unix socket, or a TCP host and port; ``label`` says it in words
    (``socket /var/run/mysqld/mysqld.sock on web1``)."""

    label: str
    unix_socket: str | None = None
    host: str | None = None
    port: int = 3306
    forwarded: bool = False
    """A socket of an SSH forward: it accepts even when nothing listens at the far end."""


def local_endpoint(settings: DatabaseSettings) -> Endpoint:
    """The server as config.php names it, reached from this machine."""
    if settings.host is None:
        return Endpoint(settings.where, unix_socket=settings.socket)
    return Endpoint(settings.where, host=settings.host, port=settings.port)


def open_connection(
    settings: DatabaseSettings,
    endpoint: Endpoint,
    *,
    connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
    read_timeout: float = READ_TIMEOUT_SECONDS,
) -> DbConnection:
    """A connection to ``settings``' database at ``endpoint``; AtomDbError in words if not."""
    try:
        return pymysql.connect(
            unix_socket=endpoint.unix_socket,
            host=endpoint.host,
            port=endpoint.port,
            user=settings.username,
            password=settings.password,
            database=settings.dbname,
            charset=settings.charset,
            autocommit=False,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            write_timeout=WRITE_TIMEOUT_SECONDS,
            cursorclass=pymysql.cursors.Cursor,
            local_infile=False,
            # A Unix socket, here or at the end of an SSH forward, is private already: no TLS
            # (PyMySQL would otherwise load the system's CA certificates at every connect and
            # offer TLS, unverified). Over plain TCP its default stands: TLS if the server has it.
            ssl_disabled=True if endpoint.unix_socket is not None else None,
        )
    except (pymysql.Error, OSError) as exc:
        code, _text = _code_and_text(exc)
        if endpoint.forwarded and code in (_GONE_AWAY, _LOST):
            # ssh accepted, then closed the channel: nothing answered at the far end.
            words = f"no database server answers at {endpoint.label} (is MariaDB running there?)"
            raise AtomDbError(words) from None
        raise AtomDbError(describe_error(exc, settings, endpoint)) from None


def describe_error(exc: BaseException, settings: DatabaseSettings, endpoint: Endpoint) -> str:
    """What went wrong, in words an admin can act on."""
    code, text = _code_and_text(exc)
    user, database = settings.username, settings.dbname
    if code == _ACCESS_DENIED:
        return (
            f"access denied for user {user!r} at {endpoint.label}"
            f" (the password in {settings.source or 'config.php'} is not accepted)"
        )
    if code == _DB_ACCESS_DENIED:
        return f"user {user!r} has no access to database {database!r} at {endpoint.label}"
    if code == _UNKNOWN_DATABASE:
        return f"there is no database {database!r} at {endpoint.label}"
    if code == _NO_SUCH_TABLE:
        return f"database {database!r} has no AtoM job tables ({_clean(text, settings)})"
    if code == _COMMAND_DENIED:
        return f"user {user!r} may not do this: {_clean(text, settings)}"
    if code == _LOCK_WAIT_TIMEOUT:
        return "the job's row is locked by another transaction; try again"
    if code in (_CANNOT_CONNECT, _GONE_AWAY, _LOST) or isinstance(exc, OSError):
        return _connection_words(text, endpoint)
    if code == _READ_ONLY_TRANSACTION:
        return "a write was attempted in a read-only transaction"
    return f"database error {code}: {_clean(text, settings)}" if code else _clean(text, settings)


def _code_and_text(exc: BaseException) -> tuple[int, str]:
    args: tuple[object, ...] = exc.args
    if isinstance(exc, pymysql.Error) and len(args) >= 2 and isinstance(args[0], int):
        return args[0], str(args[1])
    return 0, str(exc)


def _connection_words(text: str, endpoint: Endpoint) -> str:
    errno = _ERRNO.search(text)
    number = int(errno.group(1)) if errno else None
    if "timed out" in text:
        return f"no answer from the database server at {endpoint.label} in time (timed out)"
    if number == 2:  # ENOENT
        return f"no database server at {endpoint.label} (no such socket: is MariaDB running?)"
    if number in (111, 61):  # ECONNREFUSED
        return f"no database server at {endpoint.label} (connection refused: is it running?)"
    if number == 13:  # EACCES
        return f"not allowed to use the database socket at {endpoint.label} (permission denied)"
    if "Lost connection" in text or "gone away" in text:
        return f"the database server at {endpoint.label} closed the connection"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return f"unknown database host in {endpoint.label}"
    return f"cannot reach the database server at {endpoint.label}"


def _clean(text: str, settings: DatabaseSettings) -> str:
    if settings.password and settings.password in text:
        text = text.replace(settings.password, "…")
    return clean_line(text, 300)


@contextmanager
def read_only(connection: DbConnection) -> Iterator[Cursor]:
    """A cursor in a read-only transaction, ended (rolled back: nothing to keep) after."""
    with connection.cursor() as cursor:
        cursor.execute("START TRANSACTION READ ONLY")
        try:
            yield cursor
        finally:
            connection.rollback()


@contextmanager
def read_write(connection: DbConnection) -> Iterator[Cursor]:
    """A cursor in one transaction: committed when the block ends, rolled back if it raises."""
    with connection.cursor() as cursor:
        cursor.execute("START TRANSACTION")
        try:
            yield cursor
        except BaseException:
            connection.rollback()
            raise
        connection.commit()


SettingsReader = Callable[[], DatabaseSettings]
EndpointFinder = Callable[[DatabaseSettings], Endpoint]


class AtomDatabase:
    """One AtoM site's database, used from any thread (one call at a time): config.php is
    read and a connection opened at first use, kept, and both done again after a failure
    (so a config or a password put right is seen at the next call). Every call blocks, for a
    bounded time: never call it on the event loop."""

    def __init__(
        self,
        read_settings: SettingsReader,
        find_endpoint: EndpointFinder = local_endpoint,
        *,
        connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
        read_timeout: float = READ_TIMEOUT_SECONDS,
    ) -> None:
        self._read_settings = read_settings
        self._find_endpoint = find_endpoint
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._lock = threading.Lock()
        self._connection: DbConnection | None = None
        self._settings: DatabaseSettings | None = None
        self._endpoint: Endpoint | None = None

    def read(self, work: Callable[[Cursor], T]) -> T:
        """``work(cursor)`` in a read-only transaction; AtomDbError in words on failure."""
        return self._run(work, read_only)

    def write(self, work: Callable[[Cursor], T]) -> T:
        """``work(cursor)`` in one transaction, committed whole or not at all."""
        return self._run(work, read_write)

    def _run(self, work: Callable[[Cursor], T], transaction: Callable[[DbConnection], Any]) -> T:
        with self._lock:
            connection = self._connect()
            assert self._settings is not None and self._endpoint is not None
            try:
                with transaction(connection) as cursor:
                    result: T = work(cursor)
                    return result
            except (pymysql.Error, OSError) as exc:
                words = describe_error(exc, self._settings, self._endpoint)
                self._drop()
                raise AtomDbError(words) from None

    def _connect(self) -> DbConnection:
        if self._connection is not None and self._connection.open:
            return self._connection
        self._drop()
        try:
            settings = self._read_settings()
        except AtomDbConfigError as exc:
            raise AtomDbError(str(exc)) from None
        endpoint = self._find_endpoint(settings)
        self._connection = open_connection(
            settings,
            endpoint,
            connect_timeout=self._connect_timeout,
            read_timeout=self._read_timeout,
        )
        self._settings, self._endpoint = settings, endpoint
        return self._connection

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        self._settings = self._endpoint = None
        if connection is not None:
            with suppress(pymysql.Error):
                connection.close()

    def close(self) -> None:
        with self._lock:
            self._drop()

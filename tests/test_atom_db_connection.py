"""Connections to AtoM's database fail in words, in bounded time, never with the password."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

from atomctl_tui.atom_db.config_php import DatabaseSettings
from atomctl_tui.atom_db.connection import (
    AtomDatabase,
    AtomDbError,
    describe_error,
    local_endpoint,
)
from atomctl_tui.atom_db.jobs import database_now
from atomctl_tui.atom_db.sites import local_database
from atomctl_tui.atom_db.watch import AtomJobsWatch, JobsSnapshot
from tests.waiting import wait_until

PASSWORD = "Zx9-very-secret-PW"


def settings(**changes: object) -> DatabaseSettings:
    values: dict[str, object] = {
        "dbname": "atom",
        "username": "atom",
        "password": PASSWORD,
        "source": "/srv/atom/config/config.php",
    }
    values.update(changes)
    return DatabaseSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def silent_socket(tmp_path: Path) -> Iterator[str]:
    """A Unix socket that accepts connections and never says a word."""
    path = str(tmp_path / "silent.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield path
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    server.close()


def test_a_server_that_never_answers_is_said_in_bounded_time(silent_socket: str):
    database = AtomDatabase(
        lambda: settings(socket=silent_socket), connect_timeout=0.5, read_timeout=0.5
    )
    started = time.monotonic()
    with pytest.raises(AtomDbError) as error:
        database.read(database_now)
    assert time.monotonic() - started < 3
    assert str(error.value) == (
        f"no answer from the database server at socket {silent_socket} in time (timed out)"
    )


def test_no_socket_is_said(tmp_path: Path):
    path = tmp_path / "mysqld.sock"
    with pytest.raises(AtomDbError) as error:
        AtomDatabase(lambda: settings(socket=str(path))).read(database_now)
    assert str(error.value) == (
        f"no database server at socket {path} (no such socket: is MariaDB running?)"
    )


def test_a_refused_port_is_said():
    with socket.socket() as probe:  # a port nobody listens on: bound, never listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        with pytest.raises(AtomDbError) as error:
            AtomDatabase(lambda: settings(host="127.0.0.1", port=port)).read(database_now)
    assert str(error.value) == (
        f"no database server at 127.0.0.1:{port} (connection refused: is it running?)"
    )


@pytest.mark.parametrize(
    ("code", "text", "words"),
    [
        (
            1045,
            "Access denied for user 'atom'@'localhost' (using password: YES)",
            "access denied for user 'atom' at socket /var/run/mysqld/mysqld.sock (the password"
            " in /srv/atom/config/config.php is not accepted)",
        ),
        (
            1044,
            "Access denied for user 'atom'@'localhost' to database 'atom'",
            "user 'atom' has no access to database 'atom' at socket /var/run/mysqld/mysqld.sock",
        ),
        (
            1049,
            "Unknown database 'atom'",
            "there is no database 'atom' at socket /var/run/mysqld/mysqld.sock",
        ),
        (
            1146,
            "Table 'atom.job' doesn't exist",
            "database 'atom' has no AtoM job tables (Table 'atom.job' doesn't exist)",
        ),
        (
            1142,
            f"UPDATE command denied to user 'atom' for table 'job' {PASSWORD}",
            "user 'atom' may not do this: UPDATE command denied to user 'atom' for table 'job' …",
        ),
        (9999, f"odd \x1b[31m{PASSWORD}", "database error 9999: odd x1b[31m…".replace("x1b", "")),
    ],
)
def test_server_errors_in_words(code: int, text: str, words: str):
    exc = pymysql.err.OperationalError(code, text)
    said = describe_error(exc, settings(), local_endpoint(settings()))
    assert PASSWORD not in said
    if code == 9999:  # the server's own text, cleaned: no escape sequence reaches a terminal
        assert said == "database error 9999: odd …"
    else:
        assert said == words


def test_a_config_put_right_is_seen_at_the_next_read(tmp_path: Path):
    database = local_database(tmp_path)
    with pytest.raises(AtomDbError, match=r"config\.php is not there"):
        database.read(database_now)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.php").write_text(
        "<?php return ['all' => ['propel' => ['param' => ['dsn' =>"
        f" 'mysql:dbname=atom;unix_socket={tmp_path}/none.sock', 'username' => 'atom',"
        f" 'password' => '{PASSWORD}']]]];"
    )
    with pytest.raises(AtomDbError) as error:
        database.read(database_now)
    assert str(error.value).startswith(f"no database server at socket {tmp_path}/none.sock")
    assert PASSWORD not in str(error.value)


def test_the_watch_publishes_why_it_cannot_read(tmp_path: Path):
    watch = AtomJobsWatch(local_database(tmp_path), interval=60)
    seen: list[JobsSnapshot] = []
    unsubscribe = watch.subscribe(seen.append)
    try:
        wait_until(lambda: seen, what="a first poll")
        assert seen[0].error == (
            f"{tmp_path}/config/config.php is not there (AtoM's database settings; is the AtoM"
            " root right?)"
        )
        assert not seen[0].readable and seen[0].jobs == ()
        watch.poll_now()  # long before its interval
        wait_until(lambda: len(seen) >= 2, what="the poll asked for")
        late: list[JobsSnapshot] = []
        watch.subscribe(late.append)()
        assert late == [watch.latest]  # a new listener gets the last poll at once
    finally:
        unsubscribe()
    # With its last listener gone, the watch's thread ends.
    wait_until(
        lambda: not any(t.name == "atom-jobs" for t in threading.enumerate()),
        what="the watch's thread to end",
    )

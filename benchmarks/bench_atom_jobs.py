"""Benchmark: AtoM's jobs read from a job table of 100,000 rows (issue 16).

Run as root from the repository: `.venv/bin/python benchmarks/bench_atom_jobs.py`. Starts a
MariaDB server of its own (Debian's `mariadbd`, its data directory in a temporary directory,
a Unix socket only, no TCP; stopped by its pid and deleted at the end), creates AtoM's tables
from the lab's DDL (`atomctl_tui/lab/atom_schema.sql`), and inserts in bulk 100,000 jobs as
AtoM leaves them (an `object` row each; 1 in 20 on a description with a slug; a user or the
command line; mostly completed, some in error with an error note, 20 still in progress; an
output log each), then measures, through the console's own code (`AtomDatabase`,
`watch.read_jobs`: the recent 200 jobs and the summary in one read-only transaction):

1. the first fill: a new `AtomDatabase` (config.php parsed, connection opened) and its first
   poll, 30 times;
2. a refresh: the next poll on the open connection, 30 times;
3. `jobs --status error --since 2h` and one job's story (its notes and output), 30 times each;

and prints MariaDB's EXPLAIN of every query a poll makes, to show that each walks an index
(no full scan of `job` or `object`).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pymysql

from atomctl_tui.atom_db.connection import Cursor
from atomctl_tui.atom_db.jobs import (
    _COLUMNS,
    COMPLETED,
    ERROR,
    ERROR_NOTE,
    IN_PROGRESS,
    RECENT_ERRORS_EXAMINED,
    JobsQuery,
    job_story,
)
from atomctl_tui.atom_db.sites import local_database
from atomctl_tui.atom_db.watch import read_jobs

JOBS = 100_000
RUNS = 30
BATCH = 5_000
SCHEMA = Path(__file__).parent.parent / "atomctl_tui" / "lab" / "atom_schema.sql"
JOB_NAMES = (
    "arFindingAidJob",
    "arInformationObjectCsvExportJob",
    "arUpdatePublicationStatusJob",
    "arObjectMoveJob",
    "arFileImportJob",
    "arCalculateDescendantDatesJob",
    "arXmlExportSingleFileJob",
)


def start_server(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    data, socket_path = directory / "data", str(directory / "mysqld.sock")
    subprocess.run(
        [
            "mariadb-install-db",
            f"--datadir={data}",
            "--auth-root-authentication-method=socket",
            "--user=root",
            "--skip-test-db",
        ],
        check=True,
        capture_output=True,
    )
    server = subprocess.Popen(
        [
            "/usr/sbin/mariadbd",
            "--no-defaults",
            f"--datadir={data}",
            f"--socket={socket_path}",
            "--skip-networking",
            "--user=root",
            f"--pid-file={directory / 'mariadbd.pid'}",
            f"--log-error={directory / 'error.log'}",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            pymysql.connect(unix_socket=socket_path, user="root").close()
            return server, socket_path
        except pymysql.Error:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"mariadbd did not start: see {directory / 'error.log'}") from None
            time.sleep(0.2)


def load(socket_path: str, password: str) -> None:
    root = pymysql.connect(unix_socket=socket_path, user="root", autocommit=True)
    with root.cursor() as cursor:
        cursor.execute("CREATE DATABASE atom CHARACTER SET utf8mb4")
        cursor.execute("CREATE USER 'atom'@'localhost' IDENTIFIED BY %s", (password,))
        cursor.execute("GRANT SELECT, INSERT, UPDATE ON atom.* TO 'atom'@'localhost'")
        cursor.execute("USE atom")
        lines = [line for line in SCHEMA.read_text().splitlines() if not line.startswith("--")]
        for statement in "\n".join(lines).split(";"):
            if statement.strip():
                cursor.execute(statement)
    root.autocommit(False)
    rng = random.Random(16)
    start = time.time() - JOBS * 60  # one job a minute, the newest now
    with root.cursor() as cursor:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(start))
        cursor.execute(
            "INSERT INTO object (id, class_name, created_at, updated_at) VALUES"
            " (1, 'QubitUser', %s, %s)",
            (stamp, stamp),
        )
        cursor.execute("INSERT INTO user (id, username) VALUES (1, 'demo')")
        next_id = 2
        for first in range(0, JOBS, BATCH):
            objects, jobs, slugs, notes = [], [], [], []
            for index in range(first, min(first + BATCH, JOBS)):
                queued = start + index * 60
                created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(queued))
                done = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(queued + 30))
                described = None
                if index % 20 == 0:
                    described = next_id
                    objects.append((next_id, "QubitInformationObject", created, created))
                    slugs.append((next_id, f"fonds-{next_id}"))
                    next_id += 1
                job_id = next_id
                next_id += 1
                status = (
                    IN_PROGRESS
                    if index >= JOBS - 20
                    else ERROR
                    if rng.random() < 0.05
                    else COMPLETED
                )
                name = rng.choice(JOB_NAMES)
                output = f'[info] [{created}] Job {job_id} "{name}": Job started.\n' * 3
                objects.append((job_id, "QubitJob", created, created))
                jobs.append(
                    (
                        job_id,
                        name,
                        None if status == IN_PROGRESS else done,
                        1 if index % 3 else None,
                        described,
                        status,
                        output,
                    )
                )
                if status == ERROR:
                    notes.append(job_id)
            cursor.executemany(
                "INSERT INTO object (id, class_name, created_at, updated_at) VALUES (%s,%s,%s,%s)",
                objects,
            )
            cursor.executemany("INSERT INTO slug (object_id, slug) VALUES (%s, %s)", slugs)
            cursor.executemany(
                "INSERT INTO job (id, name, completed_at, user_id, object_id, status_id, output)"
                " VALUES (%s,%s,%s,%s,%s,%s,%s)",
                jobs,
            )
            for job_id in notes:
                cursor.execute(
                    "INSERT INTO note (object_id, type_id, source_culture) VALUES (%s, %s, 'en')",
                    (job_id, ERROR_NOTE),
                )
                cursor.execute(
                    "INSERT INTO note_i18n (content, id, culture)"
                    " VALUES ('Exception: failed', LAST_INSERT_ID(), 'en')"
                )
        cursor.execute("ANALYZE TABLE job, object, slug, note, note_i18n")
        cursor.fetchall()
    root.commit()
    root.close()


def write_config(atom_root: Path, socket_path: str, password: str) -> None:
    (atom_root / "config").mkdir(parents=True)
    (atom_root / "config" / "config.php").write_text(
        "<?php\nreturn array (\n  'all' => \n  array (\n    'propel' => \n    array (\n"
        "      'param' => \n      array (\n        'encoding' => 'utf8mb4',\n"
        f"        'dsn' => 'mysql:dbname=atom;unix_socket={socket_path}',\n"
        f"        'username' => 'atom',\n        'password' => '{password}',\n"
        "      ),\n    ),\n  ),\n);\n"
    )


def timed(work: Callable[[], object], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return times


def say(label: str, times: list[float]) -> None:
    print(
        f"{label}: median {statistics.median(times):.1f} ms, max {max(times):.1f} ms"
        f" ({len(times)} runs)"
    )


def explain(socket_path: str, password: str) -> None:
    """EXPLAIN of every query a poll makes, as MariaDB plans it on these rows."""
    queries = [
        ("recent jobs", f"{_COLUMNS} ORDER BY j.id DESC LIMIT 200", ()),
        (
            "recent errors",
            f"{_COLUMNS} WHERE j.status_id = %s ORDER BY j.id DESC LIMIT 200",
            (ERROR,),
        ),
        ("in progress count", "SELECT COUNT(*) FROM job WHERE status_id = %s", (IN_PROGRESS,)),
        (
            "oldest in progress",
            f"{_COLUMNS} WHERE j.status_id = %s ORDER BY j.id ASC LIMIT 1",
            (IN_PROGRESS,),
        ),
        (
            "errors searched",
            "SELECT id, name, completed_at FROM job WHERE status_id = %s ORDER BY id DESC LIMIT %s",
            (ERROR, RECENT_ERRORS_EXAMINED),
        ),
    ]
    connection = pymysql.connect(
        unix_socket=socket_path, user="atom", password=password, database="atom"
    )
    with connection.cursor() as cursor:
        for label, sql, values in queries:
            cursor.execute(f"EXPLAIN {sql}", values)
            names = [column[0] for column in cursor.description or ()]
            print(f"EXPLAIN {label}:")
            for row in cursor.fetchall():
                plan = dict(zip(names, row, strict=True))
                print(
                    f"  {plan['table']:<4} type={plan['type']:<7} key={plan['key']!s:<10}"
                    f" rows={plan['rows']!s:<7} {plan['Extra'] or ''}"
                )
                if plan["type"] == "ALL":
                    print("  ^ a full scan")
    connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    if os.geteuid() != 0:
        print("run as root (the private mariadbd runs as root)", file=sys.stderr)
        return 2
    directory = Path(tempfile.mkdtemp(prefix="bench-atom-jobs-"))
    password = "bench-" + os.urandom(6).hex()
    server = None
    try:
        server, socket_path = start_server(directory)
        started = time.monotonic()
        load(socket_path, password)
        print(f"{JOBS:,} jobs inserted in {time.monotonic() - started:.1f} s")
        atom_root = directory / "atom"
        write_config(atom_root, socket_path, password)
        query = JobsQuery()

        def first_fill() -> None:
            database = local_database(atom_root)
            snapshot = read_jobs(database, query)
            assert snapshot.error is None and len(snapshot.jobs) == 200, snapshot.error
            assert snapshot.summary is not None and snapshot.summary.in_progress == 20
            database.close()

        database = local_database(atom_root)
        read_jobs(database, query)  # warm: the server's buffer pool, Python's imports

        def refresh() -> None:
            snapshot = read_jobs(database, query)
            assert snapshot.error is None and len(snapshot.jobs) == 200

        errors = JobsQuery(status_id=ERROR, since_ago=timedelta(hours=2))

        def filtered() -> None:
            assert read_jobs(database, errors).error is None

        newest_error = database.read(
            lambda cursor: _first(cursor, "SELECT MAX(id) FROM job WHERE status_id = %s", ERROR)
        )

        def story() -> None:
            found = database.read(lambda cursor: job_story(cursor, newest_error))
            assert found is not None and found.notes

        print(f"Machine: {cpu_model()},")
        print(f"  {os.cpu_count()} CPUs, Python {platform.python_version()}, {mariadb_version()}")
        print(f"Date: {time.strftime('%Y-%m-%d %H:%M %Z')}; load average {os.getloadavg()[0]:.2f}")
        say("first fill (config.php read, connect, 200 jobs + summary)", timed(first_fill, RUNS))
        say("refresh (200 jobs + summary, open connection)", timed(refresh, RUNS))
        say("jobs --status error --since 2h", timed(filtered, RUNS))
        say("one job's story", timed(story, RUNS))
        database.close()
        explain(socket_path, password)
    finally:
        if server is not None:
            os.kill(server.pid, signal.SIGTERM)
            server.wait(60)
        shutil.rmtree(directory, ignore_errors=True)
    return 0


def _first(cursor: Cursor, sql: str, *values: object) -> int:
    cursor.execute(sql, values)
    row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def mariadb_version() -> str:
    done = subprocess.run(["mariadbd", "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip().split(" for ")[0].replace("/usr/sbin/", "")


if __name__ == "__main__":
    sys.exit(main())

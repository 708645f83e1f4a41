"""A stand-in for AtoM's ``php symfony jobs:worker``, as gearmand, systemd and the journal see it.

It follows AtoM 2.9's jobWorkerTask, arBaseJob, arJobLogger and Net_Gearman_Worker (see
docs/atom-worker.md): the same function names (site prefix + job class) and client id, the
same lines on stdout, WORK_COMPLETE or WORK_FAIL where AtoM sends them, exit status 111 at a
limit, and on SIGTERM, SIGINT, SIGHUP or SIGQUIT an exit with status 0 at once, even in the
middle of a job. The fake AtoM root lists the job classes the site "has" (JOB_CLASSES_FILE);
the others are reported as not defined and not registered.

A job works for the ``seconds`` its JSON parameters ask (default 2); ``fail`` makes it throw
inside the job (so it logs ``Exception:`` and still completes, as AtoM's jobs do).

Its job row lives in the lab's database, reached with the site's config.php as AtoM does:
the job is loaded by id, every line it logs is also appended to ``job.output`` (arJobLogger),
and it ends completed (184), or in error (185) with an error note per error line (arBaseJob).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from types import FrameType

import gearman
import pymysql
from gearman.errors import ConnectionError as GearmanConnectionError
from gearman.errors import ServerUnavailable

from atomctl_tui.atom import WORKER_EXIT_LIMIT_REACHED, load_gearman_config, site_prefix
from atomctl_tui.lab import job_rows
from atomctl_tui.lab.atom_config import read_credentials

JOB_CLASSES_FILE = "atomctl-lab-job-classes.txt"
"""In the fake AtoM root: the job classes the site has, one a line (``#`` starts a comment)."""

DEFAULT_JOB_SECONDS = 2.0
CONNECT_SECONDS = 2.0
"""Net_Gearman_Connection::connect keeps trying a server this long before giving up."""
IDLE_SECONDS = 1.0
"""Net_Gearman_Worker's socket_select timeout: how often the idle callback runs."""
RETRY_SECONDS = 6.0
"""Net_Gearman_Worker reconnects a lost server once more than 5 whole seconds have passed."""
JOB_RESULT = '{"result":null}'
"""What Net_Gearman sends with WORK_COMPLETE for arBaseJob::run(), which returns nothing."""
SIGNAL_MESSAGES = {
    signal.SIGINT: "Job worker termination requested by user.",
    signal.SIGHUP: "Job worker hang up requested.",
    signal.SIGTERM: "Job worker termination requested.",
    signal.SIGQUIT: "Job worker quit requested.",
}
REQUIRED_PARAMETERS = ("id", "name")
INVALID_ID = "Called a Gearman worker with an invalid QubitJob id."
DATABASE_TIMEOUT = 5


def log(message: str) -> None:
    """jobWorkerTask::log(): ``Y-m-d H:i:s > message`` on stdout. One write(2), so a line
    logged by a signal handler never lands inside another one."""
    data = f"{time.strftime('%Y-%m-%d %H:%M:%S')} > {message}\n".encode(errors="replace")
    while data:
        data = data[os.write(sys.stdout.fileno(), data) :]


def print_uncaught(exception_class: str, message: str) -> None:
    """How symfony's CLI prints an exception that escapes a task (cli.php, then
    sfCommandApplication::renderException without --trace or a terminal): a block of
    lines padded with spaces on stderr."""
    lines = message.split("\n")
    width = max(len(f"  [{exception_class}]  "), *(len(line) + 4 for line in lines))
    block = [" " * width, *(f"  {line}  ".ljust(width) for line in lines), " " * width]
    sys.stderr.write("\n" + "\n".join(block) + "\n\n")
    sys.stderr.flush()


def uniqid() -> str:
    """PHP's uniqid(): seconds and microseconds of now, in 13 hex digits."""
    now = time.time()
    return f"{int(now):08x}{int((now % 1) * 1_000_000):05x}"


def php_json(value: object) -> str:
    """PHP's json_encode() with default flags: no spaces, ASCII only, slashes escaped."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/")


def site_job_classes(atom_root: str) -> set[str]:
    """The job classes the fake site has (class_exists() in AtoM); none without the file."""
    try:
        text = (Path(atom_root) / JOB_CLASSES_FILE).read_text()
    except FileNotFoundError:
        return set()
    return {line.split("#", 1)[0].strip() for line in text.splitlines()} - {""}


def vm_rss_kb() -> int:
    """The VmRSS of /proc/self/status in kB, as jobWorkerTask reads it; 0 when unreadable."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


class JobException(Exception):
    """Net_Gearman_Job_Exception: escapes the job, so the worker sends WORK_FAIL."""


class LabJobError(Exception):
    """A failure inside the stand-in job's work; arBaseJob catches it."""


class DatabaseUnavailable(Exception):
    """The site's database cannot be reached: in AtoM a PDOException, which no one catches."""


def connect_database(atom_root: str) -> pymysql.Connection:
    """The site's database with config.php's credentials; every statement commits at once,
    as Propel's outside a web request."""
    try:
        credentials = read_credentials(Path(atom_root))
        return credentials.connect(autocommit=True, timeout=DATABASE_TIMEOUT)
    except (OSError, ValueError, pymysql.err.MySQLError) as exc:
        raise DatabaseUnavailable(f"cannot reach the database of config/config.php: {exc}") from exc


class JobRecord:
    """One job's row while it runs: arJobLogger's lines (in ``job.output``, then on stdout)
    and arBaseJob's statuses."""

    def __init__(self, cursor: pymysql.cursors.Cursor, job_id: int, name: str) -> None:
        self.cursor = cursor
        self.job_id = job_id
        self.name = name

    def info(self, message: str) -> None:
        job_rows.append_output(self.cursor, self.job_id, self.name, "info", message)
        log(message)

    def error(self, message: str) -> None:
        """arBaseJob::error(): logged at sfLogger's ``err``, then setStatusError($message)."""
        job_rows.append_output(self.cursor, self.job_id, self.name, "err", message)
        log(message)
        job_rows.mark_error(self.cursor, self.job_id, message)

    def completed(self) -> None:
        job_rows.mark_completed(self.cursor, self.job_id)


class StandInWorker(gearman.GearmanWorker):  # type: ignore[misc]  # pygearman is untyped
    def __init__(
        self, servers: list[str], *, atom_root: str, max_job_count: int, max_mem_usage: int
    ) -> None:
        super().__init__(servers)
        self.atom_root = atom_root
        self.max_job_count = max_job_count
        self.max_mem_usage = max_mem_usage
        self.jobs_completed = 0

    def connect_at_start(self) -> bool:
        """Net_Gearman_Worker's constructor: each server is tried for CONNECT_SECONDS; False
        when none answered."""
        for connection in self.connection_list:
            connection.connect_cooldown_seconds = 0.0
            deadline = time.monotonic() + CONNECT_SECONDS
            while True:
                try:
                    self.establish_connection(connection)
                    break
                except GearmanConnectionError:
                    if time.monotonic() >= deadline:
                        break
                    time.sleep(0.1)
        return any(c.connected for c in self.connection_list)

    def ask_for_work(self) -> None:
        """Net_Gearman_Worker grabs a job as soon as it begins work. pygearman said PRE_SLEEP
        when it connected, before it had abilities, and gearmand wakes a sleeping worker only
        for a new job: without a new PRE_SLEEP, a job already waiting would stay unrun."""
        for handler in self.handler_to_connection_map:
            handler._sleep()

    def max_job_count_reached(self) -> bool:
        return self.max_job_count > 0 and self.jobs_completed >= self.max_job_count

    def max_mem_usage_reached(self) -> bool:
        return self.max_mem_usage > 0 and vm_rss_kb() >= self.max_mem_usage

    def after_poll(self, any_activity: bool) -> bool:
        """beginWork()'s monitor callback: between jobs, and about once a second when idle.
        False ends the work loop."""
        if self.max_job_count_reached():
            log(f"Max job count reached: {self.jobs_completed} jobs completed.")
            return False
        if self.max_mem_usage_reached():
            log(f"Max memory usage reached ({self.max_mem_usage}kB): {vm_rss_kb()}kB in use.")
            return False
        return True

    def on_job_complete(self, current_job: gearman.job.GearmanJob, job_result: str) -> bool:
        done: bool = super().on_job_complete(current_job, job_result)
        self.jobs_completed += 1
        log(f"Jobs completed: {self.jobs_completed}")
        return done

    def on_job_exception(
        self, current_job: gearman.job.GearmanJob, exc_info: tuple[type, BaseException, object]
    ) -> bool:
        if not isinstance(exc_info[1], JobException):
            raise exc_info[1]  # as in Net_Gearman, only its job exception is a job failure
        failed: bool = super().on_job_exception(current_job, exc_info)
        log(f"Job failed: {exc_info[1]}")
        return failed

    def run_job(self, _worker: gearman.GearmanWorker, job: gearman.job.GearmanJob) -> str:
        """arBaseJob::run(): parameters checked and the job loaded outside the job's try, the
        rest inside it. The job's class marks it completed at the end of its work."""
        parameters = check_parameters(decode_parameters(job.data))
        connection = connect_database(self.atom_root)
        try:
            with connection.cursor() as cursor:
                record = load_job(cursor, int(str(parameters["id"])))
                record.info("Job started.")
                try:
                    record.info(f"Parameters: {php_json(parameters)}")
                    work(parameters)
                    record.completed()
                    record.info("Job finished.")
                except Exception as exc:  # arBaseJob catches every Throwable of the job itself
                    where = traceback.extract_tb(exc.__traceback__)[-1]
                    record.error(f"Exception: {exc}")
                    record.error(f"File: {where.filename}")
                    record.error(f"Line: {where.lineno}")
        finally:
            connection.close()
        return JOB_RESULT


def decode_parameters(data: bytes | str | None) -> object:
    """Net_Gearman_Worker::doWork(): JSON when it decodes to something, else the raw text."""
    if not data:
        return []
    text = data.decode(errors="replace") if isinstance(data, bytes) else data
    try:
        decoded = json.loads(text)
    except ValueError:
        return text
    return text if decoded is None else decoded


def check_parameters(parameters: object) -> dict[str, object]:
    """arBaseJob's required parameters; an id that is no row id at all is invalid at once."""
    for name in REQUIRED_PARAMETERS:
        if not isinstance(parameters, dict) or parameters.get(name) is None:
            raise JobException(f"Required parameter not found for job: {name}")
    assert isinstance(parameters, dict)
    job_id = parameters["id"]
    if isinstance(job_id, bool) or not (str(job_id).isdigit() and int(job_id) > 0):
        raise JobException(INVALID_ID)
    return parameters


def load_job(cursor: pymysql.cursors.Cursor, job_id: int) -> JobRecord:
    """QubitJob::getById(): no row, no job."""
    name = job_rows.job_name(cursor, job_id)
    if name is None:
        raise JobException(INVALID_ID)
    return JobRecord(cursor, job_id, name)


def work(parameters: dict[str, object]) -> None:
    """The stand-in job's own work: sleep ``seconds``, then fail when asked to."""
    seconds = parameters.get("seconds", DEFAULT_JOB_SECONDS)
    if not isinstance(seconds, int | float | str):
        raise LabJobError(f"seconds must be a number, not {php_json(seconds)}")
    time.sleep(max(0.0, float(seconds)))
    fail = parameters.get("fail")
    if fail:
        raise LabJobError(
            fail if isinstance(fail, str) else "The atomctl lab asked this job to fail."
        )


def stop_on_signal(signum: int, _frame: FrameType | None) -> None:
    """pcntl_async_signals: the handler runs at once, even in the middle of a job, and exits
    without telling gearmand anything about that job."""
    log(SIGNAL_MESSAGES[signal.Signals(signum)])
    sys.exit(0)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="symfony jobs:worker", description="AtoM stand-in Gearman worker (atomctl lab)"
    )
    parser.add_argument("task", nargs="?", default="jobs:worker", choices=["jobs:worker"])
    parser.add_argument("--application", help="accepted as AtoM does; ignored")
    parser.add_argument("--env", help="accepted as AtoM does; ignored")
    parser.add_argument(
        "--types", default="", help="worker types from gearman.yml, comma separated"
    )
    parser.add_argument("--abilities", default="", help="job classes, comma separated")
    parser.add_argument("--max-job-count", type=int, default=0, help="exit 111 after N jobs")
    parser.add_argument("--max-mem-usage", type=int, default=0, help="exit 111 above N kB VmRSS")
    return parser.parse_args(argv)


def choose_abilities(
    args: argparse.Namespace, worker_types: dict[str, tuple[str, ...]]
) -> list[str]:
    """As jobWorkerTask and arGearman::getAbilities(): --abilities split on commas (not
    trimmed), else the classes of --types (trimmed), else of every type, duplicates kept."""
    if args.abilities:
        return [a for a in args.abilities.split(",") if a]
    types = [t.strip() for t in args.types.split(",") if t] if args.types else list(worker_types)
    abilities: list[str] = []
    for worker_type in types:
        if worker_type not in worker_types:
            raise KeyError(worker_type)
        abilities.extend(worker_types[worker_type])
    return abilities


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # PHP dies of SIGINT until its handler is set
    args = parse_args(sys.argv[1:] if argv is None else argv)
    atom_root = os.getcwd()
    config = load_gearman_config(atom_root)
    try:
        abilities = choose_abilities(args, config.worker_types)
    except KeyError as unknown:
        print_uncaught(
            "sfException",
            f"Invalid type specified: {unknown.args[0]}"
            " -- does it exist in the gearman config file?",
        )
        return 1
    if args.max_job_count > 0:
        log(f"Worker will shut down after {args.max_job_count} jobs have completed.")
    if args.max_mem_usage > 0:
        log(f"Worker will shut down if memory consumption exceeds {args.max_mem_usage}kB.")

    worker = StandInWorker(
        list(config.servers),
        atom_root=atom_root,
        max_job_count=max(args.max_job_count, 0),
        max_mem_usage=max(args.max_mem_usage, 0),
    )
    worker.set_client_id(f"pid_{os.getpid()}_{uniqid()}")
    if not worker.connect_at_start():
        print_uncaught("Net_Gearman_Exception", "Couldn't connect to any available servers")
        return 1

    classes = site_job_classes(atom_root)
    prefix = site_prefix(atom_root)
    for ability in abilities:
        if ability not in classes:
            log(
                f"Ability not defined: {ability}. Please ensure the job is in the"
                " lib/task/job directory or that the plugin is enabled."
            )
            continue
        log(f"New ability: {ability}")
        # pygearman matches assigned jobs against abilities as bytes.
        worker.register_task((prefix + ability).encode(), worker.run_job)
    log("Running worker...")
    log(f"PID {os.getpid()}")

    for signum in SIGNAL_MESSAGES:
        signal.signal(signum, stop_on_signal)
    worker.ask_for_work()
    try:
        return work_until_a_limit(worker)
    except (DatabaseUnavailable, pymysql.err.MySQLError) as exc:
        print_uncaught("PDOException", str(exc))  # escapes the task, as in AtoM: exit 1
        return 1
    finally:
        log("Job worker stopped.")  # AtoM's shutdown function: on every exit from here on


def work_until_a_limit(worker: StandInWorker) -> int:
    while True:
        try:
            worker.work(poll_timeout=IDLE_SECONDS)  # returns when after_poll says stop
            break
        except ServerUnavailable:
            # No log line: Net_Gearman_Worker retries quietly, and keeps calling the monitor.
            time.sleep(RETRY_SECONDS)
    if worker.max_job_count_reached():
        log("Worker shutting down - max-job-count reached.")
    else:
        log("Worker shutting down - max-mem-usage reached.")
    return WORKER_EXIT_LIMIT_REACHED


if __name__ == "__main__":
    sys.exit(main())

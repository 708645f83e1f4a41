"""A stand-in for AtoM's ``php symfony jobs:worker``, as Gearman, systemd and the journal see it.

It registers the same function names (site prefix + job class), identifies itself with the
same client id (``pid_<pid>_<uniqid>``), prints AtoM's log lines to stdout, exits 111 when its
job limit is reached and shuts down cleanly on SIGTERM, SIGINT, SIGHUP and SIGQUIT (cutting a
job in progress short). A job works for the ``seconds`` its JSON payload asks (default 2) and
fails when it asks ``fail``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time

import gearman
from gearman.errors import ServerUnavailable

from atomctl_tui.atom import WORKER_EXIT_LIMIT_REACHED, load_gearman_config, site_prefix

DEFAULT_JOB_SECONDS = 2.0
POLL_SECONDS = 0.5  # how often an idle worker looks at its stop flag
RECONNECT_SECONDS = 1.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)


def log(message: str) -> None:
    """One line in AtoM's format: ``Y-m-d H:i:s > message``."""
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} > {message}", flush=True)


def uniqid() -> str:
    """PHP's uniqid(): seconds and microseconds of now, in 13 hex digits."""
    now = time.time()
    return f"{int(now):08x}{int((now % 1) * 1_000_000):05x}"


class JobFailed(Exception):
    pass


class StandInWorker(gearman.GearmanWorker):  # type: ignore[misc]  # pygearman is untyped
    def __init__(self, servers: list[str], max_job_count: int | None) -> None:
        super().__init__(servers)
        self.max_job_count = max_job_count
        self.jobs_completed = 0
        self.stop_requested = False
        self.ever_connected = False

    def after_poll(self, any_activity: bool) -> bool:
        if any(c.connected for c in self.connection_list):
            self.ever_connected = True
        return not self.stop_requested

    def after_job(self) -> bool:
        return not self.limit_reached()

    def limit_reached(self) -> bool:
        return self.max_job_count is not None and self.jobs_completed >= self.max_job_count

    def work_for(self, seconds: float) -> bool:
        """The job's work; False when a stop signal cut it short (so stopping never waits
        for a long job, and systemd's stop timeout is never what ends a lab worker)."""
        deadline = time.monotonic() + max(0.0, seconds)
        while (left := deadline - time.monotonic()) > 0:
            if self.stop_requested:
                return False
            time.sleep(min(left, POLL_SECONDS))
        return True

    def run_job(self, _worker: gearman.GearmanWorker, job: gearman.job.GearmanJob) -> str:
        job_class = job.task.decode(errors="replace").split("-", 1)[-1]
        try:
            payload = json.loads(job.data or "{}")
            if not isinstance(payload, dict):
                raise ValueError("payload is not a JSON object")
        except ValueError as exc:
            log(f"Job failed: invalid job parameters ({exc})")
            raise JobFailed from exc
        name = f'Job {payload.get("id", "?")} "{payload.get("name", job_class)}"'
        log(f"{name}: Job started.")
        if not self.work_for(float(payload.get("seconds", DEFAULT_JOB_SECONDS))):
            log("Job failed: the worker was asked to stop")
            raise JobFailed("stopped")
        self.jobs_completed += 1
        if payload.get("fail"):
            reason = payload["fail"] if isinstance(payload["fail"], str) else "asked to fail"
            log(f"Job failed: {reason}")
            log(f"Jobs completed: {self.jobs_completed}")
            raise JobFailed(reason)
        log(f"{name}: Job finished.")
        log(f"Jobs completed: {self.jobs_completed}")
        return "ok"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="symfony jobs:worker", description="AtoM stand-in Gearman worker (atomctl lab)"
    )
    parser.add_argument("task", nargs="?", default="jobs:worker", choices=["jobs:worker"])
    parser.add_argument("--types", help="worker types from gearman.yml, comma separated")
    parser.add_argument("--abilities", help="job classes, comma separated")
    parser.add_argument("--max-job-count", type=int, help="exit with status 111 after N jobs")
    parser.add_argument("--max-mem-usage", type=int, help="accepted for compatibility; ignored")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    atom_root = os.getcwd()
    config = load_gearman_config(atom_root)
    if args.abilities:
        abilities = [a.strip() for a in args.abilities.split(",") if a.strip()]
    else:
        types = [t.strip() for t in args.types.split(",")] if args.types else None
        unknown = [t for t in types or [] if t not in config.worker_types]
        if unknown:
            log(f"Unknown worker types: {', '.join(unknown)}")
            return 1
        abilities = config.job_classes(types)

    worker = StandInWorker(list(config.servers), args.max_job_count)

    def request_stop(_signum: int, _frame: object) -> None:
        worker.stop_requested = True

    for signum in STOP_SIGNALS:
        signal.signal(signum, request_stop)

    worker.set_client_id(f"pid_{os.getpid()}_{uniqid()}")
    prefix = site_prefix(atom_root)
    for ability in abilities:
        # pygearman matches assigned jobs against abilities as bytes.
        worker.register_task((prefix + ability).encode(), worker.run_job)
        log(f"New ability: {ability}")
    log("Running worker...")
    log(f"PID {os.getpid()}")

    while not worker.stop_requested and not worker.limit_reached():
        try:
            worker.work(poll_timeout=POLL_SECONDS)
        except ServerUnavailable:
            if not worker.ever_connected:
                # Net_Gearman gives up at start-up when no server answers; systemd restarts us.
                log(f"Couldn't connect to any available servers: {', '.join(config.servers)}")
                return 1
            time.sleep(RECONNECT_SECONDS)
    if worker.limit_reached():
        log(f"Max job count reached ({worker.max_job_count}), exiting")
        return WORKER_EXIT_LIMIT_REACHED
    log("Worker stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())

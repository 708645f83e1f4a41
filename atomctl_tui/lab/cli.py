"""`atomctl-lab`: boot, inspect, use and power off sandboxed AtoM job environments."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TypedDict

from atomctl_tui.lab import machine, ssh, stuck
from atomctl_tui.lab.atom_config import DEFAULT_SOCKET
from atomctl_tui.lab.mariadb import DEMO_USERNAME, DESCRIBED_SLUG
from atomctl_tui.lab.state import DEFAULT_NAME, LabError, LabState, check_name
from atomctl_tui.lab.submit import PRIORITIES, submit

UNIT_PATTERNS = [
    "atom-worker*",
    "gearman-job-server.service",
    "atomctl-lab-sshd.service",
    "mariadb.service",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="atomctl-lab",
        description="A sandboxed AtoM job environment: systemd as PID 1 in private namespaces,"
        " with journald, dbus, gearmand, MariaDB, sshd and AtoM-like workers. Never touches"
        " the host's /run, /tmp, journal, /etc/systemd/system or /var/lib/mysql. Needs root.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def named(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--name", default=DEFAULT_NAME, help=f"lab name (default {DEFAULT_NAME})")
        return sub

    up = named("up", "boot a lab and wait until its workers have registered")
    up.add_argument("--workers", type=int, default=2, help="atom-worker@N instances (default 2)")
    up.add_argument("--gearman-port", type=int, help="gearmand port (default: first free ≥ 4730)")
    up.add_argument("--ssh-port", type=int, help="sshd port (default: first free ≥ 2222)")
    up.add_argument(
        "--mysql-port", type=int, help="MariaDB's TCP port (default: first free ≥ 3307)"
    )

    named("down", "power a lab off and check that nothing of it remains")

    status = named("status", "show a lab's pid, ports, paths and unit states")
    status.add_argument("--json", action="store_true", help="machine-readable output")

    exec_ = named("exec", "run a command inside a lab (its PID and mount namespaces)")
    exec_.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD ...")

    sub = named(
        "submit",
        "queue background jobs under the lab site's prefix, each with its row in the lab's"
        " database (in progress, 183) committed first, as AtoM's QubitJob::runJob() does;"
        " prints their Gearman handles",
    )
    sub.add_argument("job_class", metavar="JOBCLASS", help="e.g. arFindingAidJob")
    sub.add_argument("--count", type=int, default=1)
    sub.add_argument("--priority", choices=list(PRIORITIES), default="normal")
    sub.add_argument(
        "--fail", action="store_true", help="the job throws: `Exception:` lines, status error"
    )
    sub.add_argument("--seconds", type=float, default=2.0, help="how long each job runs")
    sub.add_argument(
        "--user",
        default=DEMO_USERNAME,
        help=f"who queued it (default {DEMO_USERNAME}, the lab site's one user)",
    )
    sub.add_argument(
        "--command-line", action="store_true", help="queued with no user, as from the CLI"
    )
    sub.add_argument(
        "--object",
        metavar="SLUG",
        help=f"the description the job works on (the lab site has {DESCRIBED_SLUG!r})",
    )
    sub.add_argument("--description", help="the job's description note")
    sub.add_argument(
        "--json", action="store_true", help="print [{id, handle}, ...] instead of handles"
    )

    kill = named(
        "kill-busy-worker",
        "SIGKILL the main process of a worker unit while it runs a job (as the OOM killer"
        " would): the job's row stays in progress (183); gearmand requeues the job and the"
        " next capable worker runs it again from the start",
    )
    kill.add_argument("--job", type=int, metavar="ID", help="the AtoM job id (default: any job)")
    kill.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="how long to wait for a worker to be running it (default 30 s)",
    )

    named(
        "restart-job-server",
        "restart the lab's gearmand while it holds jobs: without a persistent queue they are"
        " lost, and their rows stay in progress (183) for good; refused when it holds none",
    )

    commands.add_parser(
        "ssh-config", help="print the path of the ssh config that reaches the running labs"
    )
    return parser


def running_state(name: str) -> LabState:
    state = LabState.load(name)
    if state is None or not state.is_running():
        raise LabError(f"lab {name!r} is not running; start it with `atomctl-lab up --name {name}`")
    return state


class LabDescription(TypedDict):
    """What `atomctl-lab status` says of a running lab (its --json document)."""

    name: str
    pid: int
    gearman_server: str
    ssh_port: int
    mysql_port: int
    mysql_socket: str
    ssh_config: str
    ssh_alias: str
    dbus_address: str
    atom_root: str
    directory: str
    units: dict[str, str]  # unit → "active/sub"


def describe(state: LabState) -> LabDescription:
    return {
        "name": state.name,
        "pid": state.pid,
        "gearman_server": state.gearman_server,
        "ssh_port": state.ssh_port,
        "mysql_port": state.mysql_port,
        "mysql_socket": f"/proc/{state.pid}/root{DEFAULT_SOCKET}",
        "ssh_config": str(ssh.client_config_path()),
        "ssh_alias": f"lab-{state.name}",
        "dbus_address": state.dbus_address.decode(),
        "atom_root": str(state.paths.atom_root),
        "directory": str(state.paths.root),
        "units": {
            unit["unit"]: f"{unit['active']}/{unit['sub']}"
            for unit in machine.unit_states(state, UNIT_PATTERNS)
        },
    }


def run(args: argparse.Namespace) -> int:
    if args.command == "ssh-config":
        print(ssh.client_config_path())
        return 0
    name = check_name(args.name)
    if args.command == "up":
        state = machine.up(name, args.workers, args.gearman_port, args.ssh_port, args.mysql_port)
        print(
            f"lab {name!r} is up: systemd pid {state.pid}, gearmand {state.gearman_server},"
            f" ssh port {state.ssh_port}, MariaDB port {state.mysql_port},"
            f" {state.workers} workers"
        )
        return 0
    if args.command == "down":
        for line in machine.down(name):
            print(line)
        return 0
    state = running_state(name)
    if args.command == "status":
        info = describe(state)
        if args.json:
            print(json.dumps(info, indent=2))
        else:
            for key, value in info.items():
                if key != "units":
                    print(f"{key:15} {value}")
            for unit, active in info["units"].items():
                print(f"  {unit:40} {active}")
        return 0
    if args.command == "exec":
        argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
        if not argv:
            raise LabError("exec needs a command: atomctl-lab exec -- systemctl status")
        os.execvp("nsenter", state.nsenter(*argv))
    if args.command == "submit":
        jobs = submit(
            state,
            args.job_class,
            count=args.count,
            priority=args.priority,
            fail=args.fail,
            seconds=args.seconds,
            username=None if args.command_line else args.user,
            object_slug=args.object,
            description=args.description,
        )
        if args.json:
            print(json.dumps([{"id": job.id, "handle": job.handle} for job in jobs]))
        else:
            for job in jobs:
                print(job.handle)
        return 0
    if args.command == "kill-busy-worker":
        lines = stuck.kill_busy_worker(state, args.job, args.timeout)
    elif args.command == "restart-job-server":
        lines = stuck.restart_job_server(state)
    else:
        raise AssertionError(args.command)
    for line in lines:
        print(line)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except LabError as exc:
        print(f"atomctl-lab: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

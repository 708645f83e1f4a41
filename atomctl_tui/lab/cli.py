"""`atomctl-lab`: boot, inspect, use and power off sandboxed AtoM job environments."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TypedDict

from atomctl_tui.lab import machine, ssh
from atomctl_tui.lab.state import DEFAULT_NAME, LabError, LabState, check_name
from atomctl_tui.lab.submit import PRIORITIES, submit

UNIT_PATTERNS = ["atom-worker*", "gearman-job-server.service", "atomctl-lab-sshd.service"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="atomctl-lab",
        description="A sandboxed AtoM job environment: systemd as PID 1 in private namespaces,"
        " with journald, dbus, gearmand, sshd and AtoM-like workers. Never touches the host's"
        " /run, /tmp, journal or /etc/systemd/system. Needs root.",
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

    named("down", "power a lab off and check that nothing of it remains")

    status = named("status", "show a lab's pid, ports, paths and unit states")
    status.add_argument("--json", action="store_true", help="machine-readable output")

    exec_ = named("exec", "run a command inside a lab (its PID and mount namespaces)")
    exec_.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD ...")

    sub = named("submit", "queue background jobs under the lab site's prefix")
    sub.add_argument("job_class", metavar="JOBCLASS", help="e.g. arFindingAidJob")
    sub.add_argument("--count", type=int, default=1)
    sub.add_argument("--priority", choices=list(PRIORITIES), default="normal")
    sub.add_argument("--fail", action="store_true", help="the job logs `Job failed:` and fails")
    sub.add_argument("--seconds", type=float, default=2.0, help="how long each job runs")

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
        state = machine.up(name, args.workers, args.gearman_port, args.ssh_port)
        print(
            f"lab {name!r} is up: systemd pid {state.pid}, gearmand {state.gearman_server},"
            f" ssh port {state.ssh_port}, {state.workers} workers"
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
        handles = submit(
            state,
            args.job_class,
            count=args.count,
            priority=args.priority,
            fail=args.fail,
            seconds=args.seconds,
        )
        for handle in handles:
            print(handle)
        return 0
    raise AssertionError(args.command)


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

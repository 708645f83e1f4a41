"""`atomctl-tui`: open the console, or print one status snapshot (`atomctl-tui status`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, overload

from atomctl_tui import __version__
from atomctl_tui.config import (
    CONFIG_ENV,
    DEFAULT_JOURNAL_BACKLOG,
    ConfigError,
    Settings,
    resolve_settings,
)
from atomctl_tui.journal.scope import DEFAULT_MAX_LINES, JournalSettings
from atomctl_tui.remote.host_spec import HostSpec, HostSpecError, check_ssh_option, parse_host_spec
from atomctl_tui.remote.hosts import local_host

if TYPE_CHECKING:
    from atomctl_tui.atom_db.jobs import JobsQuery
    from atomctl_tui.atom_db.report import SiteJobs
    from atomctl_tui.health.check import CheckResult

NamespaceT = TypeVar("NamespaceT")


def line_count(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of lines, at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of lines") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is too few: give at least {minimum}")
        return value

    return parse


EXIT_BAD_USAGE = 1  # bad options or config; 2 is `status`'s "a server is unreachable"
CHECK_BAD_USAGE = 3  # UNKNOWN, for a monitoring system
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    # `check` is run by monitoring systems, which show its stdout's one line and read its
    # exit status: bad usage is UNKNOWN (3), said on that line too.
    plugin = False

    def __init__(
        self, *args: Any, options: Callable[[_Parser], None] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.subcommands: dict[str, _Parser] = {}
        self._options = options

    def _add_options(self) -> None:
        # A subcommand's options are added when it is named, or its usage or help is shown:
        # the console's start builds none of them (benchmarks/README.md, "First paint").
        options, self._options = self._options, None
        if options is not None:
            options(self)

    # The overloads are ArgumentParser's own (here and for parse_args).
    @overload
    def parse_known_args(
        self, args: Iterable[str] | None = None, namespace: None = None
    ) -> tuple[argparse.Namespace, list[str]]: ...
    @overload
    def parse_known_args(
        self, args: Iterable[str] | None, namespace: NamespaceT
    ) -> tuple[NamespaceT, list[str]]: ...
    @overload
    def parse_known_args(self, *, namespace: NamespaceT) -> tuple[NamespaceT, list[str]]: ...

    def parse_known_args(
        self, args: Iterable[str] | None = None, namespace: NamespaceT | None = None
    ) -> tuple[argparse.Namespace | NamespaceT, list[str]]:
        self._add_options()
        return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        self._add_options()
        return super().format_usage()

    def format_help(self) -> str:
        self._add_options()
        return super().format_help()

    # The overloads are ArgumentParser's own.
    @overload
    def parse_args(
        self, args: Iterable[str] | None = None, namespace: None = None
    ) -> argparse.Namespace: ...
    @overload
    def parse_args(self, args: Iterable[str] | None, namespace: NamespaceT) -> NamespaceT: ...
    @overload
    def parse_args(self, *, namespace: NamespaceT) -> NamespaceT: ...

    def parse_args(
        self, args: Iterable[str] | None = None, namespace: NamespaceT | None = None
    ) -> argparse.Namespace | NamespaceT:
        # argparse leaves a subcommand's unknown options to the main parser, which would say
        # them with its own usage and exit status: `check --bogus` must still be UNKNOWN (3).
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            command: str | None = getattr(parsed, "command", None)
            chosen = self.subcommands.get(command, self) if command is not None else self
            chosen.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed

    def error(self, message: str) -> NoReturn:
        # argparse takes `--host -oProxyCommand=…` for two options: say what is wrong.
        if message.startswith("argument --host: expected one argument"):
            message = (
                "argument --host: expected [user@]host[:port]; a host beginning with '-' is"
                " refused (ssh would read it as an option)"
            )
        elif message.startswith("argument --ssh-option: expected one argument"):
            message = "argument --ssh-option: expected Key=Value (ssh -o), not another option"
        if self.plugin:
            print_check(unknown_result(message))
        self.print_usage(sys.stderr)
        self.exit(
            CHECK_BAD_USAGE if self.plugin else EXIT_BAD_USAGE, f"{self.prog}: error: {message}\n"
        )


def _host_spec(text: str) -> HostSpec:
    try:
        return parse_host_spec(text)
    except HostSpecError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _ssh_option(text: str) -> str:
    try:
        return check_ssh_option(text)
    except HostSpecError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


SOURCE_OPTIONS = ("gearman", "atom_root", "config")  # also after a subcommand


def _add_source_options(parser: argparse.ArgumentParser, *, in_subcommand: bool) -> None:
    # Accepted before and after the subcommand. argparse lets a subcommand's values replace
    # the main parser's, so the subcommand's copies go to their own names and are merged.
    prefix = "sub_" if in_subcommand else ""
    parser.add_argument(
        "--gearman",
        dest=f"{prefix}gearman",
        metavar="HOST:PORT",
        action="append",
        default=[],
        help="a Gearman job server to watch; repeat for several (default: the config file,"
        " then AtoM's gearman.yml — each --host's own — then 127.0.0.1:4730)",
    )
    parser.add_argument(
        "--atom-root",
        dest=f"{prefix}atom_root",
        metavar="PATH",
        help="the AtoM site: its gearman.yml, its job prefix and its database"
        " (config/config.php); with --host, a path on every host (default:"
        " /usr/share/nginx/atom when it exists)",
    )
    parser.add_argument(
        "--config",
        dest=f"{prefix}config",
        metavar="FILE",
        help=f"the config file (default: ${CONFIG_ENV}, else"
        " $XDG_CONFIG_HOME/atomctl-tui/config.yaml)",
    )
    if in_subcommand:
        return  # status and check poll once: an interval means nothing to them
    parser.add_argument(
        "--interval",
        metavar="SECONDS",
        type=_interval,
        help="seconds between polls of the job servers (default: 1)",
    )


def _merge_subcommand_options(args: argparse.Namespace) -> argparse.Namespace:
    for name in (*SOURCE_OPTIONS, *HOST_OPTIONS):
        value = getattr(args, f"sub_{name}", None)
        if name in ("gearman", "hosts", "ssh_options"):  # repeatable: both places count
            setattr(args, name, [*getattr(args, name), *(value or [])])
        elif value is not None:
            setattr(args, name, value)
    return args


HOST_OPTIONS = ("hosts", "ssh_config", "ssh_options")


def _add_host_options(parser: argparse.ArgumentParser, *, in_subcommand: bool) -> None:
    prefix = "sub_" if in_subcommand else ""
    parser.add_argument(
        "--host",
        dest=f"{prefix}hosts",
        metavar="[USER@]HOST[:PORT]",
        type=_host_spec,
        action="append",
        default=[],
        help="watch this remote host over SSH (as systemctl -H does); repeat for several"
        " (default: the config file's hosts:, else this machine). One SSH connection per host,"
        " opened before the console starts, so ssh can ask for passwords; the host needs"
        " systemd-stdio-bridge",
    )
    parser.add_argument(
        "--ssh-config",
        dest=f"{prefix}ssh_config",
        metavar="FILE",
        help="the ssh config file for --host (ssh -F)",
    )
    parser.add_argument(
        "--ssh-option",
        dest=f"{prefix}ssh_options",
        metavar="KEY=VALUE",
        type=_ssh_option,
        action="append",
        default=[],
        help="an ssh option for --host (ssh -o KEY=VALUE); repeat for several",
    )


def _job_count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of jobs")
    return int(text)


def _add_check_command(commands: argparse._SubParsersAction[_Parser]) -> _Parser:
    check = commands.add_parser(
        "check",
        help="say what is wrong in one line, as a Nagios/Icinga plugin (0 OK, 1 WARNING,"
        " 2 CRITICAL, 3 UNKNOWN)",
        description="Read the worker units and poll the job servers once, and print the"
        " console's health findings in one line with performance data (waiting, running and"
        " workers per function). Exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (bad"
        " options or configuration). Findings that need history (NRestarts rising, waiting"
        " growing, jobs not taken) are the console's only.",
        options=_check_options,
    )
    check.plugin = True
    return check


def _check_options(check: _Parser) -> None:
    from atomctl_tui.health.check import DEFAULT_TIMEOUT

    check.add_argument(
        "--warn",
        type=_job_count,
        metavar="N",
        help="WARNING when N or more jobs of one function wait",
    )
    check.add_argument(
        "--crit",
        type=_job_count,
        metavar="N",
        help="CRITICAL when N or more jobs of one function wait",
    )
    check.add_argument(
        "--timeout",
        type=_interval,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"for the whole check (default {DEFAULT_TIMEOUT:g})",
    )
    _add_source_options(check, in_subcommand=True)
    _add_host_options(check, in_subcommand=True)


def _job_limit(text: str) -> int:
    from atomctl_tui.atom_db.jobs import MAX_LIMIT

    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of jobs from 1 to {MAX_LIMIT:,}"
        )
    return int(text)


def _since(text: str) -> datetime | timedelta:
    from atomctl_tui.atom_db.report import SinceError, parse_since

    try:
        return parse_since(text)
    except SinceError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_jobs_command(commands: argparse._SubParsersAction[_Parser]) -> _Parser:
    return commands.add_parser(
        "jobs",
        help="list AtoM's recent jobs from its database, newest first",
        description="Read AtoM's job records (the database config/config.php names; with"
        " --host, each host's, through its SSH connection) and list the recent jobs, newest"
        " first. Exit status: 0 read, 2 a database could not be read, 1 bad options.",
        options=_jobs_options,
    )


def _jobs_options(jobs: _Parser) -> None:
    from atomctl_tui.atom_db.jobs import DEFAULT_LIMIT, STATUS_NAMES

    jobs.add_argument("--status", choices=tuple(STATUS_NAMES), help="only jobs in this status")
    jobs.add_argument(
        "--since",
        type=_since,
        metavar="DURATION|TIMESTAMP",
        help="only jobs queued since then: 90m, 2h, 1d12h, 1w, or YYYY-mm-dd[ HH:MM[:SS]]"
        " (the database's time)",
    )
    jobs.add_argument(
        "--limit",
        type=_job_limit,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"at most N jobs (default {DEFAULT_LIMIT})",
    )
    jobs.add_argument("--json", action="store_true", help="print JSON (see the README)")
    _add_source_options(jobs, in_subcommand=True)
    _add_host_options(jobs, in_subcommand=True)


def _status_options(status: _Parser) -> None:
    status.add_argument("--json", action="store_true", help="print JSON (see the README)")
    status.add_argument(
        "--format",
        choices=("text", "json", "prometheus"),
        help="text (default), json (as --json), or prometheus: the queue, worker and AtoM job"
        " figures in Prometheus' text format, for node_exporter's textfile collector",
    )
    _add_source_options(status, in_subcommand=True)
    _add_host_options(status, in_subcommand=True)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="atomctl-tui",
        description="A keyboard-driven console for AtoM's Gearman job server, its atom-worker"
        " systemd units and their journal. Press ? in the console for every key.",
        epilog="`atomctl-tui status --json` prints one snapshot of the job servers and exits"
        " 0, or 2 when a server is unreachable (1: bad options or config). `atomctl-tui check`"
        " prints the health findings in one line, as a Nagios/Icinga plugin.",
    )
    parser.add_argument("--version", action="version", version=f"atomctl-tui {__version__}")
    _add_source_options(parser, in_subcommand=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    status = commands.add_parser(
        "status",
        help="print one snapshot of the job servers and exit (0 ok, 2 a server unreachable)",
        description="Poll every job server once and print servers, functions, workers and"
        " alerts (with --host, the servers the hosts' AtoM config names, over SSH, never"
        " prompting). Exit status: 0 all reachable, 2 a server unreachable, 1 bad options.",
        options=_status_options,
    )
    parser.subcommands = {
        "status": status,
        "check": _add_check_command(commands),
        "jobs": _add_jobs_command(commands),
    }
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="show everything, change nothing: no key that starts, stops, restarts, enables,"
        " disables or resets a unit is offered, and no such call reaches systemd",
    )
    parser.add_argument(
        "--journal-backlog",
        type=line_count(0),
        metavar="N",
        help="journal lines from before the start to show (default: the config file, else"
        f" {DEFAULT_JOURNAL_BACKLOG})",
    )
    _add_host_options(parser, in_subcommand=False)
    parser.add_argument(
        "--journal-lines",
        type=line_count(1),
        default=DEFAULT_MAX_LINES,
        metavar="N",
        help=f"journal lines kept in memory; the oldest go (default {DEFAULT_MAX_LINES:,})",
    )
    return parser


def settings_from(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> Settings:
    return resolve_settings(
        cli_servers=args.gearman,
        cli_atom_root=args.atom_root,
        cli_interval=args.interval,
        cli_config=args.config,
        cli_hosts=args.hosts,
        cli_ssh_config=args.ssh_config,
        cli_ssh_options=args.ssh_options,
        environ=environ,
    )


def journal_settings_from(args: argparse.Namespace, settings: Settings) -> JournalSettings:
    """--journal-backlog over the config file's journal_backlog; the worker unit patterns."""
    return JournalSettings(
        worker_units=settings.unit_patterns,
        backlog=settings.journal_backlog if args.journal_backlog is None else args.journal_backlog,
        max_lines=args.journal_lines,
    )


def run_status(settings: Settings, *, output: str) -> int:
    from atomctl_tui.health.status_report import (
        exit_status,
        status_document,
        status_prometheus,
        status_text,
        take_snapshots,
    )

    reading = asyncio.run(take_snapshots(settings))
    document = status_document(settings, reading)
    if output == "prometheus":
        sys.stdout.write(status_prometheus(document))
    else:
        print(json.dumps(document, indent=2) if output == "json" else status_text(document))
    return exit_status(reading)


EXIT_DATABASE_UNREADABLE = 2


def run_jobs(settings: Settings, args: argparse.Namespace) -> int:
    from atomctl_tui.atom_db.jobs import STATUS_NAMES, JobsQuery
    from atomctl_tui.atom_db.report import jobs_document, jobs_text

    since = args.since
    query = JobsQuery(
        status_id=STATUS_NAMES[args.status] if args.status else None,
        since=since if not isinstance(since, timedelta) else None,
        since_ago=since if isinstance(since, timedelta) else None,
        limit=args.limit,
    )
    sites = read_sites(settings, query)
    if args.json:
        taken = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        print(json.dumps(jobs_document(sites, taken), indent=2))
    else:
        print(jobs_text(sites))
    return EXIT_DATABASE_UNREADABLE if not all(site.readable for site in sites) else 0


def read_sites(settings: Settings, query: JobsQuery | None) -> list[SiteJobs]:
    """The AtoM sites' jobs, read once: this machine's, or each --host's over SSH (never
    prompting: connections in batch mode)."""
    from atomctl_tui.atom import JOB_SERVER_UNIT
    from atomctl_tui.atom_db.sites import read_fleet_sites, read_local_site
    from atomctl_tui.fleet import open_fleet
    from atomctl_tui.remote.hosts import local_host

    if not settings.hosts:
        return [read_local_site(local_host().label, settings.atom_root, query)]
    patterns = [*settings.unit_patterns, JOB_SERVER_UNIT]
    fleet, _settings = open_fleet(
        settings, patterns, read_only=True, interactive=False, start_units=False
    )
    try:
        return read_fleet_sites(fleet, settings, query)
    finally:
        fleet.close()


def unknown_result(words: str) -> CheckResult:
    from atomctl_tui.health.check import unknown

    return unknown(words)


def print_check(result: CheckResult) -> int:
    print(result.line, flush=True)
    return result.status


def run_check_command(settings: Settings, args: argparse.Namespace) -> int:
    from atomctl_tui.health.check import run_check
    from atomctl_tui.health.findings import HealthRules

    if args.warn is not None and args.crit is not None and args.warn > args.crit:
        return print_check(unknown_result(f"--warn {args.warn} is above --crit {args.crit}"))
    rules = HealthRules(waiting_warning=args.warn, waiting_critical=args.crit)
    try:
        result = run_check(settings, rules, timeout=args.timeout)
    except KeyboardInterrupt:
        result = unknown_result("interrupted")
    except Exception as exc:  # a plugin's own failure is UNKNOWN, never WARNING (exit 1)
        result = unknown_result(f"the check itself failed: {type(exc).__name__}: {exc}")
    return print_check(result)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = _merge_subcommand_options(parser.parse_args(argv))
    try:
        settings = settings_from(args)
    except ConfigError as exc:
        if args.command == "check":
            return print_check(unknown_result(str(exc)))
        print(f"atomctl-tui: {exc}", file=sys.stderr)
        return EXIT_BAD_USAGE
    if args.command == "check":
        return run_check_command(settings, args)
    if args.command == "status":
        return run_status(settings, output=args.format or ("json" if args.json else "text"))
    if args.command == "jobs":
        return run_jobs(settings, args)
    # Importing the console allocates a great deal and frees little: no garbage collection
    # until it runs (run_console freezes what start-up made, then collects again).
    gc.disable()
    # Imported here so `--help`, `--version` and `status` answer without loading Textual.
    from atomctl_tui.ui.app import AtomctlApp
    from atomctl_tui.ui.run import run_console

    journal = journal_settings_from(args, settings)
    if not settings.hosts:
        app = AtomctlApp(local_host(), settings=settings, read_only=args.read_only, journal=journal)
        return run_console(app)
    return run_fleet(settings, journal, read_only=args.read_only)


def run_fleet(settings: Settings, journal: JournalSettings, *, read_only: bool) -> int:
    """The console on remote hosts: their SSH connections first (prompts happen here, in the
    terminal), then the console, then the connections closed."""
    from atomctl_tui.atom import JOB_SERVER_UNIT
    from atomctl_tui.fleet import open_fleet
    from atomctl_tui.ui.app import AtomctlApp
    from atomctl_tui.ui.run import run_console

    def say(words: str) -> None:
        print(f"atomctl-tui: {words}", file=sys.stderr, flush=True)

    patterns = [*settings.unit_patterns, JOB_SERVER_UNIT]
    try:
        with signals_handled(CONNECTING_SIGNALS, _raise_signalled):
            fleet, fleet_settings = open_fleet(settings, patterns, read_only=read_only, say=say)
    except KeyboardInterrupt:
        print(file=sys.stderr)  # after the ^C the terminal echoed
        say("interrupted while connecting; nothing was started")
        return EXIT_INTERRUPTED
    except Signalled as signalled:
        say(f"{signalled} while connecting; nothing was started")
        return signalled.status
    app = AtomctlApp(fleet=fleet, settings=fleet_settings, read_only=read_only, journal=journal)
    return run_console(app, fleet.close)


CONNECTING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)  # SIGINT: KeyboardInterrupt, as ever


class Signalled(BaseException):
    """SIGTERM or SIGHUP while the SSH connections were being opened (a BaseException, as
    KeyboardInterrupt is: nothing on the way may take it for an error and carry on)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"ended by {signal.Signals(signum).name}")
        self.status = 128 + signum


def _raise_signalled(signum: int, _frame: object) -> None:
    raise Signalled(signum)


@contextlib.contextmanager
def signals_handled(signals: Iterable[int], handler: Callable[[int, Any], None]) -> Iterator[None]:
    previous = {signum: signal.signal(signum, handler) for signum in signals}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def run() -> NoReturn:
    """The ``atomctl-tui`` command: ``main``, then ``exit_now`` with its status."""
    exit_now(main())


def exit_now(status: int) -> NoReturn:
    """End the process with ``status``: stdout and stderr flushed, then ``os._exit`` — no
    interpreter finalization, no C library's exit handlers.

    Daemon threads may still be in C code, without the interpreter lock, at the end: the
    console's AtoM jobs watch polls on after its ``close()``, and ``check`` leaves behind a
    database read that outlasts its timeout. PyMySQL's connect over TCP loads the system's CA
    certificates in OpenSSL. A normal exit ends in libc's ``exit()``, which runs OpenSSL's
    ``OPENSSL_cleanup``: it frees what such a thread is using, and the process died of
    SIGSEGV instead of exiting (7 consoles of 320 ended by a signal in
    tests/fleet/test_console_signals.py). Nothing needs finalization: the console has ended
    its processes and removed its private directory before, Textual has given the terminal
    back, and the threads' work is of no use any more.
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a hangup took the terminal away
            stream.flush()
    os._exit(status)


if __name__ == "__main__":
    run()

"""The console's settings: its YAML config file, the command line and AtoM's config, resolved
into one frozen ``Settings`` object.

The config file lives at ``$XDG_CONFIG_HOME/atomctl-tui/config.yaml`` (``~/.config/…`` when
the variable is unset); ``$ATOMCTL_TUI_CONFIG`` or ``--config`` name another file. Every key
is optional::

    servers: [127.0.0.1:4730]          # job servers to watch (a list, or one string)
    atom_root: /usr/share/nginx/atom   # the AtoM site: its gearman.yml and its prefix
    unit_patterns: [atom-worker.service, atom-worker@*.service]
    poll_interval: 1.0                 # seconds between two polls of the job servers
    journal_backlog: 500               # journal lines from before the start (default 200)
    keys:                              # binding id: key(s), e.g. to move a key
      queues.filter: f
    hosts:                             # remote hosts over SSH, like --host (repeatable)
      - root@worker1.example.org
      - {host: "admin@gm.example.org:2222", atom_root: /srv/atom}
    ssh_config: ~/.ssh/atom_config     # like --ssh-config
    ssh_options: [ConnectTimeout=5]    # like --ssh-option

Command-line options win over the file, and the file over AtoM's config and the defaults.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from atomctl_tui import safe_yaml
from atomctl_tui.atom import (
    DEFAULT_ATOM_ROOT,
    DEFAULT_WORKER_TYPES,
    WORKER_UNIT_PATTERNS,
    AtomConfigError,
    GearmanConfig,
    load_gearman_config,
    read_workers_key,
    site_prefix,
)
from atomctl_tui.gearman.servers import (
    ServerAddress,
    ServerAddressError,
    choose_servers,
    parse_server_address,
)
from atomctl_tui.remote.host_spec import HostSpec, HostSpecError, check_ssh_option, parse_host_spec

CONFIG_ENV = "ATOMCTL_TUI_CONFIG"
DEFAULT_POLL_INTERVAL = 1.0
DEFAULT_JOURNAL_BACKLOG = 200
POLL_INTERVAL_RANGE = (0.1, 3600.0)
JOURNAL_BACKLOG_RANGE = (0, 100_000)

_BINDING_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
_UNIT_PATTERN = re.compile(r"^[A-Za-z0-9@:._\\*?\[\]-]{1,256}$")
_KNOWN_KEYS = (
    "servers",
    "atom_root",
    "unit_patterns",
    "poll_interval",
    "journal_backlog",
    "keys",
    "hosts",
    "ssh_config",
    "ssh_options",
)
HOSTS_SOURCE = "the hosts' AtoM config"  # servers_source when each host's gearman.yml decides


class ConfigError(Exception):
    """A setting that cannot be used: the message names the file, the line and the reason."""


@dataclass(frozen=True)
class ConfiguredHost:
    """A remote host to watch, and where AtoM lives on it (None: the default, if there)."""

    spec: HostSpec
    atom_root: str | None = None


@dataclass(frozen=True)
class ConfigFile:
    """What a config file says; None for every key it leaves out."""

    path: Path | None = None
    servers: tuple[ServerAddress, ...] = ()
    atom_root: Path | None = None
    atom_root_line: int = 0  # for the message when it turns out not to be a directory here
    unit_patterns: tuple[str, ...] | None = None
    poll_interval: float | None = None
    journal_backlog: int | None = None
    keys: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    hosts: tuple[ConfiguredHost, ...] = ()
    ssh_config: str | None = None
    ssh_options: tuple[str, ...] = ()


@dataclass(frozen=True)
class Settings:
    """Everything the console is set to, from every source, resolved once at start-up."""

    servers: tuple[ServerAddress, ...]
    servers_source: str  # in words: "--gearman", "config file …", a gearman.yml path…
    atom_root: Path | None  # None: no AtoM site known, so no "this site" and no type alerts
    site_prefix: str | None
    worker_types: Mapping[str, tuple[str, ...]]  # from the site's gearman.yml, or AtoM's own
    unit_patterns: tuple[str, ...] = WORKER_UNIT_PATTERNS
    poll_interval: float = DEFAULT_POLL_INTERVAL
    journal_backlog: int = DEFAULT_JOURNAL_BACKLOG
    keymap: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    config_file: Path | None = None
    warnings: tuple[str, ...] = ()  # problems that did not stop the console, in words
    hosts: tuple[ConfiguredHost, ...] = ()  # remote hosts; none: this machine
    ssh_config: str | None = None
    ssh_options: tuple[str, ...] = ()
    gearman_config: GearmanConfig | None = None
    """This machine's AtoM site's Gearman config as read at start-up (None: no site, or it
    could not be read): what the site names, and the server AtoM asks."""


def default_config_path(environ: Mapping[str, str] = os.environ) -> Path:
    base = environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "atomctl-tui" / "config.yaml"


def config_path(cli_path: str | None, environ: Mapping[str, str] = os.environ) -> tuple[Path, bool]:
    """The config file to read, and whether it was named (so must exist)."""
    if cli_path:
        return Path(cli_path).expanduser(), True
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV]).expanduser(), True
    return default_config_path(environ), False


def load_config_file(path: Path, *, required: bool) -> ConfigFile:
    """Read and check a config file; an absent default file means no settings."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        if required:
            raise ConfigError(f"{path}: no such config file") from exc
        return ConfigFile()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc})") from exc
    return parse_config_text(text, path)


def parse_config_text(text: str, path: Path) -> ConfigFile:
    try:
        root = safe_yaml.compose(text)
    except safe_yaml.YamlTextError as exc:
        line = f":{exc.line}" if exc.line is not None else ""
        raise ConfigError(f"{path}{line}: {exc.reason}") from exc
    if root is None:
        return ConfigFile(path=path)
    checker = _Checker(path)
    entries = checker.mapping(root, "the config file")
    for name, (key_node, _) in entries.items():
        if name not in _KNOWN_KEYS:
            raise checker.error(
                key_node, f"unknown setting {name!r} (known: {', '.join(_KNOWN_KEYS)})"
            )
    # By name: each of _Checker's methods returns the type of the ConfigFile field it fills.
    values: dict[str, Any] = {"path": path}
    for name, (_, node) in entries.items():
        values[name] = getattr(checker, name)(node)
    if "atom_root" in entries:
        values["atom_root_line"] = entries["atom_root"][1].start_mark.line + 1
    return ConfigFile(**values)


class _Checker:
    """Turns YAML nodes into typed values, or a ConfigError naming the node's line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, node: yaml.Node, reason: str) -> ConfigError:
        return ConfigError(f"{self.path}:{node.start_mark.line + 1}: {reason}")

    def mapping(self, node: yaml.Node, what: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{what} must be a mapping of 'name: value' lines")
        entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            name = self.scalar(key_node, "a setting name")
            if name in entries:
                raise self.error(key_node, f"{name!r} is given twice")
            entries[name] = (key_node, value_node)
        return entries

    def scalar(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.value == "":
            raise self.error(node, f"expected {what}")
        text: str = node.value  # a scalar node's value is its text
        return text

    def number(self, node: yaml.Node, what: str) -> float:
        value = None
        if isinstance(node, yaml.ScalarNode):
            # YAML's own reading of the scalar: 1, 1.5, 1e3, 0x10 — and 'yes' is a bool.
            value = yaml.SafeLoader("").construct_object(node)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(node, f"{what} must be a number")
        return value

    def strings(self, node: yaml.Node, what: str) -> list[tuple[yaml.Node, str]]:
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        if not items:
            raise self.error(node, f"{what} must not be empty")
        return [(item, self.scalar(item, what)) for item in items]

    def servers(self, node: yaml.Node) -> tuple[ServerAddress, ...]:
        servers = []
        for item, text in self.strings(node, "'servers' as HOST:PORT strings"):
            try:
                servers.append(parse_server_address(text))
            except ServerAddressError as exc:
                raise self.error(item, f"servers: {exc}") from exc
        return tuple(servers)

    def atom_root(self, node: yaml.Node) -> Path:
        # Checked once it is known where it is: here, or on each remote host.
        return Path(self.scalar(node, "'atom_root' as a directory path")).expanduser()

    def hosts(self, node: yaml.Node) -> tuple[ConfiguredHost, ...]:
        hosts = []
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for item in items:
            atom_root = None
            if isinstance(item, yaml.MappingNode):
                entries = self.mapping(item, "a host")
                unknown = set(entries) - {"host", "atom_root"}
                if unknown or "host" not in entries:
                    raise self.error(
                        item, "a host is '[user@]host[:port]', or 'host:' with 'atom_root:'"
                    )
                if "atom_root" in entries:
                    atom_root = self.scalar(entries["atom_root"][1], "'atom_root' as a path")
                item = entries["host"][1]
            text = self.scalar(item, "'hosts' as [user@]host[:port] strings")
            try:
                spec = parse_host_spec(text)
            except HostSpecError as exc:
                raise self.error(item, f"hosts: {exc}") from exc
            hosts.append(ConfiguredHost(spec, atom_root))
        return tuple(hosts)

    def ssh_config(self, node: yaml.Node) -> str:
        return str(Path(self.scalar(node, "'ssh_config' as a file path")).expanduser())

    def ssh_options(self, node: yaml.Node) -> tuple[str, ...]:
        options = []
        for item, text in self.strings(node, "'ssh_options' as Key=Value strings"):
            try:
                options.append(check_ssh_option(text))
            except HostSpecError as exc:
                raise self.error(item, f"ssh_options: {exc}") from exc
        return tuple(options)

    def unit_patterns(self, node: yaml.Node) -> tuple[str, ...]:
        patterns = []
        for item, text in self.strings(node, "'unit_patterns' as unit names or globs"):
            if not _UNIT_PATTERN.match(text):
                raise self.error(item, f"unit_patterns: {text!r} is not a unit name or glob")
            patterns.append(text)
        return tuple(patterns)

    def poll_interval(self, node: yaml.Node) -> float:
        value = float(self.number(node, "'poll_interval' (seconds)"))
        low, high = POLL_INTERVAL_RANGE
        if not low <= value <= high:
            raise self.error(node, f"poll_interval must be from {low:g} to {high:g} seconds")
        return value

    def journal_backlog(self, node: yaml.Node) -> int:
        value = self.number(node, "'journal_backlog' (lines)")
        low, high = JOURNAL_BACKLOG_RANGE
        if not isinstance(value, int) or not low <= value <= high:
            raise self.error(node, f"journal_backlog must be a whole number from {low} to {high}")
        return value

    def keys(self, node: yaml.Node) -> Mapping[str, str]:
        keymap = {}
        for binding_id, (key_node, value_node) in self.mapping(node, "'keys'").items():
            if not _BINDING_ID.match(binding_id):
                raise self.error(key_node, f"keys: {binding_id!r} is not a binding id")
            keys = self.scalar(value_node, f"keys: a key for {binding_id!r}, e.g. ctrl+r")
            if any(not k.strip() for k in keys.split(",")):
                raise self.error(value_node, f"keys: {keys!r} has an empty key")
            keymap[binding_id] = keys
        return MappingProxyType(keymap)


def resolve_settings(
    *,
    cli_servers: list[str] | tuple[str, ...] = (),
    cli_atom_root: str | None = None,
    cli_interval: float | None = None,
    cli_config: str | None = None,
    cli_hosts: list[HostSpec] | tuple[HostSpec, ...] = (),
    cli_ssh_config: str | None = None,
    cli_ssh_options: list[str] | tuple[str, ...] = (),
    environ: Mapping[str, str] = os.environ,
) -> Settings:
    """Combine the command line, the config file, AtoM's config and the defaults.

    Raises ConfigError for anything the admin must fix first; AtoM config files that cannot
    be read only produce warnings, so the console still shows what it can.

    With remote hosts (``--host`` or ``hosts:``) the AtoM root is a path on those hosts: it
    is not read here but over SSH, host by host (``fleet.py``), and so are the job servers
    unless ``--gearman`` or ``servers:`` name them.
    """
    path, required = config_path(cli_config, environ)
    config = load_config_file(path, required=required)
    warnings: list[str] = []
    hosts = _choose_hosts(cli_hosts, cli_atom_root, config)

    atom_root = None if hosts else _choose_atom_root(cli_atom_root, config)
    atom_config: GearmanConfig | None = None
    prefix: str | None = None
    if atom_root is not None:
        try:
            atom_config = load_gearman_config(atom_root)
        except AtomConfigError as exc:
            warnings.append(f"AtoM's Gearman config is unusable: {exc}")
        try:
            prefix = site_prefix(atom_root, read_workers_key(atom_root))
        except AtomConfigError as exc:
            warnings.append(f"AtoM's app.yml is unusable, workers_key assumed empty: {exc}")
            prefix = site_prefix(atom_root)
    config_name = str(config.path) if config.path else None
    try:
        choice = choose_servers(cli_servers, config.servers, config_name, atom_config)
    except ServerAddressError as exc:
        if cli_servers:
            raise ConfigError(f"--gearman {exc}") from exc
        # Only AtoM's own config can be left: a bad address there is AtoM's problem too.
        warnings.append(f"AtoM's Gearman servers are unusable: {exc}")
        choice = choose_servers((), (), None, None)
    servers, servers_source = choice.servers, choice.source
    if hosts and not (cli_servers or config.servers):
        servers, servers_source = (), HOSTS_SOURCE

    interval = cli_interval if cli_interval is not None else config.poll_interval
    if interval is not None and not POLL_INTERVAL_RANGE[0] <= interval <= POLL_INTERVAL_RANGE[1]:
        low, high = POLL_INTERVAL_RANGE
        raise ConfigError(f"--interval must be from {low:g} to {high:g} seconds, not {interval}")
    ssh_config = cli_ssh_config or config.ssh_config
    if ssh_config is not None and not Path(ssh_config).is_file():
        where = "--ssh-config" if cli_ssh_config else f"{config.path}: ssh_config"
        raise ConfigError(f"{where}: {ssh_config} is not a file")
    return Settings(
        servers=servers,
        servers_source=servers_source,
        atom_root=atom_root,
        site_prefix=prefix,
        worker_types=MappingProxyType(
            dict(atom_config.worker_types if atom_config else DEFAULT_WORKER_TYPES)
        ),
        unit_patterns=config.unit_patterns or WORKER_UNIT_PATTERNS,
        poll_interval=interval if interval is not None else DEFAULT_POLL_INTERVAL,
        journal_backlog=(
            DEFAULT_JOURNAL_BACKLOG if config.journal_backlog is None else config.journal_backlog
        ),
        keymap=config.keys,
        config_file=config.path,
        warnings=tuple(warnings),
        hosts=hosts,
        gearman_config=atom_config,
        ssh_config=ssh_config,
        ssh_options=tuple(cli_ssh_options) or config.ssh_options,
    )


def _choose_hosts(
    cli_hosts: list[HostSpec] | tuple[HostSpec, ...], cli_atom_root: str | None, config: ConfigFile
) -> tuple[ConfiguredHost, ...]:
    """--host over the config's hosts:; --atom-root, else atom_root:, for those without one."""
    hosts = tuple(ConfiguredHost(spec) for spec in cli_hosts) or config.hosts
    default_root = cli_atom_root or (str(config.atom_root) if config.atom_root else None)
    hosts = tuple(
        ConfiguredHost(h.spec, h.atom_root if h.atom_root is not None else default_root)
        for h in hosts
    )
    labels = [h.spec for h in hosts]
    for spec in labels:
        if labels.count(spec) > 1:
            raise ConfigError(f"--host {spec} is given twice")
    return hosts


def _choose_atom_root(cli_atom_root: str | None, config: ConfigFile) -> Path | None:
    if cli_atom_root:
        root = Path(cli_atom_root).expanduser()
        if not root.is_dir():
            raise ConfigError(f"--atom-root: {root} is not a directory (the AtoM root)")
        return root
    if config.atom_root is not None:
        if not config.atom_root.is_dir():
            raise ConfigError(
                f"{config.path}:{config.atom_root_line}: atom_root: {config.atom_root} is not a"
                " directory (the AtoM root)"
            )
        return config.atom_root
    return DEFAULT_ATOM_ROOT if DEFAULT_ATOM_ROOT.is_dir() else None


def default_settings() -> Settings:
    """Built-in defaults only: what the console uses when started without any settings."""
    return Settings(
        servers=(parse_server_address("127.0.0.1:4730"),),
        servers_source="built-in default",
        atom_root=None,
        site_prefix=None,
        worker_types=MappingProxyType(dict(DEFAULT_WORKER_TYPES)),
    )

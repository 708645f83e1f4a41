"""Settings: the config file, which servers and why, and AtoM's gearman.yml in its variants."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from atomctl_tui.atom import DEFAULT_WORKER_TYPES, WORKER_UNIT_PATTERNS, site_prefix
from atomctl_tui.config import (
    DEFAULT_JOURNAL_BACKLOG,
    ConfigError,
    Settings,
    resolve_settings,
)
from atomctl_tui.gearman.servers import ServerAddress, ServerAddressError, parse_server_address

NEW_GEARMAN_YML = "all:\n  servers:\n    default: 10.0.0.1:4730\n"
LEGACY_APP_YML = "all:\n  gearman_job_server: 10.0.0.2:4731, 10.0.0.3\n  other: 1\n"


def atom_site(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def settings(tmp_path: Path, *, config: str | None = None, **cli) -> Settings:
    """Resolve with an XDG dir of the test's own: the machine's config is never read."""
    xdg = tmp_path / "xdg"
    if config is not None:
        (xdg / "atomctl-tui").mkdir(parents=True, exist_ok=True)
        (xdg / "atomctl-tui" / "config.yaml").write_text(config)
    return resolve_settings(environ={"XDG_CONFIG_HOME": str(xdg)}, **cli)


def servers(result: Settings) -> list[str]:
    return [str(s) for s in result.servers]


# -- server addresses -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gearman.example.org:4730", ServerAddress("gearman.example.org", 4730)),
        ("10.0.0.5", ServerAddress("10.0.0.5", 4730)),
        ("localhost:1", ServerAddress("localhost", 1)),
        ("[::1]:4731", ServerAddress("::1", 4731)),
        ("[fe80::1]", ServerAddress("fe80::1", 4730)),
        ("2001:db8::7", ServerAddress("2001:db8::7", 4730)),
        (" 127.0.0.1:4730 ", ServerAddress("127.0.0.1", 4730)),
    ],
)
def test_server_addresses_in_every_form(text, expected):
    assert parse_server_address(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("host:0", "not a number from 1 to 65535"),
        ("host:http", "not a number from 1 to 65535"),
        ("[::1", "without ']'"),
        ("[nothost]:1", "not an IPv6 address"),
        ("a b:1", "not a host name or IP address"),
        ("2001:db8::zz", "not an IPv6 address"),
    ],
)
def test_bad_server_addresses_say_what_is_wrong(text, reason):
    with pytest.raises(ServerAddressError, match=re.escape(reason)):
        parse_server_address(text)


# -- which servers: precedence --------------------------------------------------------------


def test_gearman_option_beats_config_file_beats_atom_config_beats_default(tmp_path):
    root = atom_site(tmp_path / "atom", {"config/gearman.yml": NEW_GEARMAN_YML})
    config = f"servers: [cfg.example:1]\natom_root: {root}\n"
    chosen = settings(tmp_path, config=config, cli_servers=["a:1", "[::1]:2", "a:1"])
    assert (servers(chosen), chosen.servers_source) == (["a:1", "[::1]:2"], "--gearman")

    chosen = settings(tmp_path, config=config)
    assert servers(chosen) == ["cfg.example:1"]
    assert (
        chosen.servers_source.startswith("config file ") and "config.yaml" in chosen.servers_source
    )

    chosen = settings(tmp_path, config=f"atom_root: {root}\n")
    assert servers(chosen) == ["10.0.0.1:4730"]
    assert chosen.servers_source == str(root / "config/gearman.yml")

    chosen = settings(tmp_path, config="poll_interval: 2\n")
    assert (servers(chosen), chosen.servers_source) == (["127.0.0.1:4730"], "built-in default")


def test_atom_root_option_beats_the_config_file(tmp_path):
    first = atom_site(tmp_path / "one", {"config/gearman.yml": NEW_GEARMAN_YML})
    second = atom_site(tmp_path / "two", {"config/app.yml": LEGACY_APP_YML})
    chosen = settings(tmp_path, config=f"atom_root: {first}\n", cli_atom_root=str(second))
    assert chosen.atom_root == second
    assert chosen.site_prefix == site_prefix(second)
    assert servers(chosen) == ["10.0.0.2:4731", "10.0.0.3:4730"]


# -- AtoM's gearman.yml variants ------------------------------------------------------------


def test_legacy_gearman_job_server_is_read_when_gearman_yml_names_no_server(tmp_path):
    root = atom_site(tmp_path / "atom", {"config/app.yml": LEGACY_APP_YML})
    chosen = settings(tmp_path, cli_atom_root=str(root))
    assert servers(chosen) == ["10.0.0.2:4731", "10.0.0.3:4730"]
    assert chosen.servers_source == f"{root}/config/app.yml (legacy gearman_job_server)"


def test_new_gearman_yml_wins_over_the_legacy_setting(tmp_path):
    root = atom_site(
        tmp_path / "atom",
        {"config/app.yml": LEGACY_APP_YML, "config/gearman.yml": NEW_GEARMAN_YML},
    )
    assert servers(settings(tmp_path, cli_atom_root=str(root))) == ["10.0.0.1:4730"]


def test_the_apps_qubit_file_adds_its_servers_and_keeps_worker_types(tmp_path):
    root = atom_site(
        tmp_path / "atom",
        {
            "config/gearman.yml": NEW_GEARMAN_YML
            + "  worker_types:\n    general: [arFindingAidJob]\n    sword: [qtSwordPluginWorker]\n",
            "apps/qubit/config/gearman.yml": "all:\n  servers:\n    a: g1:1\n    b: g2:2\n",
            "apps/qubit/config/app.yml": "all:\n  workers_key: site-b\n",
        },
    )
    chosen = settings(tmp_path, cli_atom_root=str(root))
    assert servers(chosen) == ["10.0.0.1:4730", "g1:1", "g2:2"]
    assert chosen.servers_source == (
        f"{root / 'config/gearman.yml'} + {root / 'apps/qubit/config/gearman.yml'}"
    )
    assert dict(chosen.worker_types) == {
        "general": ("arFindingAidJob",),
        "sword": ("qtSwordPluginWorker",),
    }
    assert chosen.site_prefix == site_prefix(root, "site-b")


def test_broken_gearman_yml_is_a_warning_with_file_and_line_not_a_stop(tmp_path):
    root = atom_site(tmp_path / "atom", {"config/gearman.yml": "all:\n  servers: [oops\n"})
    chosen = settings(tmp_path, cli_atom_root=str(root))
    (warning,) = chosen.warnings
    assert re.search(r"config/gearman\.yml:\d+: not valid YAML", warning)
    assert chosen.servers_source == "built-in default"
    assert dict(chosen.worker_types) == DEFAULT_WORKER_TYPES  # AtoM's own stand in
    assert chosen.site_prefix == site_prefix(root)


def test_a_bad_server_in_gearman_yml_is_a_warning_naming_the_file(tmp_path):
    root = atom_site(tmp_path / "atom", {"config/gearman.yml": "all:\n  servers: [':99999']\n"})
    chosen = settings(tmp_path, cli_atom_root=str(root))
    (warning,) = chosen.warnings
    assert re.search(r"config/gearman\.yml: ':99999': '' is not a host name", warning)
    assert servers(chosen) == ["127.0.0.1:4730"]


def test_a_bad_gearman_option_stops_with_the_reason(tmp_path):
    with pytest.raises(ConfigError, match="--gearman 'a:b': port 'b' is not a number"):
        settings(tmp_path, cli_servers=["a:b"])


# -- the config file ------------------------------------------------------------------------


def test_every_key_of_the_config_file_reaches_the_settings(tmp_path):
    chosen = settings(
        tmp_path,
        config=(
            "servers: gearman.example:4730\n"
            "unit_patterns: [atom-worker.service, 'worker-*.service']\n"
            "poll_interval: 2.5\n"
            "journal_backlog: 2000\n"
            "keys:\n"
            "  queues.filter: f\n"
            "  app.quit: ctrl+q,q\n"
        ),
    )
    assert servers(chosen) == ["gearman.example:4730"]
    assert chosen.unit_patterns == ("atom-worker.service", "worker-*.service")
    assert chosen.poll_interval == 2.5
    assert chosen.journal_backlog == 2000
    assert dict(chosen.keymap) == {"queues.filter": "f", "app.quit": "ctrl+q,q"}
    with pytest.raises(TypeError):
        chosen.keymap["app.quit"] = "x"  # frozen all the way down


def test_defaults_without_a_config_file(tmp_path):
    chosen = settings(tmp_path)
    assert chosen.config_file is None
    assert chosen.unit_patterns == WORKER_UNIT_PATTERNS
    assert chosen.journal_backlog == DEFAULT_JOURNAL_BACKLOG
    assert chosen.poll_interval == 1.0
    assert dict(chosen.keymap) == {}


def test_a_missing_atom_root_option_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="--atom-root: /nonexistent/atom is not a directory"):
        settings(tmp_path, cli_atom_root="/nonexistent/atom")


def test_interval_option_beats_the_config_file(tmp_path):
    assert settings(tmp_path, config="poll_interval: 3\n", cli_interval=0.5).poll_interval == 0.5
    with pytest.raises(ConfigError, match=r"--interval must be from 0\.1 to 3600"):
        settings(tmp_path, cli_interval=0.01)


def test_config_path_comes_from_option_then_environment_then_xdg(tmp_path):
    by_env = tmp_path / "env.yaml"
    by_env.write_text("journal_backlog: 11\n")
    by_option = tmp_path / "option.yaml"
    by_option.write_text("journal_backlog: 12\n")
    environ = {"XDG_CONFIG_HOME": str(tmp_path / "none"), "ATOMCTL_TUI_CONFIG": str(by_env)}
    assert resolve_settings(environ=environ).journal_backlog == 11
    assert resolve_settings(environ=environ, cli_config=str(by_option)).journal_backlog == 12
    with pytest.raises(ConfigError, match="no such config file"):
        resolve_settings(environ=environ, cli_config=str(tmp_path / "missing.yaml"))


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("servers: [a:1\n", 2, "not valid YAML"),
        ("poll_interval: 1\npoll_intervall: 2\n", 2, "unknown setting 'poll_intervall'"),
        ("servers:\n  - ok:1\n  - 'bad host:1'\n", 3, "not a host name or IP address"),
        ("poll_interval: fast\n", 1, "'poll_interval' (seconds) must be a number"),
        ("poll_interval: 0\n", 1, "poll_interval must be from 0.1 to 3600 seconds"),
        ("journal_backlog: 1.5\n", 1, "journal_backlog must be a whole number"),
        ("unit_patterns: []\n", 1, "must not be empty"),
        ("unit_patterns: ['atom worker']\n", 1, "is not a unit name or glob"),
        ("keys:\n  queues.filter: ''\n", 2, "expected keys: a key for 'queues.filter'"),
        ("keys:\n  'bad id': x\n", 2, "'bad id' is not a binding id"),
        ("keys: [a]\n", 1, "'keys' must be a mapping"),
        ("atom_root: /nonexistent/atom\n", 1, "is not a directory"),
        ("servers: [a:1]\nservers: [b:2]\n", 2, "'servers' is given twice"),
        ("- just\n- a list\n", 1, "must be a mapping"),
        # What PyYAML or Python would have raised as a traceback:
        ("poll_interval: 1\nkeys: !!python/object:os.system {}\n", 2, "tag !!python/object:"),
        ("poll_interval: !!python/name:os.system\n", 1, "tag !!python/name:os.system is not"),
        ("servers: !!python/object/apply:os.system ['id']\n", 1, "tag !!python/object/apply"),
        ("\njournal_backlog: " + "9" * 5000 + "\n", 2, "a number 5,000 characters long"),
        ("poll_interval: " + "9" * 400 + "\n", 1, "a number 400 characters long"),
        ("poll_interval: !!int fast\n", 1, "'fast' is not a valid int"),
        ("servers: " + "[" * 5000 + "]" * 5000 + "\n", 1, "nested more than 64 levels"),
        ("servers: [a:1]\nssh_config: \x00\n", 2, "not valid YAML"),
    ],
)
def test_a_broken_config_file_is_reported_with_file_line_and_reason(tmp_path, text, line, reason):
    with pytest.raises(ConfigError) as error:
        settings(tmp_path, config=text)
    message = str(error.value)
    assert message.startswith(f"{tmp_path}/xdg/atomctl-tui/config.yaml")
    assert reason in message
    assert f"config.yaml:{line}:" in message

"""`--host` values, `hosts:` in the config file, and what never reaches ssh."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from atomctl_tui.config import ConfigError, ConfiguredHost, resolve_settings
from atomctl_tui.remote.host_spec import HostSpec, HostSpecError, check_ssh_option, parse_host_spec
from atomctl_tui.remote.hosts import Host
from atomctl_tui.remote.ssh_link import SshLink, SshOptions, unixexec_address

CONSOLE = os.path.join(os.path.dirname(sys.executable), "atomctl-tui")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("worker1", HostSpec("worker1")),
        ("root@10.0.0.5", HostSpec("10.0.0.5", user="root")),
        ("admin@gm.example.org:2222", HostSpec("gm.example.org", user="admin", port=2222)),
        ("[2001:db8::5]:22", HostSpec("2001:db8::5", port=22)),
        ("www-data@[::1]", HostSpec("::1", user="www-data")),
        ("lab-a", HostSpec("lab-a")),  # an ssh config alias
    ],
)
def test_host_specs_in_systemctl_h_form(text, expected):
    assert parse_host_spec(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("-oProxyCommand=touch /tmp/owned", "must not begin with '-'"),
        ("root@-oProxyCommand=x", "must not begin with '-'"),
        ("worker1 -oProxyCommand=x", "spaces and control characters"),
        ("worker1\n-oProxyCommand=x", "spaces and control characters"),
        ("worker1\x1b]0;title\x07", "spaces and control characters"),
        ("worker1\t", "spaces and control characters"),
        ("", "empty host"),
        ("worker1:0", "port '0'"),
        ("worker1:ssh", "port 'ssh'"),
        ("worker1:", "':' without a port"),
        ("2001:db8::5", "in brackets"),
        ("host/container", "not supported"),
        ("wo$rker", "not a host name"),
        ("ro;ot@worker1", "not a user name"),
    ],
)
def test_refused_hosts_say_why(text, reason):
    with pytest.raises(HostSpecError, match=reason):
        parse_host_spec(text)


@pytest.mark.parametrize(
    "argv",
    [
        ["--host", "-oProxyCommand=touch /tmp/owned"],
        ["--host=-oProxyCommand=touch /tmp/owned"],
        ["--host", "root@-oProxyCommand=x"],
        ["--host", "worker1 -oProxyCommand=x"],
        ["--ssh-option", "-oProxyCommand=x", "--host", "worker1"],
    ],
)
def test_the_console_refuses_option_like_hosts_before_running_anything(argv, tmp_path):
    result = subprocess.run(
        [CONSOLE, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path)},
    )
    assert result.returncode == 1
    assert "error: argument --" in result.stderr
    assert any(
        words in result.stderr
        for words in ("must not begin with '-'", "spaces and control", "Key=Value")
    ), result.stderr
    assert not Path("/tmp/owned").exists()


def test_ssh_options_are_key_value_items():
    assert check_ssh_option("ConnectTimeout=5") == "ConnectTimeout=5"
    for bad in ("-F/etc/passwd", "", "Connect\nTimeout=5", "=5"):
        with pytest.raises(HostSpecError):
            check_ssh_option(bad)


def test_remote_commands_are_quoted_word_by_word_for_the_remote_shell():
    host = Host("remote", run_prefix=("ssh", "--", "remote"), remote_shell=True)
    argv = host.argv("journalctl", "--cursor=s=1;b=2", "_SYSTEMD_UNIT=a$(reboot).service")
    assert argv == [
        "ssh",
        "--",
        "remote",
        "journalctl '--cursor=s=1;b=2' '_SYSTEMD_UNIT=a$(reboot).service'",
    ]


def test_the_ssh_argv_keeps_the_destination_after_double_dash(tmp_path):
    spec = parse_host_spec("admin@gm.example.org:2222")
    link = SshLink(spec, SshOptions("/etc/cfg", ("ConnectTimeout=5",)), tmp_path, name="h0")
    prefix = list(link.client_prefix())
    assert prefix[-6:] == ["-p", "2222", "-l", "admin", "--", "gm.example.org"]
    # The console's own control settings come first: ssh keeps the first value it sees.
    assert prefix.index("ControlMaster=no") < prefix.index("ConnectTimeout=5")
    master = link.master_argv(batch=True)
    assert master.index("BatchMode=yes") < master.index("ConnectTimeout=5")
    address = link.host().dbus_address.decode()
    assert address.startswith("unixexec:path=ssh,argv0=ssh,")
    assert "argv1=-F,argv2=/etc/cfg," in address and "%3d" in address  # '=' escaped
    assert unixexec_address(["a b", "c,d"]) == b"unixexec:path=a%20b,argv0=a%20b,argv1=c%2cd"


def write_config(tmp_path: Path, text: str) -> dict[str, str]:
    (tmp_path / "atomctl-tui").mkdir()
    (tmp_path / "atomctl-tui" / "config.yaml").write_text(text)
    return {"XDG_CONFIG_HOME": str(tmp_path)}


def test_hosts_from_the_config_file_and_the_command_line(tmp_path):
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text("")
    environ = write_config(
        tmp_path,
        "atom_root: /srv/atom\n"
        f"ssh_config: {ssh_config}\n"
        "ssh_options: [ConnectTimeout=5]\n"
        "hosts:\n"
        "  - root@worker1\n"
        "  - {host: 'admin@gm:2222', atom_root: /opt/atom}\n",
    )
    settings = resolve_settings(environ=environ)
    assert settings.hosts == (
        ConfiguredHost(HostSpec("worker1", user="root"), "/srv/atom"),
        ConfiguredHost(HostSpec("gm", user="admin", port=2222), "/opt/atom"),
    )
    assert (settings.ssh_config, settings.ssh_options) == (str(ssh_config), ("ConnectTimeout=5",))
    assert settings.servers == () and settings.atom_root is None  # read on each host
    # --host replaces the file's list; --atom-root applies to the hosts, not to this machine.
    cli = resolve_settings(
        environ=environ, cli_hosts=[parse_host_spec("w9")], cli_atom_root="/nowhere/here"
    )
    assert cli.hosts == (ConfiguredHost(HostSpec("w9"), "/nowhere/here"),)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("hosts: ['-oProxyCommand=x']\n", "config.yaml:1: hosts: .*must not begin with '-'"),
        ("hosts:\n  - {host: w1, shell: x}\n", "config.yaml:2: a host is"),
        ("ssh_options: ['-F x']\n", "config.yaml:1: ssh_options: .*Key=Value"),
    ],
)
def test_bad_hosts_in_the_config_file_stop_with_line_and_reason(tmp_path, text, reason):
    with pytest.raises(ConfigError, match=reason):
        resolve_settings(environ=write_config(tmp_path, text))


def test_the_same_host_twice_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="given twice"):
        resolve_settings(
            environ={"XDG_CONFIG_HOME": str(tmp_path)},
            cli_hosts=[parse_host_spec("w1"), parse_host_spec("w1")],
        )

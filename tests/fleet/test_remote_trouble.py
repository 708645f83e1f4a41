"""A remote host that cannot be used says why, in words, on screen: authentication failed,
nothing listening, systemd-stdio-bridge missing. Against the shared lab's real sshd."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from atomctl_tui.atom import site_prefix
from atomctl_tui.lab import preflight
from atomctl_tui.lab.ssh import client_config_path
from atomctl_tui.lab.state import LabState
from atomctl_tui.remote.host_spec import parse_host_spec
from atomctl_tui.remote.site import read_remote_site
from atomctl_tui.remote.ssh_link import SshLink, SshOptions
from atomctl_tui.ui.job_server.hosts_status import HostsStatus
from atomctl_tui.ui.workers.pane import WorkersPane
from tests.fleet.fleet_console import fleet_console
from tests.ui.screen_text import screen_text
from tests.ui.workers_console import SMALL_TERMINAL
from tests.waiting import wait_until_async

pytestmark = pytest.mark.lab

MISSING_BRIDGE = "systemd-stdio-bridge-absent"


def one_host(lab: LabState, *, port: int | None = None, ssh_config: Path | None = None):
    return [
        "--host",
        f"root@127.0.0.1:{port or lab.ssh_port}",
        "--ssh-config",
        str(ssh_config or client_config_path()),
        "--atom-root",
        str(lab.paths.atom_root),
    ]


def host_words(app) -> str:
    status = app.query_one(HostsStatus)
    return status.line(next(iter(status.links)))[1]


def config_with_an_unknown_key(tmp_path: Path) -> Path:
    """The labs' ssh config, but offering a key no lab has authorized."""
    key = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    lines = client_config_path().read_text().splitlines()
    config = tmp_path / "ssh_config"
    config.write_text(
        "\n".join(
            f"    IdentityFile {key}" if line.strip().startswith("IdentityFile") else line
            for line in lines
        )
        + "\n"
    )
    return config


async def test_a_refused_key_is_authentication_failed(lab, tmp_path):
    argv = one_host(lab, ssh_config=config_with_an_unknown_key(tmp_path))
    with fleet_console(argv) as app:
        async with app.run_test(size=SMALL_TERMINAL) as pilot:
            await wait_until_async(
                lambda: host_words(app).startswith("authentication failed: Permission denied"),
                what=f"authentication failed (is {host_words(app)!r})",
            )
            await wait_until_async(lambda: "reconnecting in" in host_words(app))
            await pilot.pause()
            assert "authentication failed" in screen_text(app)


async def test_nothing_listening_is_said_and_retried(lab):
    port = preflight.free_port(29000, {lab.ssh_port, lab.gearman_port})
    with fleet_console(one_host(lab, port=port)) as app:
        async with app.run_test(size=SMALL_TERMINAL):
            await wait_until_async(
                lambda: (
                    host_words(app).startswith("disconnected: connection refused")
                    and "reconnecting in" in host_words(app)
                ),
                what=f"connection refused (is {host_words(app)!r})",
            )


async def test_a_missing_systemd_stdio_bridge_is_named(lab):
    """The console runs the bridge under another name, one no host has: the same remote
    shell's 'not found' a host without the bridge gives."""
    with fleet_console(one_host(lab), bridge=MISSING_BRIDGE) as app:
        async with app.run_test(size=SMALL_TERMINAL) as pilot:
            await wait_until_async(
                lambda: f"{MISSING_BRIDGE} is missing on" in host_words(app),
                what=f"the bridge named missing (is {host_words(app)!r})",
            )
            assert host_words(app).startswith("connected; cannot reach systemd")
            workers = app.query_one(WorkersPane)
            status = str(workers.query_one("#workers-status").render())
            assert f"{MISSING_BRIDGE} is missing" in status
            await pilot.pause()


def test_a_hosts_atom_config_is_read_over_ssh_exactly(lab, tmp_path):
    """One remote command reads it all; file contents that look like the reply's own
    markers, or are not UTF-8, cannot confuse it."""
    root = lab.paths.root / "atom-remote-read"
    (root / "config").mkdir(parents=True)
    (root / "apps/qubit/config").mkdir(parents=True)
    try:
        (root / "config/gearman.yml").write_text(
            "# -\n# !\n# 12\nall:\n  servers:\n    default: 10.9.8.7:4731\n"
        )
        (root / "apps/qubit/config/app.yml").write_bytes(b"all:\n  workers_key: \xff\xfe\n")
        link = SshLink(
            parse_host_spec(f"root@127.0.0.1:{lab.ssh_port}"),
            SshOptions(str(client_config_path())),
            tmp_path,
            name="t0",
        )
        assert link.open(interactive=False).connected
        try:
            site = read_remote_site(link, str(root))
            missing = read_remote_site(link, str(root / "nowhere"))
        finally:
            link.close()
    finally:
        shutil.rmtree(root)
    assert site.gearman is not None and site.gearman.servers == ("10.9.8.7:4731",)
    assert site.gearman.source == f"{root}/config/gearman.yml"
    assert site.atom_root == str(root) and site.prefix == site_prefix(root)
    assert [w for w in site.warnings if "app.yml is unusable" in w and "cannot read" in w]
    assert site.addresses >= {"127.0.0.1"}
    assert missing.atom_root is None
    assert missing.warnings == (f"{link.label}: {root / 'nowhere'} is not there (the AtoM root)",)


async def test_a_dead_systemd_process_is_said_and_replaced(lab):
    with fleet_console(one_host(lab)) as app:
        async with app.run_test(size=SMALL_TERMINAL):
            watch = app.fleet.members[0].units
            workers = app.query_one(WorkersPane)
            await wait_until_async(lambda: workers.current_key() is not None, what="the units")
            shown = set(watch.snapshot())
            updates = []
            unsubscribe = watch.subscribe(updates.append)
            try:
                first = watch.child_pid
                os.kill(first, signal.SIGKILL)  # the child this test's console started
                status = workers.query_one("#workers-status")
                await wait_until_async(
                    lambda: "the systemd process for" in str(status.render()),
                    what="the dead child said",
                )
                await wait_until_async(
                    lambda: (
                        watch.child_pid not in (None, first)
                        and host_words(app) == "connected"
                        and any(update.listed for update in updates[1:])
                    ),
                    what=f"a new child, connected, its units listed (is {host_words(app)!r})",
                )
            finally:
                unsubscribe()
            # The rows stayed while the new child started: nothing removed, nothing blanked.
            assert [update.removed for update in updates if update.removed] == []
            assert set(watch.snapshot()) == shown
            assert workers.current_key() is not None

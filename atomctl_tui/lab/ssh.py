"""sshd inside a lab, and one ssh client config that reaches every lab as a remote host.

Each lab has its own host key; all labs share one client key, known_hosts and config under
``labs_home()/ssh``, so ``ssh -F <config>`` reaches any of them (later issues use two labs
as two hosts in one console).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from atomctl_tui.lab.state import LabPaths, LabState, labs_home


def client_dir() -> Path:
    return labs_home() / "ssh"


def client_config_path() -> Path:
    return client_dir() / "config"


def client_key_path() -> Path:
    return client_dir() / "id_ed25519"


def _keygen(path: Path, comment: str) -> None:
    if not path.exists():
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
            check=True,
        )


def write_sshd_files(paths: LabPaths, ssh_port: int) -> None:
    """Host key, authorized_keys and sshd_config of one lab."""
    client_dir().mkdir(mode=0o700, parents=True, exist_ok=True)
    _keygen(client_key_path(), "atomctl-lab client")
    ssh_dir = paths.ssh_dir
    ssh_dir.mkdir(mode=0o755, exist_ok=True)
    host_key = ssh_dir / "ssh_host_ed25519_key"
    _keygen(host_key, f"atomctl-lab {paths.name}")
    authorized = ssh_dir / "authorized_keys"
    authorized.write_text(client_key_path().with_suffix(".pub").read_text())
    authorized.chmod(0o644)
    (ssh_dir / "sshd_config").write_text(
        f"""\
# sshd of atomctl lab {paths.name}: loopback only, key authentication only.
Port {ssh_port}
ListenAddress 127.0.0.1
HostKey {host_key}
AuthorizedKeysFile {authorized}
PidFile /run/atomctl-lab-sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PrintMotd no
AcceptEnv LANG LC_*
# The lab shares /root with the host: bash run by sshd would source the host's ~/.bashrc for
# every command (with pyenv: a rehash under a lock that a lab powered off mid-command leaves
# behind, stalling every later shell for 60 s). A SHLVL of 1 tells bash it is not the
# top-level shell sshd started, so it leaves ~/.bashrc alone.
SetEnv SHLVL=1
Subsystem sftp /usr/lib/openssh/sftp-server
"""
    )


def write_client_config(running: list[LabState]) -> Path:
    """The shared ssh config and known_hosts, listing every running lab."""
    known_hosts = client_dir() / "known_hosts"
    host_keys = []
    blocks = []
    for lab in sorted(running, key=lambda s: s.name):
        public = (lab.paths.ssh_dir / "ssh_host_ed25519_key.pub").read_text().split()
        host_keys.append(f"[127.0.0.1]:{lab.ssh_port} {public[0]} {public[1]}\n")
        blocks.append(f"Host lab-{lab.name}\n    HostName 127.0.0.1\n    Port {lab.ssh_port}\n")
    known_hosts.write_text("".join(host_keys))
    config = client_config_path()
    config.write_text(
        "# Written by atomctl-lab: reaches every running lab (`ssh -F this lab-<name>`,\n"
        "# or `ssh -F this -p <ssh port> root@127.0.0.1`).\n"
        + "".join(blocks)
        + f"""\
Host *
    User root
    IdentityFile {client_key_path()}
    IdentitiesOnly yes
    UserKnownHostsFile {known_hosts}
    GlobalKnownHostsFile /dev/null
    StrictHostKeyChecking yes
    CheckHostIP no
    BatchMode yes
    ConnectTimeout 5
"""
    )
    return config

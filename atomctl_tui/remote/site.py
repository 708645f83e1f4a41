"""What a remote host says about itself, read over its SSH connection at start-up: its AtoM
site (gearman.yml, app.yml, the root's real path for the site prefix) and its addresses.

All of it comes from one remote command, since each command costs a round trip and a new
session on the host: a fixed ``sh`` script, with the AtoM root passed as ``$1`` — never
written into the script — and every word quoted for the remote shell by ``Host.argv``. The
script prints the host's addresses, the root's real path, then each config file as its size
in bytes and its bytes (``-`` when there is no such file, ``!`` when it cannot be read), so
the reply is read back exactly whatever the files hold.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from atomctl_tui.atom import (
    DEFAULT_ATOM_ROOT,
    AtomConfigError,
    GearmanConfig,
    app_yml_paths,
    gearman_yml_paths,
    load_gearman_config,
    read_workers_key,
    site_prefix,
)
from atomctl_tui.remote.ssh_link import SshLink

READ_SITE_SCRIPT = """\
hostname -I 2>/dev/null || echo
cd -- "$1" 2>/dev/null || exit 3
pwd -P
shift
for f in "$@"; do
    if [ ! -f "$f" ]; then echo -
    elif [ ! -r "$f" ]; then echo !
    else wc -c < "$f" && cat -- "$f"
    fi
done
"""
NO_ROOT = 3  # the script's exit status when the AtoM root is not there
MAX_CONFIG_BYTES = 1024 * 1024  # far above any AtoM config file


@dataclass(frozen=True)
class RemoteSite:
    """A host's AtoM site as far as the console needs it."""

    atom_root: str | None  # the real path on the host; None: no AtoM site found there
    gearman: GearmanConfig | None = None
    prefix: str | None = None
    warnings: tuple[str, ...] = ()
    addresses: frozenset[str] = field(default_factory=frozenset)


class _Reply:
    """The script's output, read from the front."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def line(self) -> str:
        end = self.data.index(b"\n", self.at)
        text = self.data[self.at : end].decode(errors="replace")
        self.at = end + 1
        return text

    def file(self) -> str | AtomConfigError | None:
        head = self.line()
        if head == "-":
            return None
        if head == "!" or not head.strip().isdigit():
            return AtomConfigError("cannot read (permission denied)")
        size = int(head.strip())
        if size > MAX_CONFIG_BYTES or self.at + size > len(self.data):
            raise ValueError("a file's size and its bytes do not agree")
        content = self.data[self.at : self.at + size]
        self.at += size
        try:
            return content.decode("utf-8")
        except UnicodeDecodeError as exc:
            return AtomConfigError(f"cannot read ({exc})")


def read_remote_site(link: SshLink, atom_root: str | None) -> RemoteSite:
    """Read ``link``'s host: AtoM config under ``atom_root`` (None: AtoM's default root, if
    there), and its addresses. Blocks for a round trip; never raises for what the host says:
    problems become warnings."""
    root = atom_root or str(DEFAULT_ATOM_ROOT)
    paths = [*gearman_yml_paths(root), *app_yml_paths(root)]
    relative = [str(path.relative_to(root)) for path in paths]
    addresses = set(ssh_addresses(link))
    try:
        done = link.run("sh", "-c", READ_SITE_SCRIPT, "sh", root, *relative, text=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return RemoteSite(None, warnings=(f"{link.label}: AtoM config not read ({exc})",))
    reply = _Reply(done.stdout)
    if done.returncode == NO_ROOT:
        with contextlib.suppress(ValueError):
            addresses.update(_addresses(reply.line()))
        # Asked for, it must be there; AtoM's default root may simply not be used.
        missing = (f"{link.label}: {atom_root} is not there (the AtoM root)",) if atom_root else ()
        return RemoteSite(None, warnings=missing, addresses=frozenset(addresses))
    try:
        addresses.update(_addresses(reply.line()))
        resolved = reply.line()
        files = {path: reply.file() for path in paths}
    except ValueError:
        why = done.stderr.decode(errors="replace").strip()[:200] or f"status {done.returncode}"
        warnings = (f"{link.label}: AtoM config not read ({why})",)
        return RemoteSite(None, warnings=warnings, addresses=frozenset(addresses))
    return _site(link.label, root, resolved, files, frozenset(addresses))


def _site(
    label: str,
    root: str,
    resolved: str,
    files: dict[Path, str | AtomConfigError | None],
    addresses: frozenset[str],
) -> RemoteSite:
    def read(path: Path) -> str | None:
        found = files[path]
        if isinstance(found, AtomConfigError):
            raise AtomConfigError(f"{label}:{path}: {found}")
        return found

    warnings: list[str] = []
    gearman: GearmanConfig | None = None
    try:
        gearman = load_gearman_config(root, read=read)
    except AtomConfigError as exc:
        warnings.append(f"{label}: AtoM's Gearman config is unusable: {exc}")
    try:
        key = read_workers_key(root, read=read)
    except AtomConfigError as exc:
        warnings.append(f"{label}: AtoM's app.yml is unusable, workers_key assumed empty: {exc}")
        key = ""
    return RemoteSite(
        atom_root=resolved,
        gearman=gearman,
        prefix=site_prefix(root, key, resolved=resolved),
        warnings=tuple(warnings),
        addresses=addresses,
    )


def ssh_addresses(link: SshLink) -> set[str]:
    """Where the console reaches the host: ssh's own idea of its name (``ssh -G``: an alias
    of the ssh config resolved), looked up here."""
    try:
        settings = subprocess.run(
            link.control_argv("-G"),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        settings = ""
    name = next(
        (line.split(None, 1)[1] for line in settings.splitlines() if line.startswith("hostname ")),
        link.spec.hostname,
    )
    with contextlib.suppress(OSError, UnicodeError):  # a name only ssh's config knows
        return {str(info[4][0]) for info in socket.getaddrinfo(name, None)}
    return set()


def _addresses(words: str) -> set[str]:
    """The host's own interface addresses (``hostname -I``), the valid ones."""
    found = set()
    for word in words.split():
        with contextlib.suppress(ValueError):
            found.add(str(ipaddress.ip_address(word)))
    return found

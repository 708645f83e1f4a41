"""What a remote host says about itself, read over its SSH connection at start-up: its AtoM
site (gearman.yml, app.yml, the root's real path for the site prefix) and its addresses.

Every command sent is made of fixed words and the configured AtoM root; ``Host.argv`` quotes
each word for the remote shell (see ``hosts.py``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor
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
from atomctl_tui.ssh_link import SshLink

MISSING_FILE_WORDS = ("No such file", "Not a directory")


@dataclass(frozen=True)
class RemoteSite:
    """A host's AtoM site as far as the console needs it."""

    atom_root: str | None  # the real path on the host; None: no AtoM site found there
    gearman: GearmanConfig | None = None
    prefix: str | None = None
    warnings: tuple[str, ...] = ()
    addresses: frozenset[str] = field(default_factory=frozenset)


def read_remote_site(link: SshLink, atom_root: str | None) -> RemoteSite:
    """Read ``link``'s host: AtoM config under ``atom_root`` (None: AtoM's default root, if
    there), and its addresses. Blocks (a few round trips, concurrent); never raises for what
    the host says: problems become warnings."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        addresses = pool.submit(host_addresses, link)
        root = atom_root or str(DEFAULT_ATOM_ROOT)
        real = _run(link, "realpath", "-e", "--", root)
        warnings: list[str] = []
        if real.returncode != 0 or not real.stdout.strip():
            if atom_root is not None:  # asked for: say it is not there
                warnings.append(f"{link.label}: {atom_root} is not there (the AtoM root)")
            return RemoteSite(None, warnings=tuple(warnings), addresses=addresses.result())
        resolved = real.stdout.strip()
        paths = [*gearman_yml_paths(root), *app_yml_paths(root)]
        texts = dict(zip(paths, pool.map(lambda p: _cat(link, p), paths), strict=True))
    gearman: GearmanConfig | None = None
    try:
        gearman = load_gearman_config(root, read=lambda path: _text(texts[path]))
    except AtomConfigError as exc:
        warnings.append(f"{link.label}: AtoM's Gearman config is unusable: {exc}")
    try:
        key = read_workers_key(root, read=lambda path: _text(texts[path]))
    except AtomConfigError as exc:
        warnings.append(
            f"{link.label}: AtoM's app.yml is unusable, workers_key assumed empty: {exc}"
        )
        key = ""
    return RemoteSite(
        atom_root=resolved,
        gearman=gearman,
        prefix=site_prefix(root, key, resolved=resolved),
        warnings=tuple(warnings),
        addresses=addresses.result(),
    )


def host_addresses(link: SshLink) -> frozenset[str]:
    """The addresses the host is known by: those the console reaches it at (ssh's own idea of
    the host name, resolved here) and those it lists for its interfaces (``hostname -I``)."""
    addresses: set[str] = set()
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
        addresses.update(str(info[4][0]) for info in socket.getaddrinfo(name, None))
    listed = _run(link, "hostname", "-I")
    if listed.returncode == 0:
        for word in listed.stdout.split():
            try:
                addresses.add(str(ipaddress.ip_address(word)))
            except ValueError:
                continue
    return frozenset(addresses)


def _run(link: SshLink, *command: str) -> subprocess.CompletedProcess:
    try:
        return link.run(*command)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(command, 255, "", str(exc))


def _cat(link: SshLink, path: Path) -> str | AtomConfigError | None:
    done = _run(link, "cat", "--", str(path))
    if done.returncode == 0:
        return done.stdout
    if any(words in done.stderr for words in MISSING_FILE_WORDS):
        return None
    reason = done.stderr.strip() or f"cat exited with status {done.returncode}"
    return AtomConfigError(f"{link.label}:{path}: cannot read ({reason[:200]})")


def _text(read: str | AtomConfigError | None) -> str | None:
    if isinstance(read, AtomConfigError):
        raise read
    return read

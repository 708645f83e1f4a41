"""AtoM's database settings, from ``<atom root>/config/config.php`` (read, never run).

The file returns an array of environments (``all``, ``dev``, ``test``, maybe ``prod``); as
symfony 1.4 does (``sfYamlConfigHandler::flattenConfigurationWithEnvironment``), ``default``,
``all`` and the environment's own section are merged deeply, later ones winning, and the
connection is ``propel.param``: ``dsn``, ``username``, ``password``, ``encoding``.

The dsn is PDO's: ``mysql:dbname=atom;host=db1;port=3306;unix_socket=…;charset=…``. With no
host, or ``localhost``, PDO's MySQL driver uses the local Unix socket (``unix_socket``, else
PHP's default, ``/var/run/mysqld/mysqld.sock`` on Debian and Ubuntu); any other host is TCP.

The password is in no repr, str, message or log: a field with ``repr=False``, and errors say
which file and line, never a value.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from dataclasses import dataclass, field
from pathlib import Path

from atomctl_tui.atom_db.php_literal import PhpLiteralError, parse_php_return

CONFIG_PHP = Path("config") / "config.php"
DEFAULT_SOCKET = "/var/run/mysqld/mysqld.sock"
DEFAULT_PORT = 3306
DEFAULT_ENVIRONMENT = "prod"  # the web site's and the workers' environment
MAX_CONFIG_BYTES = 1024 * 1024
LOCAL_HOSTS = frozenset({"", "localhost"})


class AtomDbConfigError(Exception):
    """AtoM's database settings cannot be had, in words (the file, and why)."""


@dataclass(frozen=True)
class DatabaseSettings:
    """Where AtoM's database is and how to log in, as config.php says."""

    dbname: str
    username: str
    password: str = field(repr=False)
    host: str | None = None
    """None: the local Unix socket (``socket``); else a TCP host, with ``port``."""
    port: int = DEFAULT_PORT
    socket: str = DEFAULT_SOCKET
    charset: str = "utf8mb4"
    source: str = ""
    """Where these came from (the file), for messages."""

    @property
    def where(self) -> str:
        """The server, in words: ``socket /var/run/mysqld/mysqld.sock`` or ``db1:3306``."""
        return f"socket {self.socket}" if self.host is None else f"{self.host}:{self.port}"

    def __str__(self) -> str:
        return f"database {self.dbname!r} as {self.username!r} at {self.where}"


def config_php_path(atom_root: str | os.PathLike[str]) -> Path:
    return Path(atom_root) / CONFIG_PHP


def parse_dsn(dsn: str, name: str) -> dict[str, str]:
    """A PDO MySQL dsn's ``key=value`` pairs (keys lower-cased; later ones win, as in PDO)."""
    prefix, colon, rest = dsn.partition(":")
    if not colon or prefix.strip().lower() != "mysql":
        raise AtomDbConfigError(f"{name}: the dsn is not a MySQL one (it must begin 'mysql:')")
    pairs: dict[str, str] = {}
    for item in rest.split(";"):
        if not item.strip():
            continue
        key, equals, value = item.partition("=")
        if not equals:
            raise AtomDbConfigError(f"{name}: the dsn has {key.strip()[:40]!r} without '='")
        pairs[key.strip().lower()] = value.strip()
    return pairs


def settings_from_source(
    source: str, name: str, *, environment: str = DEFAULT_ENVIRONMENT
) -> DatabaseSettings:
    """The settings in config.php's text ``source`` (``name`` in messages)."""
    try:
        config = parse_php_return(source, name)
    except PhpLiteralError as exc:
        raise AtomDbConfigError(f"not AtoM's config.php format: {exc}") from None
    if not isinstance(config, dict):
        raise AtomDbConfigError(f"{name}: not AtoM's format (it returns no array)")
    merged = _deep_merge(*(config.get(key) for key in ("default", "all", environment)))
    propel = merged.get("propel")
    params = propel.get("param") if isinstance(propel, dict) else None
    if not isinstance(params, dict):
        raise AtomDbConfigError(f"{name}: not AtoM's format (no all.propel.param)")
    dsn, username, password = (params.get(key) for key in ("dsn", "username", "password"))
    if not isinstance(dsn, str):
        raise AtomDbConfigError(f"{name}: not AtoM's format (no dsn in all.propel.param)")
    if not isinstance(username, str):
        raise AtomDbConfigError(f"{name}: no username in all.propel.param")
    if password is None:
        password = ""
    if not isinstance(password, str | int):
        raise AtomDbConfigError(f"{name}: the password in all.propel.param is not a string")
    pairs = parse_dsn(dsn, name)
    dbname = pairs.get("dbname", "")
    if not dbname:
        raise AtomDbConfigError(f"{name}: the dsn names no database (dbname=)")
    host = pairs.get("host", "")
    port_text = pairs.get("port", str(DEFAULT_PORT)) or str(DEFAULT_PORT)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise AtomDbConfigError(f"{name}: the dsn's port {port_text[:20]!r} is not a port")
    encoding = params.get("encoding")
    charset = pairs.get("charset") or (encoding if isinstance(encoding, str) else "") or "utf8mb4"
    return DatabaseSettings(
        dbname=dbname,
        username=username,
        password=str(password),
        host=None if host.lower() in LOCAL_HOSTS else host,
        port=int(port_text),
        socket=pairs.get("unix_socket") or DEFAULT_SOCKET,
        charset=charset,
        source=name,
    )


def _deep_merge(*sections: object) -> dict[str | int, object]:
    """symfony's ``sfToolkit::arrayDeepMerge``: arrays merged key by key, later values win."""
    merged: dict[str | int, object] = {}
    for section in sections:
        if not isinstance(section, dict):
            continue
        for key, value in section.items():
            old = merged.get(key)
            if isinstance(old, dict) and isinstance(value, dict):
                merged[key] = _deep_merge(old, value)
            else:
                merged[key] = value
    return merged


def read_local_settings(
    atom_root: str | os.PathLike[str], *, environment: str = DEFAULT_ENVIRONMENT
) -> DatabaseSettings:
    """The settings of the AtoM site at ``atom_root`` on this machine."""
    path = config_php_path(atom_root)
    try:
        with open(path, "rb") as config:
            data = config.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise AtomDbConfigError(missing_words(str(path))) from None
    except PermissionError:
        raise AtomDbConfigError(unreadable_words(str(path), _who_can_read(path))) from None
    except OSError as exc:
        raise AtomDbConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return settings_from_bytes(data, str(path), environment=environment)


def settings_from_bytes(
    data: bytes, name: str, *, environment: str = DEFAULT_ENVIRONMENT
) -> DatabaseSettings:
    if len(data) > MAX_CONFIG_BYTES:
        raise AtomDbConfigError(f"{name}: too big for AtoM's config.php (over 1 MiB)")
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError:
        raise AtomDbConfigError(f"{name}: not AtoM's format (not UTF-8 text)") from None
    return settings_from_source(source, name, environment=environment)


def missing_words(name: str) -> str:
    return f"{name} is not there (AtoM's database settings; is the AtoM root right?)"


def unreadable_words(name: str, readers: str) -> str:
    return f"{name} cannot be read by {_me()} (permission denied); {readers}"


def _me() -> str:
    return _user_name(os.geteuid())


def _who_can_read(path: Path) -> str:
    """Who may read ``path``, from its owner, group and mode: what the admin can do about it."""
    try:
        info = path.stat()
    except OSError:
        return "run as root or as the web server's user (www-data)"
    return readers_words(_user_name(info.st_uid), _group_name(info.st_gid), info.st_mode)


def readers_words(owner: str, group: str, mode: int) -> str:
    """``readable by root and group www-data (mode 0640)``: who to run as."""
    who = ["root"]
    if mode & stat.S_IRUSR and owner != "root":
        who.append(f"user {owner}")
    if mode & stat.S_IRGRP:
        who.append(f"members of group {group}")
    if mode & stat.S_IROTH:
        who = ["everyone"]
    return f"readable by {' and '.join(who)} (mode {stat.S_IMODE(mode):04o})"


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)

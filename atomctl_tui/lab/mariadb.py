"""MariaDB inside a lab: Debian's ``mariadb.service`` with the lab's own option file, data
directory and socket, and AtoM's ``atom`` database with the tables atomctl-tui reads.

Debian's unit is kept (its name, user, sandboxing, Type=notify), with a drop-in that starts
``mariadbd`` on the lab's option file only: the host's /etc/mysql, whose ``datadir`` is the
host's /var/lib/mysql, is never read, and Debian's Galera recovery and ``debian-start`` (which
read it) do not run. Two oneshot units of the lab do the rest: ``mariadb-install-db`` into
the lab's directory before the first start, and the ``atom`` database (schema, user, seed
rows) after it. The socket is /run/mysqld/mysqld.sock in the lab's private /run, as on a real
server; TCP listens on 127.0.0.1 and the lab's own port.
"""

from __future__ import annotations

import grp
import importlib.resources
import os
import pwd
import secrets
import shutil

import pymysql

from atomctl_tui.lab.atom_config import (
    CONFIG_PHP,
    DEFAULT_SOCKET,
    config_php_text,
    read_credentials,
)
from atomctl_tui.lab.state import LabError, LabPaths, LabState

MARIADB_UNIT = "mariadb.service"
MARIADB_ALIASES = ("mysql.service", "mysqld.service")
"""What `systemctl enable mariadb` links to it (its [Install] Alias=)."""
INSTALL_DB_UNIT = "atomctl-lab-mariadb-install-db.service"
ATOM_DATABASE_UNIT = "atomctl-lab-atom-database.service"
DATABASE = "atom"
DATABASE_USER = "atom"
DEMO_USERNAME = "demo"
DESCRIBED_SLUG = "lab-fonds"
"""The slug of the one description of the lab's site, for jobs that work on something."""
DEFAULT_PLUGINS = (
    "sfDcPlugin",
    "arDominionB5Plugin",
    "sfEacPlugin",
    "sfEadPlugin",
    "sfIsaarPlugin",
    "sfIsadPlugin",
    "arDacsPlugin",
    "sfIsdfPlugin",
    "sfIsdiahPlugin",
    "sfModsPlugin",
    "sfRadPlugin",
    "sfSkosPlugin",
)
"""The ``plugins`` setting of a default install (arInstall::loadData(), AtoM 2.9)."""
CONNECT_TIMEOUT = 5


def php_serialize_strings(items: tuple[str, ...]) -> str:
    """PHP's serialize() of a list of strings: ``a:N:{i:0;s:LEN:"…";…}``, LEN in bytes."""
    body = "".join(
        f'i:{index};s:{len(item.encode())}:"{item}";' for index, item in enumerate(items)
    )
    return f"a:{len(items)}:{{{body}}}"


def option_file_text(paths: LabPaths, port: int) -> str:
    return f"""\
# atomctl lab {paths.name}: MariaDB's only option file (--defaults-file), so the host's
# /etc/mysql, whose datadir is the host's /var/lib/mysql, is never read.
[mysqld]
datadir = {paths.mariadb_data}
socket = {DEFAULT_SOCKET}
pid-file = /run/mysqld/mysqld.pid
tmpdir = /tmp
bind-address = 127.0.0.1
port = {port}
skip-name-resolve
character-set-server = utf8mb4
collation-server = utf8mb4_general_ci
# A lab holds a few thousand rows: small buffers, a small redo log (fast to create).
innodb_buffer_pool_size = 16M
innodb_log_file_size = 8M

[client]
socket = {DEFAULT_SOCKET}
"""


def _sql_string(text: str) -> str:
    """A single-quoted SQL literal of text the lab made itself (names, a generated password)."""
    if not text.isprintable() or "'" in text or "\\" in text:
        raise ValueError(f"not a plain SQL literal: {text!r}")
    return f"'{text}'"


def atom_database_sql(password: str) -> str:
    """The database, its user (from localhost by socket, and from 127.0.0.1 by TCP), AtoM's
    tables, and the rows a site has: a user, a description with a slug, the plugins."""
    schema = importlib.resources.files("atomctl_tui.lab").joinpath("atom_schema.sql").read_text()
    secret = _sql_string(password)
    return f"""\
CREATE DATABASE `{DATABASE}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
CREATE USER '{DATABASE_USER}'@'localhost' IDENTIFIED BY {secret};
CREATE USER '{DATABASE_USER}'@'127.0.0.1' IDENTIFIED BY {secret};
GRANT ALL PRIVILEGES ON `{DATABASE}`.* TO '{DATABASE_USER}'@'localhost';
GRANT ALL PRIVILEGES ON `{DATABASE}`.* TO '{DATABASE_USER}'@'127.0.0.1';
USE `{DATABASE}`;
{schema}
INSERT INTO object (class_name, created_at, updated_at) VALUES ('QubitUser', NOW(), NOW());
INSERT INTO user (id, username, email, active)
    VALUES (LAST_INSERT_ID(), {_sql_string(DEMO_USERNAME)}, 'demo@example.com', 1);
INSERT INTO object (class_name, created_at, updated_at)
    VALUES ('QubitInformationObject', NOW(), NOW());
INSERT INTO slug (object_id, slug) VALUES (LAST_INSERT_ID(), {_sql_string(DESCRIBED_SLUG)});
INSERT INTO setting (name, editable, deleteable, source_culture) VALUES ('plugins', 0, 0, 'en');
INSERT INTO setting_i18n (value, id, culture)
    VALUES ({_sql_string(php_serialize_strings(DEFAULT_PLUGINS))}, LAST_INSERT_ID(), 'en');
"""


def write_files(paths: LabPaths, port: int) -> None:
    """A new, empty data directory, the option file, the database's SQL (with the password:
    root only) and the site's config.php (root and www-data, as on a good install)."""
    if paths.mariadb_dir.exists():
        shutil.rmtree(paths.mariadb_dir)
    paths.mariadb_dir.mkdir(mode=0o755)
    paths.mariadb_data.mkdir(mode=0o750)
    mysql = pwd.getpwnam("mysql")
    os.chown(paths.mariadb_data, mysql.pw_uid, mysql.pw_gid)
    paths.mariadb_options.write_text(option_file_text(paths, port))
    paths.mariadb_options.chmod(0o644)
    password = secrets.token_urlsafe(18)
    paths.atom_database_sql.touch(mode=0o600)
    paths.atom_database_sql.write_text(atom_database_sql(password))
    config_php = paths.atom_root / CONFIG_PHP
    config_php.unlink(missing_ok=True)
    config_php.touch(mode=0o640)
    os.chown(config_php, 0, grp.getgrnam("www-data").gr_gid)
    config_php.write_text(
        config_php_text(
            dsn=f"mysql:dbname={DATABASE};port={port}", username=DATABASE_USER, password=password
        )
    )


def unit_files(paths: LabPaths) -> dict[str, str]:
    """The lab's units and drop-in for MariaDB, by their path under /etc/systemd/system."""
    options = paths.mariadb_options
    return {
        f"{MARIADB_UNIT}.d/atomctl-lab.conf": f"""\
# atomctl lab: Debian's unit on the lab's option file, data directory and private /run.
[Unit]
Requires={INSTALL_DB_UNIT}
After={INSTALL_DB_UNIT}

[Service]
# Debian's tmpfiles.d makes /run/mysqld; the lab runs no tmpfiles.
RuntimeDirectory=mysqld
RuntimeDirectoryMode=0755
# Not Debian's `galera_recovery` wrapper nor /etc/mysql/debian-start: both read /etc/mysql.
ExecStart=
ExecStart=/usr/sbin/mariadbd --defaults-file={options}
ExecStartPost=
# The lab's data is thrown away at `down`: never hold up its power-off for 15 minutes.
TimeoutStopSec=20
SendSIGKILL=yes
""",
        INSTALL_DB_UNIT: f"""\
[Unit]
Description=MariaDB data directory of the atomctl lab
ConditionPathExists=!{paths.mariadb_data}/mysql

[Service]
Type=oneshot
User=mysql
Group=mysql
ExecStart=/usr/bin/mariadb-install-db --defaults-file={options} \
--auth-root-authentication-method=socket --skip-test-db --skip-name-resolve
""",
        ATOM_DATABASE_UNIT: f"""\
[Unit]
Description=AtoM's database of the atomctl lab
Requires={MARIADB_UNIT}
After={MARIADB_UNIT}
ConditionPathExists=!{paths.mariadb_data}/{DATABASE}

[Service]
Type=oneshot
RemainAfterExit=yes
StandardInput=file:{paths.atom_database_sql}
ExecStart=/usr/bin/mariadb --defaults-file={options}

[Install]
WantedBy=multi-user.target
""",
    }


def connect(state: LabState) -> pymysql.Connection:
    """A PyMySQL connection to the lab's ``atom`` database with config.php's credentials,
    from outside the lab: through its socket (/proc/PID/root/run/mysqld/mysqld.sock)."""
    try:
        credentials = read_credentials(state.paths.atom_root)
        return credentials.connect(socket_root=f"/proc/{state.pid}/root", timeout=CONNECT_TIMEOUT)
    except (OSError, ValueError, pymysql.err.MySQLError) as exc:
        raise LabError(f"the database of lab {state.name!r} does not answer ({exc})") from exc

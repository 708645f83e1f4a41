"""AtoM's config.php read as a literal (never run), its dsn, and the password kept out of
every repr, str and message."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from atomctl_tui.atom_db.config_php import (
    DEFAULT_SOCKET,
    AtomDbConfigError,
    parse_dsn,
    read_local_settings,
    readers_words,
    settings_from_source,
)
from atomctl_tui.atom_db.php_literal import PhpLiteralError, parse_php_return

FIXTURES = Path(__file__).parent / "fixtures" / "atom_db"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def config_with(param: str, extra: str = "") -> str:
    return (
        "<?php\nreturn array (\n  'all' => array (\n    'propel' => array (\n"
        f"      'param' => array ({param}),\n    ),\n  ),\n{extra});\n"
    )


def test_the_installers_var_export_is_read():
    settings = settings_from_source(fixture("config-installer.php"), "config.php")
    assert (settings.dbname, settings.username) == ("atom", "atom")
    assert settings.password == "it's a \\ s3cr3t"
    assert settings.host is None and settings.socket == DEFAULT_SOCKET
    assert settings.port == 3306 and settings.charset == "utf8mb4"
    assert settings.where == f"socket {DEFAULT_SOCKET}"


def test_short_arrays_double_quotes_and_the_prod_section():
    settings = settings_from_source(fixture("config-short.php"), "config.php")
    assert settings.host == "db1.example.org" and settings.port == 3307
    assert settings.dbname == "atom_prod"
    assert settings.username == "atom_prod"  # prod's own section wins over all's
    assert settings.password == "pa$$word"  # escaped dollars are plain text
    assert settings.where == "db1.example.org:3307"


def test_another_environment_keeps_all():
    settings = settings_from_source(fixture("config-short.php"), "c", environment="cli")
    assert settings.username == "atom\tweb"


def test_the_whole_literal_is_parsed_as_php_would():
    value = parse_php_return(
        "<?php return ['a' => [1, 2, '5' => 'x', 'y'], 'b' => -1.5, 'c' => NULL,"
        " 'd' => TRUE, 0x1F, 'e' => 017, \"f\" => \"t\\tab\\\\\"];",
        "x.php",
    )
    assert value == {
        "a": {0: 1, 1: 2, 5: "x", 6: "y"},
        "b": -1.5,
        "c": None,
        "d": True,
        0: 31,
        "e": 15,
        "f": "t\tab\\",
    }


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("<?php\nreturn array('a' =>\n system('id'));", "x.php:3: a function call"),
        ("<?php\nreturn [$password];", "x.php:2: PHP code, not a literal value"),
        ("<?php\nreturn ['a' . 'b'];", "x.php:2: PHP code, not a literal value: '.'"),
        ("<?php\nreturn ['a' 'b'];", "x.php:2: an expression (never evaluated), found a string"),
        ('<?php\nreturn ["${x}"];', "x.php:2: a string with a variable"),
        ('<?php\nreturn ["$x"];', "x.php:2: a string with a variable"),
        ("<?php\nreturn [PHP_EOL];", "x.php:2: a constant or class name"),
        ("<?php\nreturn [1 + 2];", "x.php:2: PHP code, not a literal value"),
        ("<?php\n`id`;", "x.php:2: PHP code"),
        ("<?php\nreturn [1];\nunlink('x');", "x.php:3: more after the returned value"),
        ("<?php\nreturn [1]; ?>\ntext", "x.php:2: text after the closing ?>"),
        ("return [1];", "x.php: does not begin with <?php"),
        ("<?php\nreturn [1,\n", "x.php:2: the file ends in the middle of a value"),
        ("<?php\nreturn new Foo();", "x.php:2: a constant or class name"),
        ("<?php\nreturn \\Foo::__set_state([]);", "x.php:2: PHP code, not a literal value: ':'"),
    ],
)
def test_anything_but_a_literal_is_refused_with_its_line(source: str, words: str):
    with pytest.raises(PhpLiteralError) as error:
        parse_php_return(source, "x.php")
    assert words in str(error.value)


def test_a_malicious_config_is_refused_and_never_run(tmp_path: Path):
    marker = Path("/tmp/atomctl-pwned")
    marker.unlink(missing_ok=True)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.php").write_text(fixture("config-malicious.php"))
    with pytest.raises(AtomDbConfigError) as error:
        read_local_settings(tmp_path)
    assert str(error.value) == (
        f"not AtoM's config.php format: {tmp_path}/config/config.php:11: a function call"
        " (never run), found 'system'"
    )
    assert not marker.exists()


def test_nesting_is_bounded():
    with pytest.raises(PhpLiteralError, match="nested more than 32 deep"):
        parse_php_return("<?php return " + "[" * 40 + "]" * 40 + ";", "x.php")


@pytest.mark.parametrize(
    ("dsn", "host", "port", "socket", "dbname"),
    [
        ("mysql:dbname=atom;port=3306", None, 3306, DEFAULT_SOCKET, "atom"),
        ("mysql:dbname=atom;host=localhost", None, 3306, DEFAULT_SOCKET, "atom"),
        ("mysql:host=127.0.0.1;dbname=atom", "127.0.0.1", 3306, DEFAULT_SOCKET, "atom"),
        ("mysql:dbname=a;host=db1;port=3307", "db1", 3307, DEFAULT_SOCKET, "a"),
        ("mysql:dbname=a;unix_socket=/run/my.sock", None, 3306, "/run/my.sock", "a"),
        ("MySQL: dbname = a ; charset=utf8 ;", None, 3306, DEFAULT_SOCKET, "a"),
    ],
)
def test_dsn_forms(dsn: str, host: str | None, port: int, socket: str, dbname: str):
    settings = settings_from_source(config_with(f"'dsn' => '{dsn}', 'username' => 'u'"), "c")
    assert (settings.host, settings.port, settings.socket, settings.dbname) == (
        host,
        port,
        socket,
        dbname,
    )


def test_the_dsn_charset_wins_over_encoding():
    source = config_with(
        "'dsn' => 'mysql:dbname=a;charset=utf8', 'encoding' => 'latin1', 'username' => 'u'"
    )
    assert settings_from_source(source, "c").charset == "utf8"
    assert parse_dsn("mysql:dbname=a;dbname=b", "c") == {"dbname": "b"}  # PDO: the last wins


@pytest.mark.parametrize(
    ("param", "words"),
    [
        ("'dsn' => 'pgsql:dbname=a', 'username' => 'u'", "not a MySQL one"),
        ("'dsn' => 'mysql:host=db1', 'username' => 'u'", "names no database"),
        ("'dsn' => 'mysql:dbname=a;port=http', 'username' => 'u'", "port 'http' is not a port"),
        ("'dsn' => 'mysql:dbname=a;bogus', 'username' => 'u'", "'bogus' without '='"),
        ("'username' => 'u'", "no dsn in all.propel.param"),
        ("'dsn' => 'mysql:dbname=a'", "no username"),
    ],
)
def test_unusable_settings_are_said(param: str, words: str):
    with pytest.raises(AtomDbConfigError, match=words):
        settings_from_source(config_with(param), "c")


def test_not_atoms_shape():
    with pytest.raises(AtomDbConfigError, match=r"no all\.propel\.param"):
        settings_from_source("<?php return ['all' => ['propel' => 'x']];", "c")
    with pytest.raises(AtomDbConfigError, match="returns no array"):
        settings_from_source("<?php return 'atom';", "c")


def test_a_missing_file_is_said(tmp_path: Path):
    with pytest.raises(AtomDbConfigError) as error:
        read_local_settings(tmp_path)
    assert str(error.value) == (
        f"{tmp_path}/config/config.php is not there (AtoM's database settings; is the AtoM"
        " root right?)"
    )


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory anyone may pass through (pytest's tmp_path is root's only)."""
    path = Path(tempfile.mkdtemp(prefix="atomctl-config-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_an_unreadable_file_says_who_can_read_it(open_dir: Path):
    (open_dir / "config").mkdir()
    path = open_dir / "config" / "config.php"
    path.write_text(fixture("config-installer.php"))
    path.chmod(0o640)
    os.chown(path, 0, 33)  # root:www-data, as on a good install
    child = os.fork()
    if child == 0:  # as nobody, who may not read it
        try:
            os.setgid(65534)
            os.setuid(65534)
            read_local_settings(open_dir)
        except AtomDbConfigError as exc:
            expected = (
                f"{path} cannot be read by nobody (permission denied); readable by root and"
                " members of group www-data (mode 0640)"
            )
            os._exit(0 if str(exc) == expected else 1)
        os._exit(2)
    _pid, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_readers_in_words():
    assert (
        readers_words("atom", "www-data", 0o100600) == "readable by root and user atom (mode 0600)"
    )
    assert readers_words("root", "root", 0o100644) == "readable by everyone (mode 0644)"


def test_the_password_is_in_no_repr_or_str():
    password = "Zx9-very-secret-PW"
    settings = settings_from_source(
        config_with(f"'dsn' => 'mysql:dbname=a', 'username' => 'u', 'password' => '{password}'"),
        "c",
    )
    assert settings.password == password
    for text in (repr(settings), str(settings), f"{settings}", f"{settings!r}", settings.where):
        assert password not in text
    assert "password" not in repr(settings)


@pytest.mark.parametrize(
    "value",
    [
        "'{pw}' . 'x'",  # an expression after it
        "'x' '{pw}'",  # a string where a ',' belongs
        '"{pw}$x"',  # interpolation
        "'{pw}",  # never closed
        '"{pw}\\x41"',  # a numeric escape
    ],
)
def test_the_password_is_in_no_parse_error(value: str):
    password = "Zx9-very-secret-PW"
    param = f"'dsn' => 'mysql:dbname=a', 'password' => {value.format(pw=password)}"
    with pytest.raises(AtomDbConfigError) as error:
        settings_from_source(config_with(param), "c")
    assert password not in str(error.value)
    assert "c:" in str(error.value)  # the file and line are said

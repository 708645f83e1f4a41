"""The ``plugins`` setting, a PHP-serialized array, read without building any object."""

from __future__ import annotations

import pytest

from atomctl_tui.atom_db.jobs import parse_plugins
from atomctl_tui.atom_db.php_serialized import PhpSerializedError, unserialize

# As AtoM 2.9 stores it (QubitSetting 'plugins', its setting_i18n value).
ATOM_PLUGINS = (
    'a:5:{i:0;s:14:"sfPropelPlugin";i:1;s:11:"qbAclPlugin";i:2;s:15:"arDominionTheme";'
    'i:3;s:19:"qtSwordPluginWorker";i:4;s:18:"arOidcPlugin-ünï";}'
)


def test_atoms_plugins_value():
    assert parse_plugins(ATOM_PLUGINS) == (
        "sfPropelPlugin",
        "qbAclPlugin",
        "arDominionTheme",
        "qtSwordPluginWorker",
    )  # a name that is not a plugin class name is left out


def test_strings_are_counted_in_bytes():
    assert unserialize('s:5:"ünï";'.encode()) == "ünï"
    assert unserialize(b'a:1:{s:1:"k";a:1:{i:0;b:1;}}') == {"k": {0: True}}
    assert unserialize(b"i:-12;") == -12
    assert unserialize(b"d:0.5;") == 0.5
    assert unserialize(b"N;") is None


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b'O:8:"stdClass":0:{}', "an object or reference"),
        (b'a:1:{i:0;O:8:"stdClass":0:{}}', "an object or reference"),
        (b'C:11:"ArrayObject":0:{}', "an object or reference"),
        (b"a:2:{i:0;i:1;i:1;r:2;}", "an object or reference"),
        (b's:99:"short";', "longer than the data"),
        (b"a:1:{i:0;i:1;", "expected '}'"),
        (b"i:1;i:2;", "more after the value"),
        (b"i:1e5;", "a malformed number"),
        (b"a:1:{a:0:{}i:1;}", "neither an int nor a string"),
        (b"a:1:{i:0;" * 20 + b"i:1;" + b"}" * 20, "nested more than 16 deep"),
        (b"", "an unknown kind of value"),
    ],
)
def test_anything_else_is_refused(data: bytes, words: str):
    with pytest.raises(PhpSerializedError, match=words):
        unserialize(data)


def test_an_unreadable_value_means_unknown_plugins():
    assert parse_plugins('O:8:"stdClass":0:{}') is None
    assert parse_plugins("not serialized") is None
    assert parse_plugins('s:3:"abc";') == ()

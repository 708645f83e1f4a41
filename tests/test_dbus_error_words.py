"""A D-Bus error's message is the far end's words (a remote host's systemd, or whatever
answers on its bus): it is shown, in the Workers pane and in notices, only made safe."""

from __future__ import annotations

from pystemd.dbusexc import DBusBaseError

from atomctl_tui.systemd.bus import MAX_DBUS_ERROR_CHARS, describe_dbus_error


def test_a_hostile_message_loses_terminal_control_and_stays_one_bounded_line():
    message = b"denied \x1b]0;owned\x07\x1b[2J[bold]x[/bold]\nsecond line" + b"y" * 2000
    words = describe_dbus_error(DBusBaseError(-13, b"org.example.Error", message))
    assert "\x1b" not in words and "\x07" not in words and "\n" not in words
    assert words.startswith("denied [bold]x[/bold]\\nsecond line")  # shown, not obeyed
    assert len(words) < MAX_DBUS_ERROR_CHARS + 100  # the cut says so, within a marker


def test_pystemds_own_words_get_the_reason_from_the_errno():
    words = describe_dbus_error(DBusBaseError(-111, None, b"Could not open a bus to DBus"))
    assert words == "Could not open a bus to DBus: Connection refused"

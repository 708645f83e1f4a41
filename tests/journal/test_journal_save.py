"""Where a saved journal goes, and who may read it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from atomctl_tui.journal.entries import JournalEntry, save_entries
from atomctl_tui.ui.journal.save_screen import default_save_folder


def entry(message: str) -> JournalEntry:
    return JournalEntry(
        cursor="c",
        timestamp_us=1_700_000_000_000_000,
        hostname="vm",
        identifier="atom-worker",
        pid="42",
        unit="atom-worker@1.service",
        priority=6,
        message=message,
    )


def test_a_saved_journal_is_readable_by_its_owner_only(tmp_path: Path):
    path = tmp_path / "journal.log"
    old_umask = os.umask(0o022)  # the usual one: files readable by everyone
    try:
        assert save_entries(path, [entry("one"), entry("two")]) == 2
    finally:
        os.umask(old_umask)
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_symlink_is_never_written_through(tmp_path: Path):
    target = tmp_path / "target"
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(FileExistsError):
        save_entries(tmp_path / "link", [entry("x")])
    assert not target.exists()


def test_the_default_folder_is_the_state_folder_or_home_never_the_current_one(monkeypatch):
    monkeypatch.chdir("/")
    monkeypatch.setenv("XDG_STATE_HOME", "/srv/state")
    assert default_save_folder() == Path("/srv/state/atomctl-tui")
    monkeypatch.setenv("XDG_STATE_HOME", "relative/state")  # ignored, as the XDG spec says
    assert default_save_folder() == Path.home()
    monkeypatch.delenv("XDG_STATE_HOME")
    assert default_save_folder() == Path.home() != Path.cwd()

"""Private directories of consoles that died are removed by the next one; nothing else is."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from atomctl_tui.remote.private_dir import (
    OWNER_FILE,
    PREFIX,
    make_private_dir,
    private_base,
    process_start_time,
    remove_stale_dirs,
)


def a_dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def private_dir(base: Path, name: str, owner: str | None, mode: int = 0o700) -> Path:
    path = base / f"{PREFIX}{name}"
    path.mkdir(mode=mode)
    path.chmod(mode)
    if owner is not None:
        (path / OWNER_FILE).write_text(owner)
    (path / "h0.ctl").write_text("")  # stands for a socket left behind
    return path


def test_only_the_directories_of_consoles_gone_are_removed(tmp_path):
    me = os.getpid()
    dead = private_dir(tmp_path, "dead", f"{a_dead_pid()} 12345\n")
    reused = private_dir(tmp_path, "reused", f"{me} 1\n")  # this pid, another process's start
    alive = private_dir(tmp_path, "alive", f"{me} {process_start_time(me)}\n")
    unowned = private_dir(tmp_path, "new", None)  # being made, or an older console's
    readable = private_dir(tmp_path, "open", f"{a_dead_pid()} 12345\n", mode=0o755)
    other = tmp_path / "someone-else"
    other.mkdir()
    link = tmp_path / f"{PREFIX}link"
    link.symlink_to(dead)
    removed = remove_stale_dirs(str(tmp_path))
    assert sorted(removed) == sorted([dead, reused])
    assert not dead.exists() and not reused.exists()
    assert alive.exists() and unowned.exists() and readable.exists() and other.exists()
    assert link.is_symlink()


def test_a_new_private_directory_records_its_owner(monkeypatch):
    base = Path(tempfile.mkdtemp(prefix="pd-", dir="/tmp"))  # short: pytest's tmp_path is not
    try:
        monkeypatch.setenv("TMPDIR", str(base))
        monkeypatch.setattr(tempfile, "tempdir", None)
        assert private_base() == str(base)
        stale = private_dir(base, "stale", f"{a_dead_pid()} 12345\n")
        made = make_private_dir()
        assert made.parent == base and not stale.exists()
        owner = f"{os.getpid()} {process_start_time(os.getpid())}\n"
        assert (made / OWNER_FILE).read_text() == owner
        assert made.stat().st_mode & 0o777 == 0o700
    finally:
        shutil.rmtree(base)


def test_a_long_tmpdir_is_not_used(monkeypatch, tmp_path):
    """A socket path must fit in 108 bytes."""
    monkeypatch.setenv("TMPDIR", str(tmp_path / ("x" * 60)))
    (tmp_path / ("x" * 60)).mkdir()
    monkeypatch.setattr(tempfile, "tempdir", None)
    assert private_base() == "/tmp"

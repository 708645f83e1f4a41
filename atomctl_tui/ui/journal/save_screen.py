"""Save the journal lines in view to a new file; errors are said in words, nothing is lost.

The file goes, unless told otherwise, to ``$XDG_STATE_HOME/atomctl-tui/`` or else the home
folder: never the current folder, which may be anyone's (``/`` under ``atomctl-lab exec``).
A name typed without a folder goes there too.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from atomctl_tui.journal.entries import JournalEntry, save_entries

STATE_FOLDER_NAME = "atomctl-tui"


def default_save_folder() -> Path:
    """``$XDG_STATE_HOME/atomctl-tui`` when set (absolute, as the spec requires), else home."""
    state_home = os.environ.get("XDG_STATE_HOME", "")
    if os.path.isabs(state_home):
        return Path(state_home) / STATE_FOLDER_NAME
    return Path.home()


def default_save_path(file_name: str) -> Path:
    return default_save_folder() / file_name


def save_error_words(path: Path, error: OSError) -> str:
    """Why ``path`` could not be written, for the reader (called off the event loop)."""
    if error.errno == errno.EISDIR or path.is_dir():
        return f"{path} is a folder; give a file name."
    if error.errno == errno.EEXIST:
        return f"{path} already exists; choose another name (nothing was overwritten)."
    if error.errno == errno.ENOENT:
        return f"The folder {path.parent} does not exist."
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"Not allowed to write {path} ({error.strerror})."
    return f"Could not save to {path}: {error.strerror or error}."


class JournalSaveScreen(ModalScreen[str | None]):
    """Asks for a file name; dismisses with what was saved, in words, or None if cancelled."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel saving", id="journal.save.cancel"),
    ]

    def __init__(self, entries: list[JournalEntry], default_path: Path) -> None:
        super().__init__()
        self.entries = entries
        self.default_path = default_path

    def compose(self) -> ComposeResult:
        with Vertical(id="journal-save"):
            count = len(self.entries)
            yield Static(Text(f"Save the {count:,} lines in view to a new file:"))
            yield Input(value=str(self.default_path), id="journal-save-path")
            yield Static(Text("Enter saves, Escape cancels."), id="journal-save-message")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value.strip():
            self.show_error("Give a file name to save to.")
            return
        path = Path(event.value.strip()).expanduser()
        self.save(path if path.is_absolute() else self.default_path.parent / path)

    @work(thread=True, exclusive=True, group="journal-save")
    def save(self, path: Path) -> None:
        # A file write can block (slow or network disks): never on the event loop.
        try:
            if path.parent == default_save_folder():
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            count = save_entries(path, self.entries)
        except OSError as error:
            self.app.call_from_thread(self.show_error, save_error_words(path, error))
        else:
            self.app.call_from_thread(self.dismiss, f"Saved {count:,} journal lines to {path}.")

    def show_error(self, words: str) -> None:
        message = self.query_one("#journal-save-message", Static)
        message.update(Text(words))
        message.add_class("-error")

    def action_cancel(self) -> None:
        self.dismiss(None)

"""Key overrides from the config file reach the bindings, the footer's keys and the help."""

from __future__ import annotations

from atomctl_tui.config import resolve_settings
from atomctl_tui.remote.hosts import Host
from atomctl_tui.ui.app import AtomctlApp
from atomctl_tui.ui.help.screen import HelpScreen
from atomctl_tui.ui.queues.jobs_screen import JobsScreen
from atomctl_tui.ui.queues.pane import QueuesPane

SMALL_TERMINAL = (80, 24)


class NotesKeepingApp(AtomctlApp):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.notes: list[str] = []

    def notify(self, message: str, **kwargs) -> None:
        self.notes.append(message)
        super().notify(message, **kwargs)


def app_with_config(tmp_path, text: str) -> NotesKeepingApp:
    config = tmp_path / "config.yaml"
    config.write_text(text)
    # A server that is not there: the keys work whatever the job server does.
    settings = resolve_settings(cli_config=str(config), cli_servers=["127.0.0.1:1"])
    return NotesKeepingApp(Host(label="keys"), settings=settings)


async def test_a_moved_key_works_and_the_old_one_does_not(tmp_path):
    app = app_with_config(tmp_path, "keys:\n  queues.jobs: o\n")
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        app.query_one(QueuesPane).table.focus()
        await pilot.press("j")
        assert not isinstance(app.screen, JobsScreen)
        await pilot.press("o")
        assert isinstance(app.screen, JobsScreen)
        await pilot.press("escape", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        listed = str(app.screen.render_sections())
        assert "  o                 Jobs" in listed
        assert "  j                 Jobs" not in listed


async def test_an_unknown_binding_id_is_reported_not_ignored(tmp_path):
    app = app_with_config(tmp_path, "keys:\n  queues.jbos: o\n  app.quit: ctrl+q\n")
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        await pilot.pause()
        (note,) = app.notes
        assert "queues.jbos" in note and "app.quit" not in note
        await pilot.press("ctrl+q")
    assert app.return_code == 0


async def test_the_job_server_units_restart_keeps_its_id_on_its_new_key(tmp_path):
    # Its key moved from r (the pane's poll a Tab away) to R; a config that moved it still works.
    app = app_with_config(tmp_path, "keys:\n  job_server_unit.restart: ctrl+r\n")
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        await pilot.pause()
        assert app.notes == []  # the id is known
        await pilot.press("question_mark", "ctrl+a")  # nothing typed in the filter
        listed = str(app.screen.render_sections())
        assert "  ^r                Restart" in listed
        assert "  R                 Restart\n" not in listed.split("Job server unit")[1]

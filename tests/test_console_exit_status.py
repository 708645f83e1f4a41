"""The console's exit status: 0 when it was quit, non-zero when it ended on an error."""

from __future__ import annotations

from textual.app import App

from atomctl_tui.ui.run import console_exit_status


class Crashing(App[None]):
    def on_mount(self) -> None:
        raise ValueError("invalid literal for int() with base 10: '²'")  # as getpid's did


class Quitting(App[None]):
    def on_mount(self) -> None:
        self.exit()


def test_a_console_that_died_on_an_error_exits_non_zero():
    app = Crashing()
    app.run(headless=True)
    assert console_exit_status(app) == 1


def test_a_console_that_was_quit_exits_zero():
    app = Quitting()
    app.run(headless=True)
    assert console_exit_status(app) == 0

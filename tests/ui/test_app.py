"""The console shell: panes, header, help, palette and quit — at 80x24, keyboard only."""

from __future__ import annotations

from textual.content import Content

from atomctl_tui.remote.hosts import Host
from atomctl_tui.ui.app import AtomctlApp
from atomctl_tui.ui.help.screen import HelpScreen
from atomctl_tui.ui.widgets.pane import Pane

SMALL_TERMINAL = (80, 24)


def make_app() -> AtomctlApp:
    return AtomctlApp(Host(label="archive-01"))


async def test_main_screen_has_the_four_panes_and_names_the_host():
    app = make_app()
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        titles = [pane.border_title for pane in app.query(Pane)]
        assert titles == ["Job server", "Queues", "Workers", "Journal"]
        assert app.sub_title == "archive-01"
        for pane in app.query(Pane):
            assert pane.region.width > 20 and pane.region.height >= 4, pane
        await pilot.press("q")
    assert app.return_code == 0


async def test_help_lists_every_binding_and_closes_with_escape():
    app = make_app()
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        listed = str(app.screen.render_sections())
        for binding in app.BINDINGS:
            assert binding.description in listed
        assert "Command palette" in listed
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_palette_offers_help():
    app = make_app()
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"Help")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


async def test_palette_commands_are_named_in_plain_words():
    """The palette parses a command's title and help as markup: they are the console's own
    words, which must read back as themselves."""
    app = make_app()
    async with app.run_test(size=SMALL_TERMINAL):
        commands = list(app.get_system_commands(app.screen))
        assert len(commands) > 10
        for command in commands:
            for words in (command.title, command.help):
                assert Content.from_markup(words).plain == words


async def test_tab_moves_between_panes():
    app = make_app()
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        seen = set()
        for _ in range(5):
            await pilot.press("tab")
            # A pane takes the focus itself or gives it to its main widget (e.g. a table).
            pane = next(n for n in app.focused.ancestors_with_self if isinstance(n, Pane))
            seen.add(pane.id)
        assert seen == {"job-server", "queues", "workers", "journal"}


async def test_ctrl_c_quits():
    app = make_app()
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not app.is_running
    assert app.return_code == 0


async def test_ctrl_c_quits_from_a_dialog_and_a_filter_line_too():
    app = make_app()
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        await pilot.press("question_mark", *"quit")  # typed into the help's filter line
        assert isinstance(app.screen, HelpScreen) and app.screen.query_text == "quit"
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not app.is_running


async def test_help_lists_the_health_and_jobs_views_keys_from_the_main_screen():
    app = make_app()
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        await pilot.press("question_mark")
        listed = str(app.screen.render_sections())
        for line in ("Health view", "Do what it suggests", "Jobs view", "Cancel the selected job"):
            assert line in listed, line


async def test_help_filters_as_one_types_and_esc_clears_then_closes():
    app = make_app()
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        await pilot.press("question_mark", *"restart")
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        lines = str(screen.render_sections()).splitlines()
        keys = [line for line in lines if line.startswith("  ")]
        assert keys and all("restart" in line.lower() for line in keys), lines
        assert "Workers" in lines and "Job server unit" in lines
        await pilot.press("escape")  # clears the filter, keeps the help
        assert screen.query_text == "" and app.screen is screen
        await pilot.press(*"Journal")  # a section's title: all of its keys
        assert "Follow" in str(screen.render_sections())
        await pilot.press("escape")
        await pilot.press(*"R")  # a key, named whole and case and all
        listed = str(screen.render_sections())
        assert "Restart" in listed and "Poll now" not in listed
        await pilot.press("backspace", *"zzz")
        assert str(screen.render_sections()) == "No key matches 'zzz'."
        await pilot.press("escape", "escape")
        assert not isinstance(app.screen, HelpScreen)


class EndedAtOnce(AtomctlApp):
    """Asked to end before its first frame, as by a signal or ctrl+c at start-up."""

    def on_load(self) -> None:
        super().on_load()
        self.exit(None, 130)


async def test_an_exit_before_the_first_frame_waits_for_it_and_ends_cleanly():
    app = EndedAtOnce(Host(label="archive-01"))
    await app.run_async(headless=True, size=SMALL_TERMINAL)
    assert app.return_code == 130  # 1 when a pane, torn down half made, failed in on_mount

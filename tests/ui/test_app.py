"""The console shell: panes, header, help, palette and quit — at 80x24, keyboard only."""

from __future__ import annotations

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

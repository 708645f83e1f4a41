"""Driving the console's Workers pane in Pilot tests: read cells, pick rows, answer dialogs."""

from __future__ import annotations

from textual.pilot import Pilot

from atomctl_tui.journal.focus import FocusRequest, ShowUnitJournal, UnitActionFinished
from atomctl_tui.remote.hosts import Host
from atomctl_tui.ui.app import AtomctlApp
from atomctl_tui.ui.widgets.confirm_screen import ConfirmScreen
from atomctl_tui.ui.workers.pane import WorkersPane
from tests.waiting import wait_until_async

SMALL_TERMINAL = (80, 24)


class RecordingApp(AtomctlApp):
    """The console, noting what the Journal pane hears through the journal focus: actions
    that ended, and unit journals asked for."""

    def __init__(self, host: Host, **kwargs) -> None:
        super().__init__(host, **kwargs)
        self.finished: list[UnitActionFinished] = []
        self.journal_requests: list[ShowUnitJournal] = []
        self.journal_focus.subscribe(self._record)

    def _record(self, request: FocusRequest) -> None:
        if isinstance(request, UnitActionFinished):
            self.finished.append(request)
        else:
            self.journal_requests.append(request)


class WorkersConsole:
    def __init__(self, app: RecordingApp, pilot: Pilot) -> None:
        self.app = app
        self.pilot = pilot

    @property
    def pane(self) -> WorkersPane:
        return self.app.query_one(WorkersPane)

    def rows(self) -> list[str]:
        return [row.key.value for row in self.pane.table.ordered_rows]

    def cell(self, unit: str, column: str) -> str | None:
        if unit not in self.rows():
            return None
        return self.pane.table.get_cell(unit, column).plain

    async def wait_cell(self, unit: str, column: str, expected: str, timeout: float = 20) -> None:
        await wait_until_async(
            lambda: self.cell(unit, column) == expected,
            timeout=timeout,
            what=f"{unit} {column} = {expected!r} (is {self.cell(unit, column)!r})",
        )

    async def wait_rows(self, *units: str) -> None:
        await wait_until_async(
            lambda: all(unit in self.rows() for unit in units),
            what=f"rows {units} (have {self.rows()})",
        )

    async def focus_workers(self) -> None:
        self.pane.table.focus()
        await self.pilot.pause()

    async def go_to(self, unit: str) -> None:
        """Move the cursor onto ``unit`` with the keys an admin would press."""
        await self.wait_rows(unit)
        await self.pilot.press("home")
        for _ in range(len(self.rows())):
            if self.pane.current_key() == unit:
                return
            await self.pilot.press("down")
        assert self.pane.current_key() == unit, (unit, self.rows())

    async def answer(self, confirm: bool) -> ConfirmScreen:
        screen = await wait_until_async(
            lambda: self.app.screen if isinstance(self.app.screen, ConfirmScreen) else None,
            what="the confirmation dialog",
        )
        assert self.app.focused is not None and self.app.focused.id == "confirm-cancel"
        if confirm:
            await self.pilot.press("right")
            assert self.app.focused.id == "confirm-ok"
        await self.pilot.press("enter")
        return screen

    def notifications(self) -> list[str]:
        return [notification.message for notification in self.app._notifications]

    async def wait_notification(self, text: str, timeout: float = 30) -> str:
        return await wait_until_async(
            lambda: next((m for m in self.notifications() if text in m), None),
            timeout=timeout,
            what=f"a notification with {text!r} (have {self.notifications()})",
        )

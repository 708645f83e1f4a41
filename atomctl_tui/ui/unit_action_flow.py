"""What every unit action goes through: confirm, act off the event loop, report the outcome.

An action may concern units of several hosts: it is asked once, then each host acts on its
own units (through its own systemd connection), all at the same time. Each unit's outcome goes
to the ``JournalFocus`` too: the Journal pane then shows that unit's lines.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from textual.widget import Widget

from atomctl_tui.journal.focus import JournalFocus
from atomctl_tui.systemd.actions import CONFIRMED_ACTIONS, Action, Outcome, UnitActions
from atomctl_tui.ui.widgets.confirm_screen import ConfirmScreen

LABELS = {
    Action.START: "Start",
    Action.STOP: "Stop",
    Action.RESTART: "Restart",
    Action.ENABLE: "Enable",
    Action.DISABLE: "Disable",
    Action.RESET_FAILED: "Reset failed",
    Action.ADD_WORKER: "Add worker",
    Action.REMOVE_WORKER: "Remove",
}
EXPLANATIONS = {
    Action.REMOVE_WORKER: "Each is stopped, then disabled so it stays off after a reboot.",
    Action.DISABLE: "It keeps running now, but will not start at boot.",
}
LISTED_AT_MOST = 6

# The units of one host, and the actions that reach that host.
HostUnits = tuple[UnitActions, Sequence[str]]


def question(action: Action, groups: Sequence[HostUnits]) -> str:
    label = LABELS[action]
    count = sum(len(units) for _, units in groups)
    if len(groups) == 1:
        actions, units = groups[0]
        host_label = actions.watch.host.label
        if len(units) == 1:
            text = f"{label} {units[0]} on {host_label}?"
        else:
            text = f"{label} these {count} units on {host_label}?" + _listed(units)
    else:
        named = [
            f"{actions.watch.host.label}: {unit}" for actions, units in groups for unit in units
        ]
        text = f"{label} these {count} units on {len(groups)} hosts?" + _listed(named)
    explanation = EXPLANATIONS.get(action)
    return f"{text}\n{explanation}" if explanation else text


def _listed(names: Sequence[str]) -> str:
    shown = "".join(f"\n  {name}" for name in names[:LISTED_AT_MOST])
    more = len(names) - LISTED_AT_MOST
    return shown + (f"\n  … and {more} more" if more > 0 else "")


def needs_confirmation(action: Action, groups: Sequence[HostUnits]) -> bool:
    return action in CONFIRMED_ACTIONS or sum(len(units) for _, units in groups) > 1


async def run_unit_action(
    widget: Widget, groups: Sequence[HostUnits], action: Action, journal_focus: JournalFocus
) -> list[Outcome]:
    """Run in a worker of ``widget`` (the confirmation waits for its screen)."""
    if needs_confirmation(action, groups):
        ask = ConfirmScreen(question(action, groups), LABELS[action])
        if not await widget.app.push_screen_wait(ask):
            widget.notify(f"{LABELS[action]}: cancelled, nothing changed.", timeout=3, markup=False)
            return []
    results = await asyncio.gather(
        *(asyncio.to_thread(actions.perform, action, list(units)) for actions, units in groups)
    )
    outcomes = []
    for (actions, _units), host_outcomes in zip(groups, results, strict=True):
        report(widget, host_outcomes, actions.watch.host.label, journal_focus)
        outcomes.extend(host_outcomes)
    return outcomes


def report(
    widget: Widget, outcomes: Sequence[Outcome], host_label: str, journal_focus: JournalFocus
) -> None:
    # Unit names and systemd's messages are not markup.
    done = [outcome for outcome in outcomes if outcome.ok]
    if len(done) > 1:
        names = ", ".join(outcome.unit for outcome in done)
        widget.notify(f"{done[0].action} done on {host_label}: {names}", timeout=5, markup=False)
    elif done:
        widget.notify(done[0].message, timeout=5, markup=False)
    for outcome in outcomes:
        if not outcome.ok:
            widget.notify(outcome.message, severity="error", timeout=15, markup=False)
        if outcome.audit_error:
            widget.notify(outcome.audit_error, severity="warning", timeout=15, markup=False)
        if outcome.unit:
            journal_focus.action_finished(outcome.unit, outcome.action, outcome.result, host_label)

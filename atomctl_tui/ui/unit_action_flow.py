"""What every unit action goes through: confirm, act off the event loop, report the outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from textual.widget import Widget

from atomctl_tui.ui.confirm_screen import ConfirmScreen
from atomctl_tui.ui.messages import UnitActionFinished
from atomctl_tui.unit_actions import CONFIRMED_ACTIONS, Action, Outcome, UnitActions

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


def question(action: Action, units: Sequence[str], host_label: str) -> str:
    label = LABELS[action]
    if len(units) == 1:
        text = f"{label} {units[0]} on {host_label}?"
    else:
        shown = "\n".join(f"  {unit}" for unit in units[:LISTED_AT_MOST])
        more = (
            f"\n  … and {len(units) - LISTED_AT_MOST} more" if len(units) > LISTED_AT_MOST else ""
        )
        text = f"{label} these {len(units)} units on {host_label}?\n{shown}{more}"
    explanation = EXPLANATIONS.get(action)
    return f"{text}\n{explanation}" if explanation else text


def needs_confirmation(action: Action, units: Sequence[str]) -> bool:
    return action in CONFIRMED_ACTIONS or len(units) > 1


async def run_unit_action(
    widget: Widget, actions: UnitActions, action: Action, units: Sequence[str]
) -> list[Outcome]:
    """Run in a worker of ``widget`` (the confirmation waits for its screen)."""
    if needs_confirmation(action, units):
        ask = ConfirmScreen(question(action, units, actions.watch.host.label), LABELS[action])
        if not await widget.app.push_screen_wait(ask):
            widget.notify(f"{LABELS[action]}: cancelled, nothing changed.", timeout=3, markup=False)
            return []
    outcomes = await asyncio.to_thread(actions.perform, action, list(units))
    report(widget, outcomes)
    return outcomes


def report(widget: Widget, outcomes: Sequence[Outcome]) -> None:
    # Unit names and systemd's messages are not markup.
    done = [outcome for outcome in outcomes if outcome.ok]
    if len(done) > 1:
        names = ", ".join(outcome.unit for outcome in done)
        widget.notify(f"{done[0].action} done: {names}", timeout=5, markup=False)
    elif done:
        widget.notify(done[0].message, timeout=5, markup=False)
    for outcome in outcomes:
        if not outcome.ok:
            widget.notify(outcome.message, severity="error", timeout=15, markup=False)
        if outcome.audit_error:
            widget.notify(outcome.audit_error, severity="warning", timeout=15, markup=False)
        if outcome.unit:
            widget.post_message(UnitActionFinished(outcome.unit, outcome.action, outcome.result))

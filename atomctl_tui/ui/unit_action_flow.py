"""What every unit action goes through: confirm, act off the event loop, report the outcome.

An action may concern units of several hosts: it is asked once, then each host acts on its
own units (through its own systemd connection), all at the same time. Each unit's outcome goes
to the ``JournalFocus`` too: the Journal pane then shows that unit's lines.

The question says what the action costs, as far as it is known: the AtoM job a worker is
running (``running_jobs``, from the workers' journal) that stopping it aborts (what then
becomes of it, and that a job lost instead can be marked failed from the console), and for a
start or restart the unit's start budget (``systemd/start_limit.py``: its StartLimitBurst and
interval, its Restart=, and its starts counted from its journal) — in the question, when
there is one: a single start is not asked, since its count can be stale (a reset-failed made
outside the console leaves no line). ``notes``: more words from the caller (what restarting
the job server does to its queue).

A host that is not connected is refused at once, in words, and nothing is sent to it: before
the question (it is not asked for that host), and again once it is answered (the host may have
gone meanwhile). Nothing waits for a host to come back: an action runs now or not at all.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from textual.widget import Widget

from atomctl_tui.journal.focus import JournalFocus
from atomctl_tui.journal.worker_activity import RunningJob
from atomctl_tui.systemd.actions import (
    CONFIRMED_ACTIONS,
    NOT_CONNECTED,
    Action,
    Outcome,
    UnitActions,
    not_connected_words,
)
from atomctl_tui.systemd.start_limit import StartBudget, budget_of, budget_words, counted
from atomctl_tui.systemd.unit_text import unit_label

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
# (for one unit, for several)
EXPLANATIONS = {
    Action.REMOVE_WORKER: (
        "It is stopped, then disabled so it stays off after a reboot.",
        "Each is stopped, then disabled so they stay off after a reboot.",
    ),
    Action.DISABLE: (
        "It keeps running now, but will not start at boot.",
        "They keep running now, but will not start at boot.",
    ),
}
LISTED_AT_MOST = 6
# What each of these does to the job a worker is running, in the question's words.
ABORTING = {
    Action.STOP: "stopping",
    Action.RESTART: "restarting",
    Action.REMOVE_WORKER: "removing",
}
STARTING = frozenset({Action.START, Action.RESTART})

# The units of one host, and the actions that reach that host.
HostUnits = tuple[UnitActions, Sequence[str]]
# (host label, unit) -> the AtoM job the unit's worker is running now, if any.
JobLookup = Callable[[str, str], RunningJob | None]
# host label -> why nothing can be sent to that host now, in words; None when connected.
HostTrouble = Callable[[str], str | None]


def for_how_long(seconds: float) -> str:
    """``40 s``, ``2 min``, ``1 h 05 min``: how long a job has run, in a sentence."""
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes = whole // 60
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def job_words(action: Action, host_label: str, job: RunningJob, now: float, name: str) -> str:
    """``atom-worker@3 is running arFindingAidJob (job 37864, for 2 min): stopping it aborts
    that job``."""
    what = job.name or "an AtoM job"
    details = [f"job {job.job_id}" if job.job_id else "", f"for {for_how_long(now - job.since)}"]
    where = f" on {host_label}" if host_label else ""
    # What gearmand does then was measured (docs/atom-worker.md): the job goes back to its
    # queue, and a capable worker runs it again from its start. Lost instead (gearmand
    # restarted meanwhile), its row stays in progress: the console can mark it failed.
    return (
        f"{unit_label(name)}{where} is running {what} ({', '.join(d for d in details if d)}):"
        f" {ABORTING[action]} it aborts that job. gearmand queues it again and a free worker"
        " runs it again from the start, or it waits until one is free. Should it be lost"
        " instead (in progress in AtoM, yet nothing runs it), Health or the AtoM jobs view (A)"
        " marks it failed."
    )


def running_job_words(
    action: Action, groups: Sequence[HostUnits], running_jobs: JobLookup | None, now: float
) -> list[str]:
    if running_jobs is None or action not in ABORTING:
        return []
    several = len(groups) > 1
    words = []
    for actions, units in groups:
        label = actions.watch.host.label
        for unit in units:
            job = running_jobs(label, unit)
            if job is not None:
                words.append(job_words(action, label if several else "", job, now, unit))
    return words


async def start_budgets(action: Action, groups: Sequence[HostUnits]) -> list[StartBudget]:
    """Each unit's start budget, its starts counted off the event loop (all at once)."""
    if action not in STARTING:
        return []
    wanted = []
    for actions, units in groups:
        states = actions.watch.snapshot()
        for unit in units:
            state = states.get(unit)
            if state is not None:
                wanted.append((actions.watch.host, budget_of(state)))
    return list(
        await asyncio.gather(*(asyncio.to_thread(counted, host, budget) for host, budget in wanted))
    )


def uses_the_last_start(budget: StartBudget) -> bool:
    return budget.limited and budget.starts is not None and budget.starts + 1 >= (budget.burst or 0)


def budget_lines(budgets: Sequence[StartBudget]) -> list[str]:
    """One unit: everything known of its budget. Several: only those near their limit."""
    if len(budgets) == 1:
        words = budget_words(budgets[0])
        return [words] if words else []
    return [
        f"{unit_label(b.unit)}: {budget_words(b)}"
        for b in budgets
        if uses_the_last_start(b) or (b.limited and b.starts is None)
    ][:LISTED_AT_MOST]


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
    explanations = EXPLANATIONS.get(action)
    if explanations is None:
        return text
    return f"{text}\n{explanations[0] if count == 1 else explanations[1]}"


def _listed(names: Sequence[str]) -> str:
    shown = "".join(f"\n  {name}" for name in names[:LISTED_AT_MOST])
    more = len(names) - LISTED_AT_MOST
    return shown + (f"\n  … and {more} more" if more > 0 else "")


def needs_confirmation(action: Action, groups: Sequence[HostUnits]) -> bool:
    return action in CONFIRMED_ACTIONS or sum(len(units) for _, units in groups) > 1


def trouble_of(actions: UnitActions, host_trouble: HostTrouble | None) -> str | None:
    """Why nothing can be sent to ``actions``' host now; None when it can."""
    label = actions.watch.host.label
    return (host_trouble(label) if host_trouble is not None else None) or (
        actions.connection_trouble()
    )


def refuse_disconnected(
    widget: Widget, action: Action, groups: Sequence[HostUnits], host_trouble: HostTrouble | None
) -> tuple[list[HostUnits], list[Outcome]]:
    """The groups whose host is connected; for the others, their refusals, said now."""
    connected: list[HostUnits] = []
    refused: list[Outcome] = []
    for actions, units in groups:
        why = trouble_of(actions, host_trouble)
        if why is None:
            connected.append((actions, units))
            continue
        label = actions.watch.host.label
        what = f"{LABELS[action]} {units[0]}" if len(units) == 1 else LABELS[action]
        if len(units) > 1:
            what += f" ({len(units)} units)"
        words = f"{what}: {not_connected_words(label, why)}."
        widget.notify(words, severity="error", timeout=15, markup=False)
        refused.extend(Outcome(unit, action, NOT_CONNECTED, words) for unit in units or [""])
    return connected, refused


async def run_unit_action(
    widget: Widget,
    groups: Sequence[HostUnits],
    action: Action,
    journal_focus: JournalFocus,
    *,
    running_jobs: JobLookup | None = None,
    notes: Sequence[str] = (),
    host_trouble: HostTrouble | None = None,
) -> list[Outcome]:
    """Run in a worker of ``widget`` (the confirmation waits for its screen).

    ``host_trouble``: what the caller knows of each host's connection (its SSH connection),
    besides what the actions know. The outcomes include the refusals (``NOT_CONNECTED``)."""
    groups, refused = refuse_disconnected(widget, action, groups, host_trouble)
    if not groups:
        return refused
    jobs = running_job_words(action, groups, running_jobs, time.time())
    if needs_confirmation(action, groups) or jobs:
        budgets = await start_budgets(action, groups)
        words = "\n".join([question(action, groups), *jobs, *budget_lines(budgets), *notes])
        from atomctl_tui.ui.widgets.confirm_screen import ConfirmScreen  # when first asked

        ask = ConfirmScreen(words, LABELS[action])
        if not await widget.app.push_screen_wait(ask):
            widget.notify(f"{LABELS[action]}: cancelled, nothing changed.", timeout=3, markup=False)
            return refused
        # The host may have gone while the question was open.
        groups, gone = refuse_disconnected(widget, action, groups, host_trouble)
        refused += gone
    results = await asyncio.gather(
        *(asyncio.to_thread(actions.perform, action, list(units)) for actions, units in groups)
    )
    outcomes = refused
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
        # A refused action did nothing: the Journal pane keeps what it shows.
        if outcome.unit and outcome.result != NOT_CONNECTED:
            journal_focus.action_finished(outcome.unit, outcome.action, outcome.result, host_label)

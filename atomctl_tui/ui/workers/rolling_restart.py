"""Restart all workers one at a time, so AtoM keeps a capable worker throughout.

Each worker is restarted once the one before it has registered again with Gearman (its new
MainPID among a job server's connections, seen in a poll that came after its restart). With
``when_jobs_end`` each waits first until the AtoM job its worker is running ends (as its
journal tells); the worker may take a new job between that moment and its restart, which the
restart then aborts — the question says so.

Nothing runs unseen: every step is shown (``show``) while it runs, each restart's outcome is
reported like any action's, and ``cancel()`` stops it before the next step. A restart that
fails, a host that is not connected when its turn comes (nothing is sent to it, nothing waits
for it), or a worker that does not register within ``REGISTER_TIMEOUT_SECONDS``, stops it too:
going on could leave AtoM with no worker at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from atomctl_tui.health.findings import plural
from atomctl_tui.systemd.actions import Action, Outcome, UnitActions, not_connected_words
from atomctl_tui.systemd.unit_text import unit_label
from atomctl_tui.ui.unit_action_flow import HostTrouble, JobLookup, trouble_of

REGISTER_TIMEOUT_SECONDS = 90.0
WAIT_STEP_SECONDS = 0.25


@dataclass(frozen=True)
class Step:
    host_label: str
    actions: UnitActions
    unit: str


class RollingRestart:
    def __init__(
        self,
        steps: Sequence[Step],
        *,
        when_jobs_end: bool,
        main_pid: Callable[[str, str], int],
        registered_since: Callable[[str, str, int], bool],
        polls: Callable[[], int],
        running_jobs: JobLookup,
        host_trouble: HostTrouble,
        show: Callable[[str], None],
        report: Callable[[Sequence[Outcome], str], None],
    ) -> None:
        """``main_pid(host, unit)``: its MainPID now. ``registered_since(host, unit, poll)``:
        registered in a poll numbered after ``poll`` (``polls()``: the number of the last)."""
        self.steps = list(steps)
        self.when_jobs_end = when_jobs_end
        self._main_pid = main_pid
        self._registered_since = registered_since
        self._polls = polls
        self._running_jobs = running_jobs
        self._host_trouble = host_trouble
        self._show = show
        self._report = report
        self.cancelled = False
        self.done = 0

    def cancel(self) -> None:
        self.cancelled = True

    def _where(self, step: Step, index: int) -> str:
        return f"Rolling restart {index + 1}/{len(self.steps)}: {unit_label(step.unit)}"

    async def run(self) -> str:
        """Restart every step's worker in turn; how it ended, in words."""
        for index, step in enumerate(self.steps):
            where = self._where(step, index)
            if self.when_jobs_end and not await self._wait_for_job_end(step, where):
                return self._stopped("cancelled", index)
            if self.cancelled:
                return self._stopped("cancelled", index)
            trouble = trouble_of(step.actions, self._host_trouble)
            if trouble is not None:
                return self._stopped(not_connected_words(step.host_label, trouble), index)
            self._show(f"{where}: restarting (R cancels after this step)")
            old_pid = self._main_pid(step.host_label, step.unit)
            outcomes = await asyncio.to_thread(step.actions.perform, Action.RESTART, [step.unit])
            self._report(outcomes, step.host_label)
            if not outcomes or not all(outcome.ok for outcome in outcomes):
                return self._stopped("its restart failed", index)
            restarted_at = self._polls()
            self._show(f"{where}: restarted, waiting for it to register with Gearman (R cancels)")
            if not await self._wait_for_registration(step, old_pid, restarted_at):
                if self.cancelled:
                    return self._stopped("cancelled", index + 1)
                return self._stopped(
                    f"{unit_label(step.unit)} did not register with Gearman within"
                    f" {REGISTER_TIMEOUT_SECONDS:.0f} s",
                    index + 1,
                )
            self.done = index + 1
        restarted = plural(len(self.steps), "worker")
        return f"Rolling restart done: {restarted} restarted, one at a time."

    def _stopped(self, why: str, next_index: int) -> str:
        left = [unit_label(step.unit) for step in self.steps[next_index:]]
        not_done = f"; not restarted: {', '.join(left)}" if left else ""
        return f"Rolling restart stopped ({why}) after {next_index} of {len(self.steps)}{not_done}."

    async def _wait_for_job_end(self, step: Step, where: str) -> bool:
        """Until the worker runs no job; False when cancelled meanwhile."""
        while not self.cancelled:
            job = self._running_jobs(step.host_label, step.unit)
            if job is None or not job.is_current(self._main_pid(step.host_label, step.unit)):
                return True
            self._show(f"{where}: waiting for its job {job.label()} to end (R cancels)")
            await asyncio.sleep(WAIT_STEP_SECONDS)
        return False

    async def _wait_for_registration(self, step: Step, old_pid: int, after_poll: int) -> bool:
        """Until the worker's new process is registered; False on timeout or cancel."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REGISTER_TIMEOUT_SECONDS
        while not self.cancelled and loop.time() < deadline:
            new_pid = self._main_pid(step.host_label, step.unit)
            if new_pid not in (0, old_pid) and self._registered_since(
                step.host_label, step.unit, after_poll
            ):
                return True
            await asyncio.sleep(WAIT_STEP_SECONDS)
        return False

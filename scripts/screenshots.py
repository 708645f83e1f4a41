"""Screenshots of the running console on labs, into screenshots/: SVG, and PNG beside each.

Run as root from the repository: `.venv/bin/python scripts/screenshots.py [SCENE ...]`
(default: every scene). Boots the lab `shots` (three workers, long jobs queued) and, for the
fleet, `shots-b`, and powers them off again; a lab of that name already running is used as
it is and left running.

Each scene is one function in SCENES: it gets the labs, drives the console with the keys an
admin would press, waits for the data it needs to show (polling, never a fixed sleep) and
saves what it shows. To add a scene, write a function and add it to SCENES.

PNG: `rsvg-convert` (Debian's librsvg2-bin) with the Fira Code font the SVGs name (Debian's
fonts-firacode): without them, the SVGs are written and the PNGs are not.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from textual.pilot import Pilot

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the tests' way of making two labs a fleet

from atomctl_tui.atom_db.atom_site import AtomSite  # noqa: E402
from atomctl_tui.atom_db.config_php import read_local_settings  # noqa: E402
from atomctl_tui.atom_db.connection import AtomDatabase, Endpoint  # noqa: E402
from atomctl_tui.atom_db.jobs import job_story  # noqa: E402
from atomctl_tui.atom_db.watch import AtomJobsWatch  # noqa: E402
from atomctl_tui.config import resolve_settings  # noqa: E402
from atomctl_tui.lab.state import LabState  # noqa: E402
from atomctl_tui.lab.two_labs import (  # noqa: E402
    NO_CONFIG,
    TwoLabs,
    console_args,
    link_atom_root,
    point_workers_at,
)
from atomctl_tui.ui.app import AtomctlApp  # noqa: E402
from atomctl_tui.ui.atom_jobs.screen import AtomJobsScreen  # noqa: E402
from atomctl_tui.ui.atom_jobs.story_screen import JobStoryScreen  # noqa: E402
from atomctl_tui.ui.health.screen import HealthScreen  # noqa: E402
from atomctl_tui.ui.help.screen import HelpScreen  # noqa: E402
from atomctl_tui.ui.job_server.pane import JobServerPane  # noqa: E402
from atomctl_tui.ui.journal.pane import JournalPane  # noqa: E402
from atomctl_tui.ui.queues.jobs_screen import JobsScreen  # noqa: E402
from atomctl_tui.ui.queues.pane import QueuesPane  # noqa: E402
from atomctl_tui.ui.widgets.confirm_screen import ConfirmScreen  # noqa: E402
from atomctl_tui.ui.workers.pane import WorkersPane  # noqa: E402
from tests.fleet.fleet_console import fleet_console  # noqa: E402

OUT = REPO / "screenshots"
SIZE = (100, 32)
LAB = [str(Path(sys.executable).with_name("atomctl-lab"))]
MAIN_LAB, SECOND_LAB = "shots", "shots-b"
WORKERS = ("atom-worker@1.service", "atom-worker@2.service")
# Something to look at: long jobs keep the workers busy, more wait behind them.
JOBS = [
    ("arFindingAidJob", 4, 600),
    ("arInformationObjectCsvExportJob", 3, 600),
    ("qtSwordPluginWorker", 2, 600),
]


@dataclass
class Labs:
    main: LabState
    png: bool = True
    booted: list[str] = field(default_factory=list)  # powered off at the end
    _second: LabState | None = None

    def worker_host(self) -> LabState:
        """A second lab whose workers use the main lab's gearmand: booted when first asked
        for, so that no scene before sees its workers on the main lab's job server."""
        if self._second is None:
            self._second = lab_up(SECOND_LAB, workers=2, booted=self.booted)
            for lab in (self.main, self._second):
                link_atom_root(lab)
            point_workers_at(self._second, self.main)
        return self._second


# --- waiting and saving --------------------------------------------------------------------


async def wait_for(pilot: Pilot, ready: Callable[[], object], what: str, timeout=60.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit(f"screenshots: no {what} after {timeout:.0f} s")
        await pilot.pause(0.1)


async def save(app: AtomctlApp, pilot: Pilot, name: str, labs: Labs) -> list[Path]:
    await pilot.pause()  # the last messages handled and the screen refreshed
    svg = Path(app.save_screenshot(f"{name}.svg", str(OUT)))
    return [svg, write_png(svg)] if labs.png else [svg]


def write_png(svg: Path) -> Path:
    # librsvg drops the no-break spaces that begin a cell's text unless told to keep spaces
    # (browsers keep them), which shifts those cells left: keep them in the copy it renders.
    text = svg.read_text().replace("<svg ", '<svg xml:space="preserve" ', 1)
    png = svg.with_suffix(".png")
    subprocess.run(["rsvg-convert", "-o", str(png)], input=text.encode(), check=True)
    return png


def png_tools_missing() -> str:
    """Why PNGs cannot be rendered faithfully here, or ''."""
    if shutil.which("rsvg-convert") is None:
        return "rsvg-convert is missing (apt-get install librsvg2-bin)"
    font = subprocess.run(["fc-match", "Fira Code"], capture_output=True, text=True).stdout
    if not font.startswith("FiraCode"):
        return "the Fira Code font is missing (apt-get install fonts-firacode)"
    return ""


# --- the console on the main lab -----------------------------------------------------------


def lab_database(lab: LabState) -> AtomDatabase:
    """The lab's database as its config.php says, over the lab's TCP port: the console runs
    outside the lab here, and the socket config.php means is in the lab's own /run."""
    root = lab.paths.atom_root
    return AtomDatabase(
        lambda: read_local_settings(root),
        lambda _settings: Endpoint("the lab", host="127.0.0.1", port=lab.mysql_port),
    )


@contextlib.asynccontextmanager
async def console_on(lab: LabState) -> AsyncIterator[tuple[AtomctlApp, Pilot]]:
    """The console on one lab, once every pane has its data."""
    settings = resolve_settings(
        cli_servers=[lab.gearman_server], cli_atom_root=str(lab.paths.atom_root), environ=NO_CONFIG
    )
    site = AtomSite(
        lab.host(), AtomJobsWatch(lab_database(lab)), lambda: lab_database(lab),
        settings.site_prefix,
    )  # fmt: skip
    app = AtomctlApp(lab.host(), settings=settings, atom_sites=[site])
    async with app.run_test(size=SIZE) as pilot:
        queues = app.query_one(QueuesPane).table
        workers = app.query_one(WorkersPane)
        journal = app.query_one(JournalPane).view
        await wait_for(pilot, lambda: queues.row_count > 0, "queue rows")
        await wait_for(
            pilot,
            lambda: all(
                unit in workers.table.shown
                and "abilities" in workers.table.shown[unit]["gearman"][0]
                for unit in WORKERS
            ),
            "Gearman registrations",
        )
        await wait_for(pilot, lambda: len(journal.rows) > 5, "journal lines")
        yield app, pilot


async def go_to_worker(app: AtomctlApp, pilot: Pilot, unit: str) -> None:
    """The Workers pane focused, its cursor on ``unit``, with the keys an admin presses."""
    pane = app.query_one(WorkersPane)
    pane.table.focus()
    await pilot.press("home")
    for _ in range(pane.table.row_count):
        if pane.current_key() == unit:
            return
        await pilot.press("down")
    raise SystemExit(f"screenshots: no row for {unit} in the Workers pane")


async def scene_main(labs: Labs) -> list[Path]:
    """The main screen: job server, queues, workers, journal."""
    async with console_on(labs.main) as (app, pilot):
        return await save(app, pilot, "main", labs)


async def scene_help(labs: Labs) -> list[Path]:
    """`?`: every key, pane by pane."""
    async with console_on(labs.main) as (app, pilot):
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "help screen")
        return await save(app, pilot, "help", labs)


async def scene_jobs(labs: Labs) -> list[Path]:
    """`j` in the Queues pane: gearmand's job list of that server."""
    async with console_on(labs.main) as (app, pilot):
        app.query_one(QueuesPane).table.focus()
        await pilot.press("j")
        await wait_for(pilot, lambda: isinstance(app.screen, JobsScreen), "Jobs view")
        screen = app.screen
        await wait_for(pilot, lambda: len(screen.jobs) >= 5, "queued jobs in the Jobs view")
        return await save(app, pilot, "jobs", labs)


async def scene_atom_jobs(labs: Labs) -> list[Path]:
    """`A`: the site's jobs from its database, where each one is now; then a failed job's
    story (Enter): its notes, its output and its worker's journal lines."""
    async with console_on(labs.main) as (app, pilot):
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, AtomJobsScreen), "AtoM jobs view")
        screen = app.screen
        assert isinstance(screen, AtomJobsScreen)

        def failed_key() -> str | None:
            shown = screen.table.shown
            return next((k for k, v in shown.items() if v["status"] == "error"), None)

        def placed() -> bool:  # a job's worker known from the journal
            shown = screen.table.shown.values()
            return any(getattr(v["where"], "words", "").startswith("running on") for v in shown)

        await wait_for(pilot, failed_key, "a failed job in the view")
        await wait_for(pilot, placed, "a job running on a worker")
        written = await save(app, pilot, "atom-jobs", labs)
        key = failed_key()
        assert key is not None
        screen.table.move_cursor(row=screen.table.get_row_index(key))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, JobStoryScreen), "the story")
        story = app.screen
        assert isinstance(story, JobStoryScreen)
        await wait_for(pilot, lambda: isinstance(story.journal, list), "the story read")
        return written + await save(app, pilot, "job-story", labs)


async def scene_confirm(labs: Labs) -> list[Path]:
    """`r` on a worker: the question first, the focus on Cancel (then Esc: nothing changes)."""
    async with console_on(labs.main) as (app, pilot):
        await go_to_worker(app, pilot, "atom-worker@2.service")
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirmation")
        written = await save(app, pilot, "confirm", labs)
        await pilot.press("escape")
        return written


async def scene_health(labs: Labs) -> list[Path]:
    """`h`: the Health view with a real problem on it — atom-worker@3 restarted four times
    from outside, so systemd refused the fourth (AtoM's unit allows 3 starts a day) — its
    finding selected, saying what to do. The worker is put back afterwards."""
    unit = "atom-worker@3.service"
    lab = labs.main
    subprocess.run(
        [*LAB, "exec", "--name", lab.name, "--", "systemctl", "reset-failed", unit], check=True
    )  # fmt: skip  (the start counter from zero: boot was a start)
    for attempt in range(4):
        subprocess.run([*LAB, "exec", "--name", lab.name, "--", "systemctl", "restart", unit],
                       check=attempt < 3, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        async with console_on(lab) as (app, pilot):
            await pilot.press("h")
            await wait_for(pilot, lambda: isinstance(app.screen, HealthScreen), "Health view")
            screen = app.screen
            await wait_for(
                pilot,
                lambda: (
                    screen.report is not None
                    and screen.report.complete
                    and any(f.unit == unit for f in screen.findings.values())
                ),
                f"the finding about {unit}",
            )
            for _ in range(len(screen.findings)):
                if (selected := screen.selected()) is not None and selected.unit == unit:
                    break
                await pilot.press("down")
            return await save(app, pilot, "health", labs)
    finally:
        for command in (("reset-failed", unit), ("start", unit)):
            subprocess.run([*LAB, "exec", "--name", lab.name, "--", "systemctl", *command],
                           check=True)  # fmt: skip


async def scene_fleet(labs: Labs) -> list[Path]:
    """Two labs as two hosts over SSH (`--host`), as tests/fleet/ runs them. The job server is
    named with `--gearman`, as a real worker host's gearman.yml names it: by an address the
    console reaches directly (the labs share this machine's loopback, so each lab's own
    gearman.yml would make the one gearmand two entries, one through each host)."""
    two = TwoLabs(labs.main, labs.worker_host())
    with fleet_console(console_args(two, "--gearman", labs.main.gearman_server)) as app:
        async with app.run_test(size=SIZE) as pilot:
            pane = app.query_one(WorkersPane)
            keys = [pane.row_key(label, unit) for label in app.fleet.labels for unit in WORKERS]

            def workers_seen() -> bool:
                return all(
                    key in pane.table.shown and pane.table.shown[key]["gearman"][0] not in ("", "?")
                    for key in keys
                )

            await wait_for(pilot, workers_seen, "the workers of both hosts with Gearman")
            servers = app.query_one(JobServerPane)
            await wait_for(
                pilot,
                lambda: servers.snapshots and all(s.reachable for s in servers.snapshots),
                "a reachable job server",
            )
            await wait_for(pilot, lambda: app.query_one(QueuesPane).table.row_count, "queues")
            journal = app.query_one(JournalPane).view
            labels = set(app.fleet.labels)
            await wait_for(
                pilot,
                lambda: {entry.host for entry in journal.entries} >= labels,
                "journal lines of both hosts",
            )
            return await save(app, pilot, "fleet", labs)


SCENES: dict[str, Callable[[Labs], Awaitable[list[Path]]]] = {
    "main": scene_main,
    "help": scene_help,
    "jobs": scene_jobs,
    "atom-jobs": scene_atom_jobs,
    "confirm": scene_confirm,
    "health": scene_health,
    "fleet": scene_fleet,
}


# --- labs ----------------------------------------------------------------------------------


def lab_up(name: str, workers: int, booted: list[str]) -> LabState:
    """The running lab of that name, else one booted here (and its name added to ``booted``)."""
    lab = LabState.load(name)
    if lab is not None and lab.is_running():
        return lab
    subprocess.run([*LAB, "up", "--name", name, "--workers", str(workers)], check=True)
    booted.append(name)
    lab = LabState.load(name)
    assert lab is not None
    return lab


def run_short_jobs(lab: LabState) -> None:
    """Two short jobs run to their end before the long ones are queued: one completes, one
    fails (the AtoM jobs view and a job's story show them)."""
    ids = []
    for job_class, options in (
        ("arObjectMoveJob", ["--fail", "--description", "Move lab-fonds"]),
        ("arFindingAidJob", ["--object", "lab-fonds"]),
    ):
        argv = [*LAB, "submit", "--name", lab.name, job_class, "--seconds", "1", "--json",
                *options]  # fmt: skip
        done = subprocess.run(argv, check=True, capture_output=True, text=True)
        ids.append(int(json.loads(done.stdout)[0]["id"]))
    database = lab_database(lab)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        stories = [database.read(lambda cursor, i=i: job_story(cursor, i)) for i in ids]
        if all(story is not None and not story.job.in_progress for story in stories):
            database.close()
            return
        time.sleep(0.2)
    raise SystemExit("screenshots: the short jobs did not end within 60 s")


def queue_jobs(lab: LabState) -> None:
    for job_class, count, seconds in JOBS:
        subprocess.run(
            [*LAB, "submit", "--name", lab.name, job_class, "--count", str(count),
             "--seconds", str(seconds)],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenes", nargs="*", metavar="SCENE",
                        help=f"scenes to render (default: all of {', '.join(SCENES)})")  # fmt: skip
    names = parser.parse_args().scenes or list(SCENES)
    if unknown := set(names) - set(SCENES):
        parser.error(f"no scene {', '.join(sorted(unknown))}; the scenes: {', '.join(SCENES)}")
    OUT.mkdir(exist_ok=True)
    missing = png_tools_missing()
    if missing:
        print(f"screenshots: no PNG: {missing}", file=sys.stderr)
    booted: list[str] = []
    try:
        labs = Labs(lab_up(MAIN_LAB, workers=3, booted=booted), png=not missing, booted=booted)
        if booted:
            run_short_jobs(labs.main)
            queue_jobs(labs.main)
        for name in [name for name in SCENES if name in names]:
            for path in asyncio.run(SCENES[name](labs)):
                print(path.relative_to(REPO))
    finally:
        for name in booted:
            subprocess.run([*LAB, "down", "--name", name], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

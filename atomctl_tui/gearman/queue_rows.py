"""Queue rows per function, AtoM sites and alerts, from the servers' snapshots.

Two things are outages for AtoM's users and become alerts: jobs waiting on a function that
no worker can do, and an AtoM job type of this site with no capable worker on any server —
AtoM then refuses to queue it ("No Gearman worker available that can handle the job X"),
even while every queue is empty. AtoM asks one server only, the last one its gearman.yml
names (``asked_server``): only a worker there counts.

A job type whose class this site's workers report as "Ability not defined" (its plugin is
not enabled, as qtSwordPluginWorker's on a default install) is not an outage: AtoM cannot
queue it on this site at all. Its row says so (``not_on_site``) and carries no alert.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from atomctl_tui.atom import describe_job_class, split_function_name
from atomctl_tui.gearman.snapshot import FunctionStats, ServerSnapshot

THIS_SITE = "this site"
NOT_ATOM = "-"  # a function without AtoM's md5 prefix

WAITING_WITHOUT_WORKER = "waiting-without-worker"
NO_CAPABLE_WORKER = "no-capable-worker"
SERVER_UNREACHABLE = "server-unreachable"


@dataclass(frozen=True)
class QueueRow:
    """One function on one server, as the Queues pane and `status --json` show it."""

    server: str
    function: str
    job_class: str  # the function without its site prefix
    worker_type: str  # the gearman.yml worker type that runs this job class, or ""
    site: str  # THIS_SITE, "site 3f2a1b" for another AtoM site, NOT_ATOM
    description: str
    total: int
    running: int
    waiting: int
    workers: int
    high: int
    normal: int
    low: int
    alerts: tuple[str, ...] = ()  # WAITING_WITHOUT_WORKER and/or NO_CAPABLE_WORKER
    not_on_site: bool = False
    """This site's workers report the class as not defined: AtoM cannot queue it here."""

    @property
    def key(self) -> str:
        return f"{self.server} {self.function}"


@dataclass(frozen=True)
class Alert:
    kind: str
    message: str
    server: str | None = None
    job_class: str | None = None


# build_queue_rows' memory between polls: (server, function's stats, alerts, not on this
# site) → its row.
RowMemo = dict[tuple[str, FunctionStats, tuple[str, ...], bool], QueueRow]


class SiteNames:
    """Names AtoM sites by their prefix: this site, or ``site`` + the prefix's first digits."""

    def __init__(self, own_prefix: str | None) -> None:
        self.own_prefix = own_prefix

    def name(self, prefix: str | None) -> str:
        if prefix is None:
            return NOT_ATOM
        if prefix == self.own_prefix:
            return THIS_SITE
        return f"site {prefix[:6]}"


def build_queue_rows(
    snapshots: Iterable[ServerSnapshot],
    *,
    site_prefix: str | None,
    worker_types: Mapping[str, Iterable[str]],
    reuse: RowMemo | None = None,
    asked_server: str | None = None,
    undefined: Collection[str] = (),
) -> list[QueueRow]:
    """Every function of every reachable server, with its alert.

    ``worker_types`` are this site's (gearman.yml): each of their job classes with no
    capable worker gets a row even when the server has never heard of it. ``asked_server``:
    the server AtoM asks (None when unknown: then a worker on any server counts); the alert
    and a missing row are on it. ``undefined``: the job classes this site's workers report as
    not defined, which get no alert. ``reuse`` (kept by the caller between polls) gives back
    the same row object for a function that did not change, so a caller can skip it by
    identity.
    """
    known: RowMemo = reuse if reuse is not None else {}
    made: RowMemo = {}
    type_of: dict[str, str] = {}
    for worker_type, classes in worker_types.items():
        for job_class in classes:
            type_of.setdefault(job_class, worker_type)
    sites = SiteNames(site_prefix)
    reachable = [s for s in snapshots if s.reachable]
    asked = [s for s in reachable if s.server == asked_server]
    capable: dict[str, int] = {}
    for snapshot in asked or reachable:
        for stats in snapshot.functions:
            capable[stats.function] = capable.get(stats.function, 0) + stats.workers
    not_here = set(undefined)
    unserved: set[str] = set()
    missing: set[str] = set()  # classes of this site without a worker: a row even if unknown
    if site_prefix is not None and reachable:
        missing = {c for c in type_of if capable.get(site_prefix + c, 0) == 0}
        unserved = missing - not_here

    rows: list[QueueRow] = []
    for snapshot in reachable:
        for stats in snapshot.functions:
            prefix, job_class = split_function_name(stats.function)
            alerts: list[str] = []
            if stats.waiting > 0 and stats.workers == 0:
                alerts.append(WAITING_WITHOUT_WORKER)
            own = prefix is not None and prefix == site_prefix
            if own and job_class in unserved and (not asked or snapshot.server == asked_server):
                alerts.append(NO_CAPABLE_WORKER)
            not_on_site = own and job_class in not_here
            memo_key = (snapshot.server, stats, tuple(alerts), not_on_site)
            row = known.get(memo_key)
            if row is not None:
                made[memo_key] = row
                rows.append(row)
                continue
            row = made[memo_key] = QueueRow(
                server=snapshot.server,
                function=stats.function,
                job_class=job_class,
                worker_type=type_of.get(job_class, "") if prefix else "",
                site=sites.name(prefix),
                description=describe_job_class(job_class) if prefix else "",
                total=stats.total,
                running=stats.running,
                waiting=stats.waiting,
                workers=stats.workers,
                high=stats.high,
                normal=stats.normal,
                low=stats.low,
                alerts=tuple(alerts),
                not_on_site=not_on_site,
            )
            rows.append(row)
    if missing and site_prefix is not None:  # (missing needs a site prefix)
        # The alert must be visible in the table even when no server knows the function: on
        # the server AtoM asks, which is where a worker must be.
        home = (asked or reachable)[0].server
        shown = {(r.server, r.function) for r in rows}
        for job_class in sorted(missing):
            if not any((s.server, site_prefix + job_class) in shown for s in asked or reachable):
                rows.append(
                    QueueRow(
                        server=home,
                        function=site_prefix + job_class,
                        job_class=job_class,
                        worker_type=type_of[job_class],
                        site=THIS_SITE,
                        description=describe_job_class(job_class),
                        total=0,
                        running=0,
                        waiting=0,
                        workers=0,
                        high=0,
                        normal=0,
                        low=0,
                        alerts=() if job_class in not_here else (NO_CAPABLE_WORKER,),
                        not_on_site=job_class in not_here,
                    )
                )
    if reuse is not None:
        reuse.clear()
        reuse.update(made)
    return rows


def find_alerts(
    snapshots: Iterable[ServerSnapshot],
    rows: Iterable[QueueRow],
    asked_server: str | None = None,
) -> list[Alert]:
    """Unreachable servers, waiting jobs without worker, AtoM job types without worker (on
    ``asked_server``, the server AtoM asks, when known)."""
    alerts = [
        Alert(SERVER_UNREACHABLE, f"{s.server} unreachable: {s.error}", server=s.server)
        for s in snapshots
        if not s.reachable
    ]
    unserved: dict[str, None] = {}
    for row in rows:
        if WAITING_WITHOUT_WORKER in row.alerts:
            alerts.append(
                Alert(
                    WAITING_WITHOUT_WORKER,
                    f"{row.job_class} ({row.site}): {row.waiting} waiting, no worker",
                    server=row.server,
                    job_class=row.job_class,
                )
            )
        if NO_CAPABLE_WORKER in row.alerts:
            unserved[row.job_class] = None
    where = f" on {asked_server}, the server AtoM asks" if asked_server is not None else ""
    alerts.extend(
        Alert(
            NO_CAPABLE_WORKER,
            f"{job_class}: no worker can run it{where}; AtoM refuses to queue it",
            server=asked_server,
            job_class=job_class,
        )
        for job_class in unserved
    )
    return alerts

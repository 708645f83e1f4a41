"""What each worker is doing, from journal entries shaped as journalctl gives them."""

from __future__ import annotations

import itertools

from atomctl_tui.atom import WORKER_UNIT_PATTERNS
from atomctl_tui.journal.entries import JournalEntry
from atomctl_tui.journal.scope import JournalSettings
from atomctl_tui.journal.watch import JournalWatch
from atomctl_tui.journal.worker_activity import FAILURE_WINDOW_SECONDS, MAX_FAILURES, WorkerActivity
from atomctl_tui.remote.hosts import Host

W1, W2 = "atom-worker@1.service", "atom-worker@2.service"
T0 = 1_714_644_901.0
_cursors = itertools.count()


def line(unit, pid, message, at=T0, identifier="php"):
    return JournalEntry(
        f"s=1;i={next(_cursors)}", int(at * 1_000_000), 6, unit, identifier, pid, "atom", message
    )


def systemd(unit, message, at=T0):
    return line(unit, "1", message, at, identifier="systemd")


def activity(now=T0 + 60):
    watch = JournalWatch(Host("lab"), JournalSettings())  # never subscribed to: no journalctl
    return WorkerActivity(watch, WORKER_UNIT_PATTERNS, clock=lambda: now)


def test_atom_form_job_runs_then_finishes():
    source = activity()
    source.take(
        [
            line(W1, "700", "2024-05-02 10:15:01 > Job started.", T0),
            line(
                W1,
                "700",
                '2024-05-02 10:15:01 > Parameters: {"id":37864,"name":"arFindingAidJob"}',
                T0 + 0.1,
            ),
        ]
    )
    job = source.snapshot().running[W1]
    assert (job.name, job.job_id, job.pid, job.since) == ("arFindingAidJob", "37864", "700", T0)
    assert job.label() == "arFindingAidJob #37864"
    assert job.is_current(700) and not job.is_current(701) and not job.is_current(0)
    assert source.take([line(W1, "700", "2024-05-02 10:15:09 > Job finished.")])
    assert source.snapshot().running == {}


def test_prefixed_form_and_other_workers():
    source = activity()
    source.take(
        [
            line(W1, "700", '2024-05-02 10:15:01 > Job 12 "arFindingAidJob": Job started.'),
            line(W2, "800", '2024-05-02 10:15:01 > Job 13 "arObjectMoveJob": Job started.'),
            line("gearman-job-server.service", "90", "Job started."),  # not a worker
        ]
    )
    running = source.snapshot().running
    assert {unit: job.label() for unit, job in running.items()} == {
        W1: "arFindingAidJob #12",
        W2: "arObjectMoveJob #13",
    }


def test_what_ends_a_running_job():
    started = "2024-05-02 10:15:01 > Job started."
    for ending in (
        [line(W1, "700", "2024-05-02 10:15:02 > Job worker termination requested.")],
        [line(W1, "700", "2024-05-02 10:15:02 > Jobs completed: 3")],
        [line(W1, "701", "2024-05-02 10:15:02 > New ability: arFindingAidJob")],  # a new PID
        [systemd(W1, "atom-worker@1.service: Main process exited, code=killed, status=9/KILL")],
        [systemd(W1, "Stopped AtoM worker 1.")],
        [line(W1, "700", "2024-05-02 10:15:02 > Max job count reached: 1 jobs completed.")],
    ):
        source = activity()
        source.take([line(W1, "700", started)])
        assert W1 in source.snapshot().running
        assert source.take(ending), ending
        assert source.snapshot().running == {}, ending
    # systemd starting the unit again says nothing about the job.
    source = activity()
    source.take([line(W1, "700", started), systemd(W1, "Reloading.")])
    assert W1 in source.snapshot().running


def test_failures_within_the_hour_are_kept_with_the_job():
    source = activity(now=T0 + FAILURE_WINDOW_SECONDS + 10)
    source.take(
        [
            line(W1, "700", "2024-05-02 09:00:00 > Job failed: too old", T0),
            line(W1, "700", "2024-05-02 10:15:01 > Job started.", T0 + 100),
            line(
                W1,
                "700",
                '2024-05-02 10:15:01 > Parameters: {"id":9,"name":"arFileImportJob"}',
                T0 + 100,
            ),
            line(W1, "700", "2024-05-02 10:15:05 > Exception: Unable to open file", T0 + 104),
            line(
                W1, "700", "2024-05-02 10:15:05 > File: /usr/share/nginx/atom/lib/x.php", T0 + 104
            ),
            line(W1, "700", "2024-05-02 10:15:05 > Line: 12", T0 + 104),
            line(
                W2,
                "800",
                "2024-05-02 10:16:00 > Job failed: Called a Gearman worker with an invalid"
                " QubitJob id.",
                T0 + 159,
            ),
        ]
    )
    snapshot = source.snapshot()
    assert snapshot.running == {}
    assert [(f.unit, f.job_id, f.name, f.message, f.at) for f in snapshot.failures] == [
        (W1, "9", "arFileImportJob", "Unable to open file", T0 + 104),
        (W2, None, None, "Called a Gearman worker with an invalid QubitJob id.", T0 + 159),
    ]


def test_failures_are_bounded():
    source = activity()
    source.take(
        line(W1, "700", f"2024-05-02 10:15:01 > Job failed: number {n}", T0 + n * 0.001)
        for n in range(MAX_FAILURES * 3)
    )
    failures = source.snapshot().failures
    assert len(failures) == MAX_FAILURES
    assert failures[-1].message == f"number {MAX_FAILURES * 3 - 1}"


def test_undefined_abilities_belong_to_the_current_process():
    source = activity()
    source.take(
        [
            line(
                W1,
                "700",
                "2024-05-02 10:00:00 > Ability not defined: qtSwordPluginWorker. Please ensure"
                " the job is in the lib/task/job directory or that the plugin is enabled.",
            ),
            line(W1, "700", "2024-05-02 10:00:00 > New ability: arFindingAidJob"),
        ]
    )
    assert source.snapshot().undefined_abilities == {W1: ("qtSwordPluginWorker",)}
    source.take([line(W1, "701", "2024-05-02 10:05:00 > New ability: qtSwordPluginWorker")])
    assert source.snapshot().undefined_abilities == {}


def test_listeners_get_each_change_and_batches_are_taken():
    source = activity()
    seen = []
    source._listeners[0] = seen.append  # as subscribe does, without starting journalctl
    taken = []
    from atomctl_tui.journal.watch import JournalBatch

    source._on_journal(JournalBatch([line(W1, "700", "Job started.")], lambda: taken.append(1)))
    source._on_journal(JournalBatch([line(W1, "700", "Some job output")], lambda: taken.append(2)))
    assert taken == [1, 2]  # every batch, changed or not
    assert len(seen) == 1 and W1 in seen[0].running

"""The AtoM jobs watch's pace: the view's while someone looks, the background's otherwise."""

from __future__ import annotations

from atomctl_tui.atom_db.watch import AtomJobsWatch
from tests.fakes.atom_jobs import UnreachableDatabase


def test_the_jobs_watch_polls_slowly_while_only_the_background_listens() -> None:
    database = UnreachableDatabase("no database server answers")
    watch = AtomJobsWatch(database, interval=5, background_interval=30)  # type: ignore[arg-type]
    try:
        watch.subscribe(lambda snapshot: None, background=True)
        assert watch.pace == 30
        stop_looking = watch.subscribe(lambda snapshot: None)
        assert watch.pace == 5
        stop_looking()
        assert watch.pace == 30
    finally:
        watch.close()

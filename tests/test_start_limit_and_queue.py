"""The words of a confirmation: a unit's start budget, and what a job server restart does to
its queue (pure; the lab tests in tests/ui/test_workers_jobs.py read them from real units)."""

from __future__ import annotations

from atomctl_tui.journal.worker_activity import RunningJob
from atomctl_tui.systemd.actions import Action
from atomctl_tui.systemd.job_server_queue import (
    IN_MEMORY,
    JobServerQueue,
    config_file_of,
    queue_from,
    restart_words,
)
from atomctl_tui.systemd.start_limit import StartBudget, budget_words, interval_text
from atomctl_tui.ui.unit_action_flow import for_how_long, job_words

DAY_US = 24 * 3600 * 1_000_000
UNIT = "atom-worker@3.service"


def test_budget_words_from_the_unit_in_front_of_us():
    manual = StartBudget(UNIT, 3, DAY_US, "on-failure", starts=2)
    assert budget_words(manual).startswith(
        "This is start 3 of the 3 allowed in 24 h — after this, systemd refuses to start it"
        " until reset-failed."
    )
    assert "Restart=on-failure" in budget_words(manual)
    first = StartBudget(UNIT, 3, DAY_US, "on-failure", starts=0)
    assert "This is start 1 of the 3 systemd allows in 24 h" in budget_words(first)
    over = StartBudget(UNIT, 3, DAY_US, "on-failure", starts=5)
    assert "may refuse this start (start-limit-hit)" in budget_words(over)
    unknown = StartBudget(UNIT, 3, DAY_US, "no", why_not_counted="journalctl: no journal")
    assert "could not be counted (journalctl: no journal)" in budget_words(unknown)
    # AtoM's repository unit: no limit of its own (systemd's default, 5 in 10 s), Restart=no.
    repository = StartBudget(UNIT, 5, 10 * 1_000_000, "no", starts=0)
    assert budget_words(repository) == "Restart=no: if it fails, systemd leaves it down."
    close = StartBudget(UNIT, 5, 10 * 1_000_000, "no", starts=4)
    assert "start 5 of the 5 allowed in 10 s" in budget_words(close)
    none = StartBudget(UNIT, 0, 0, "")
    assert budget_words(none) == "systemd sets no start limit on it."
    assert budget_words(StartBudget(UNIT, None, None, "")) == ""


def test_interval_text():
    assert interval_text(DAY_US) == "24 h"
    assert interval_text(10 * 60 * 1_000_000) == "10 min"
    assert interval_text(10 * 1_000_000) == "10 s"
    assert interval_text(1_500_000) == "1.5 s"


def test_queue_type_from_gearmand_options():
    base = ["/usr/sbin/gearmand", "--pid-file=/run/gearman/gearmand.pid", "--listen=localhost"]
    assert queue_from(base, None) == IN_MEMORY
    assert (
        queue_from([*base, "-q", "libsqlite3", "--libsqlite3-db=/var/q.db"], None) == "libsqlite3"
    )
    assert queue_from([*base, "-qmysql"], None) == "mysql"
    assert queue_from([*base, "--queue-type=redis"], None) == "redis"
    assert queue_from([*base, "--queue-type", "libpq"], None) == "libpq"
    assert queue_from(base, "# comment\nqueue-type = mysql\nmysql-host=db\n") == "mysql"
    assert queue_from([*base, "-q", "builtin"], "queue-type=mysql") == "builtin"  # command wins
    assert config_file_of(base) == "/etc/gearmand.conf"
    assert config_file_of([*base, "--config-file=/srv/g.conf"]) == "/srv/g.conf"


def test_restart_words_for_the_queue():
    memory = restart_words(JobServerQueue(IN_MEMORY, "its command line"))
    assert "queue in memory" in memory and "every queued job is lost" in memory
    kept = restart_words(JobServerQueue("mysql", "its command line"))
    assert "persistent queue (mysql" in kept and "kept" in kept
    unknown = restart_words(JobServerQueue(None, "its command line could not be read: denied"))
    assert "not known" in unknown and "denied" in unknown
    assert "holds no job" in restart_words(JobServerQueue(None, "gearmand is not running"))


def test_running_job_words():
    job = RunningJob(UNIT, "700", since=1000.0, job_id="37864", name="arFindingAidJob")
    assert job_words(Action.STOP, "", job, 1125.0, UNIT) == (
        "atom-worker@3 is running arFindingAidJob (job 37864, for 2 min):"
        " stopping it aborts that job. gearmand queues it again and a free worker runs it"
        " again from the start, or it waits until one is free. Should it be lost instead (in"
        " progress in AtoM, yet nothing runs it), Health or the AtoM jobs view (A) marks it"
        " failed."
    )
    unnamed = RunningJob(UNIT, "700", since=1000.0)
    assert job_words(Action.RESTART, "web1", unnamed, 1040.0, UNIT).startswith(
        "atom-worker@3 on web1 is running an AtoM job (for 40 s): restarting it aborts that job."
    )
    assert for_how_long(3900) == "1 h 05 min"

"""journalctl's JSON, the match arguments, the filter and the saved file — no lab needed.

The fixture is real output: the hostile corpus written into a lab's journal and read back
with the follower's own journalctl options.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from atomctl_tui.journal.entries import JournalEntry, format_entry, parse_entry, save_entries
from atomctl_tui.journal.follower import _LineSplitter
from atomctl_tui.journal.line_filter import FilterError, parse_filter
from atomctl_tui.journal.scope import (
    JournalSettings,
    in_scope,
    journal_matches,
    resolve_units,
    template_slice,
    unit_escape,
)
from atomctl_tui.outside_text import CUT_MARKER
from tests.journal.writing import NATIVE_CORPUS, STREAM_CORPUS

FIXTURE = Path(__file__).parent.parent / "fixtures" / "journal-hostile.jsonl"


def fixture_entries() -> list[JournalEntry]:
    entries = [parse_entry(line) for line in FIXTURE.read_bytes().splitlines()]
    assert all(entries)
    return entries


def test_real_journalctl_output_parses_into_safe_entries():
    entries = fixture_entries()
    expected = [shown for _, shown in [*STREAM_CORPUS, *NATIVE_CORPUS]]
    assert [e.message for e in entries[: len(expected)]] == expected
    first = entries[0]
    assert first.identifier == "fixture-hostile" and first.unit is None
    assert first.cursor.startswith("s=") and first.timestamp_us > 1_600_000_000_000_000
    assert first.source == "fixture-hostile"


def test_priority_and_a_line_cut_by_journald_at_48k():
    entries = fixture_entries()
    error = next(e for e in entries if e.message == "p3 an error")
    assert error.priority == 3
    long_parts = [e for e in entries if e.message.startswith("YYYY")]
    assert len(long_parts) == 2  # journald's LineMax splits the 60,000-byte line
    assert long_parts[0].message.endswith(CUT_MARKER.format(total=49_152))
    assert long_parts[1].message.endswith(CUT_MARKER.format(total=60_000 - 49_152))


def test_not_a_journal_entry_is_none_not_an_exception():
    for line in [b"", b"not json", b"[]", b'{"MESSAGE": "no cursor"}', b'{"__CURSOR": 5}', b"\xff"]:
        assert parse_entry(line) is None


def test_entry_from_a_unit_names_the_unit_and_systemd_lines_name_their_subject():
    worker = parse_entry(
        b'{"__CURSOR":"c1","__REALTIME_TIMESTAMP":"1","MESSAGE":"Running worker...",'
        b'"_SYSTEMD_UNIT":"atom-worker@1.service","SYSLOG_IDENTIFIER":"python3","_PID":"46"}'
    )
    assert worker.unit == "atom-worker@1.service" and worker.source == "atom-worker@1"
    systemd = parse_entry(
        b'{"__CURSOR":"c2","MESSAGE":"Stopping atom-worker@1.service...","_PID":"1",'
        b'"_SYSTEMD_UNIT":"init.scope","UNIT":"atom-worker@1.service","PRIORITY":"6"}'
    )
    assert systemd.unit == "atom-worker@1.service"
    hostile_name = parse_entry(b'{"__CURSOR":"c3","SYSLOG_IDENTIFIER":"x\\u001b[31my"}')
    assert hostile_name.identifier == "xy"


def test_matches_combine_units_systemd_lines_slices_and_identifiers_with_or():
    matches = journal_matches(["b.service", "a.service"], ["atomctl-tui"], ["c.service"])
    assert matches == [
        "_SYSTEMD_UNIT=a.service",
        "_SYSTEMD_UNIT=b.service",
        "_SYSTEMD_UNIT=c.service",
        "+",
        "_PID=1",
        "UNIT=a.service",
        "UNIT=b.service",
        "UNIT=c.service",
        "+",
        "_UID=0",
        "OBJECT_SYSTEMD_UNIT=a.service",
        "OBJECT_SYSTEMD_UNIT=b.service",
        "OBJECT_SYSTEMD_UNIT=c.service",
        "+",
        "_UID=0",
        "COREDUMP_UNIT=a.service",
        "COREDUMP_UNIT=b.service",
        "COREDUMP_UNIT=c.service",
        "+",
        "SYSLOG_IDENTIFIER=atomctl-tui",
    ]
    assert journal_matches([], ["only-me"]) == ["SYSLOG_IDENTIFIER=only-me"]


def test_globs_are_matched_through_slices_and_systemds_lines_whatever_the_units():
    """Thousands of known instances: the same few matches (once "Argument list too long")."""
    known = [f"atom-worker@{n}.service" for n in range(2000)] + ["other@1.service"]
    patterns = ["atom-worker@*.service", "gearman-job-server.service", "other*"]
    matches = journal_matches(patterns, ["atomctl-tui"], known_units=known)
    assert matches == journal_matches(patterns, ["atomctl-tui"], known_units=known[-2:])
    assert matches == [
        "_SYSTEMD_UNIT=gearman-job-server.service",
        "+",
        "_SYSTEMD_SLICE=system-atom\\x2dworker.slice",
        "_SYSTEMD_SLICE=system-other.slice",  # other@1.service, matched by other*
        "_SYSTEMD_SLICE=system.slice",
        "+",
        "_PID=1",  # every unit's: the follower keeps those of its scope
        "+",
        "_UID=0",
        "MESSAGE_ID=fc2e22bc6ee647b6b90729ab34a250b1",
        "+",
        "_UID=0",
        "OBJECT_SYSTEMD_UNIT=gearman-job-server.service",
        "+",
        "_UID=0",
        "COREDUMP_UNIT=gearman-job-server.service",
        "+",
        "SYSLOG_IDENTIFIER=atomctl-tui",
    ]
    patterns = ["atom-worker@*.service", "gearman-job-server.service"]
    assert in_scope("atom-worker@1999.service", "python3", patterns, ["atomctl-tui"])
    assert in_scope("session-4.scope", "atomctl-tui", patterns, ["atomctl-tui"])
    assert in_scope("x.service", "python3", patterns, ["atomctl-tui"], ["x.service"])
    assert not in_scope("session-4.scope", "systemd", patterns, ["atomctl-tui"])
    assert not in_scope(None, None, patterns, ["atomctl-tui"])


def test_glob_patterns_resolve_against_the_units_the_journal_knows():
    known = ["atom-worker@1.service", "atom-worker@2.service", "nginx.service", "init.scope"]
    units = resolve_units(JournalSettings().unit_patterns, known)
    assert units == {
        "atom-worker.service",
        "atom-worker@1.service",
        "atom-worker@2.service",
        "gearman-job-server.service",
    }


def test_template_patterns_have_a_slice_others_do_not():
    assert template_slice("atom-worker@*.service") == "system-atom\\x2dworker.slice"
    assert template_slice("atom-worker.service") is None
    assert template_slice("atom-*@*.service") is None
    assert unit_escape("a-b.c/d é") == "a\\x2db.c-d\\x20\\xc3\\xa9"


def test_settings_refuse_nonsense_sizes():
    with pytest.raises(ValueError, match="backlog"):
        JournalSettings(backlog=-1)
    with pytest.raises(ValueError, match="at least 1 line"):
        JournalSettings(max_lines=0)


def test_line_splitter_joins_pieces_and_drops_a_line_over_its_limit():
    splitter = _LineSplitter(limit=10)
    assert splitter.feed(b"ab") == []
    assert splitter.feed(b"c\nde\nf") == [b"abc", b"de"]
    assert splitter.feed(b"0123456789ABC") == []  # over the limit: dropped
    assert splitter.feed(b"DEF\ng\n") == [b"g"]  # the rest of the dropped line goes too
    assert splitter.dropped == 1


def test_filter_text_ignores_case_regex_between_slashes_errors_in_words():
    text = parse_filter("Job FAILED")
    assert text.matches("atom-worker@1", "2026 > job failed: boom")
    assert not text.matches("atom-worker@1", "job started")
    assert parse_filter("[bold").matches("x", "a [BOLD b")  # text, not a broken regex
    regex = parse_filter("/worker@[12]$/")
    assert regex.matches("atom-worker@2", "anything") and not regex.matches("atom-worker@3", "")
    assert parse_filter("") is None and parse_filter("   ") is None
    with pytest.raises(FilterError, match="not a regular expression"):
        parse_filter("/[unclosed/")


def test_saved_file_has_one_line_per_entry_and_never_overwrites(tmp_path):
    entries = fixture_entries()
    path = tmp_path / "journal.log"
    assert save_entries(path, entries) == len(entries)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(entries)
    assert lines[3].endswith(" vm - fixture-hostile[86]: h04 [bold red]x[/]")
    assert format_entry(entries[0]).split(" ", 1)[0].count(":") >= 2  # ISO time with zone
    with pytest.raises(FileExistsError):
        save_entries(path, entries[:1])
    assert len(path.read_text(encoding="utf-8").splitlines()) == len(entries)

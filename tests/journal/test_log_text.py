"""Untrusted text made safe to show: escapes removed, controls visible, bytes replaced, cut."""

from __future__ import annotations

from atomctl_tui.journal.log_text import decode_field
from atomctl_tui.outside_text import CUT_MARKER, MAX_LINE_CHARS, clean_line
from tests.journal.writing import NATIVE_CORPUS, STREAM_CORPUS


def test_each_hostile_line_comes_out_as_the_text_a_reader_should_see():
    for raw, shown in [*STREAM_CORPUS, *NATIVE_CORPUS]:
        # What journalctl hands over: text, or the bytes when not valid UTF-8.
        assert clean_line(raw.decode("utf-8", errors="replace")) == shown, raw


def test_plain_text_and_markup_lookalikes_pass_through_unchanged():
    for text in ["Job 42 started.", "[bold]not bold[/]", "100% [=====>    ]", "漢字 😀 👩‍💻"]:
        assert clean_line(text) == text


def test_unterminated_escape_sequences_are_removed_to_the_end():
    assert clean_line("title\x1b]0;never ends") == "title"
    assert clean_line("csi\x1b[") == "csi"
    assert clean_line("lone escape\x1b") == "lone escape"
    assert clean_line("8-bit csi \x9b31mred") == "8-bit csi red"


def test_every_control_character_is_shown_escaped_never_raw():
    every_control = "".join(chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)] if c != 0x1B)
    cleaned = clean_line(every_control.replace("\t", ""))
    assert cleaned.isprintable()
    assert "\\x00" in cleaned and "\\r" in cleaned and "\\n" in cleaned and "\\x7f" in cleaned


def test_lone_surrogates_cannot_reach_the_terminal():
    cleaned = clean_line("a\ud800b")
    assert cleaned == "a\\ud800b"
    cleaned.encode("utf-8")  # would raise on a surrogate


def test_a_long_line_is_cut_with_a_marker_that_says_how_long_it_was():
    cleaned = clean_line("Z" * 1_048_576)
    assert cleaned == "Z" * MAX_LINE_CHARS + CUT_MARKER.format(total=1_048_576)
    assert "1,048,576" in cleaned
    assert clean_line("Z" * MAX_LINE_CHARS) == "Z" * MAX_LINE_CHARS  # exactly the limit stays


def test_a_line_long_only_because_of_escapes_is_cut_after_cleaning():
    text = "\x00" * MAX_LINE_CHARS
    cleaned = clean_line(text)
    assert cleaned.startswith("\\x00" * 10)
    assert cleaned.endswith(CUT_MARKER.format(total=MAX_LINE_CHARS))


def test_json_field_shapes_become_text():
    assert decode_field("text") == "text"
    assert decode_field([104, 105, 255]) == "hi\ufffd"
    assert decode_field(None).startswith("[field too large")
    assert decode_field(["first", [115, 101, 99, 111, 110, 100]]) == "first second"
    assert decode_field([1, 300]) == "1 300"  # not bytes: shown as numbers, not an error
    assert decode_field(6) == "6"

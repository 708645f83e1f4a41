"""Journal fields as text: what journalctl's JSON output gives for a field, decoded.

The text is made safe to show by ``atomctl_tui.outside_text.clean_line`` (see ``entries``).
"""

from __future__ import annotations


def decode_field(value: object) -> str:
    """A field of journalctl's JSON output as text.

    journalctl writes a string; an array of byte values when the field is not valid UTF-8 or
    holds control characters; null when it is too large (without ``--all``); and an array of
    those when the entry repeats the field. Invalid UTF-8 becomes U+FFFD.
    """
    if isinstance(value, str):
        return value
    if value is None:
        return "[field too large for journalctl to show]"
    if isinstance(value, list):
        try:
            return bytes(value).decode("utf-8", errors="replace")
        except (TypeError, ValueError):  # not a list of byte values: a repeated field
            return " ".join(decode_field(item) for item in value)
    return str(value)

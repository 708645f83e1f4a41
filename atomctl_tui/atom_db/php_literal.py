"""A PHP file that returns one literal value, read without running PHP.

AtoM's installer writes ``config/config.php`` as ``<?php`` then ``return`` and the
``var_export`` of an array: ``array ( 'key' => value, ... )`` with single-quoted strings,
integers, floats, ``true``/``false``/``NULL``. Admins and Docker set-ups write the same with
short ``[...]`` arrays and double-quoted strings. That literal, and only that, is read here:
a function call, a variable, a constant, concatenation, an interpolating string — anything
PHP would have to run — is refused with the line it is on, never evaluated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PhpArray = dict[str | int, object]
"""A PHP array: keys in order, each an int or a str (as PHP keeps them)."""

MAX_DEPTH = 32  # AtoM's config nests 7 deep
MAX_ITEMS = 100_000

_SINGLE_ESCAPES = re.compile(r"\\([\\'])")
_DOUBLE_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "v": "\v",
    "e": "\x1b",
    "f": "\f",
    "\\": "\\",
    "$": "$",
    '"': '"',
}
_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r\n]+)
    | (?P<comment>//[^\n]*|\#(?!\[)[^\n]*|/\*.*?\*/)
    | (?P<single>'(?:[^'\\]|\\.)*')
    | (?P<double>"(?:[^"\\]|\\.)*")
    | (?P<number>-?\s*(?:\d[\d_]*\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|0[xX][0-9a-fA-F_]+
        |\d[\d_]*(?:[eE][+-]?\d+)?))
    | (?P<arrow>=>)
    | (?P<punct>[()\[\],;])
    | (?P<word>[A-Za-z_\\][A-Za-z0-9_\\]*)
    | (?P<close>\?>)
    """,
    re.VERBOSE | re.DOTALL,
)
_CONSTANTS: dict[str, bool | None] = {"true": True, "false": False, "null": None}


class PhpLiteralError(ValueError):
    """Not a PHP file returning a literal, with the line that says why."""


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    line: int


def parse_php_return(source: str, name: str) -> object:
    """The value ``source`` (a PHP file called ``name`` in messages) returns: a literal of
    arrays, strings, numbers, booleans and null. Raises PhpLiteralError otherwise."""
    tokens = _Tokens(_tokenize(source, name), name)
    tokens.expect_word("return")
    value = tokens.value(depth=0)
    tokens.expect(";")
    tokens.end()
    return value


def _tokenize(source: str, name: str) -> list[_Token]:
    text = source.removeprefix("\ufeff")
    opening = re.match(r"<\?php(?=[ \t\r\n])", text)
    if opening is None:
        raise PhpLiteralError(f"{name}: does not begin with <?php")
    at, line = opening.end(), 1
    tokens: list[_Token] = []
    while at < len(text):
        found = _TOKEN.match(text, at)
        if found is None:
            # Only what is there, never the text around it: it may be the password.
            what = "an unterminated string" if text[at] in "'\"" else repr(text[at])
            raise PhpLiteralError(f"{name}:{line}: PHP code, not a literal value: {what}")
        kind = found.lastgroup or ""
        if kind == "close":
            if text[found.end() :].strip():
                raise PhpLiteralError(f"{name}:{line}: text after the closing ?>")
            break
        if kind not in ("space", "comment"):
            tokens.append(_Token(kind, found.group(), line))
        line += found.group().count("\n")
        at = found.end()
    return tokens


class _Tokens:
    def __init__(self, tokens: list[_Token], name: str) -> None:
        self.tokens = tokens
        self.name = name
        self.at = 0
        self.items = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            last = self.tokens[-1].line if self.tokens else 1
            raise PhpLiteralError(f"{self.name}:{last}: the file ends in the middle of a value")
        self.at += 1
        return token

    def error(self, token: _Token, what: str) -> PhpLiteralError:
        # A string's text is never repeated: it may be the password.
        found = "a string" if token.kind in ("single", "double") else repr(token.text[:40])
        return PhpLiteralError(f"{self.name}:{token.line}: {what}, found {found}")

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise self.error(token, f"expected {text!r} (only a literal value is read)")

    def expect_word(self, word: str) -> None:
        token = self.take()
        if token.kind != "word" or token.text.lower() != word:
            raise self.error(token, f"expected '{word}' and a literal value")

    def end(self) -> None:
        token = self.peek()
        if token is not None:
            raise self.error(token, "more after the returned value")

    def value(self, depth: int) -> object:
        if depth > MAX_DEPTH:
            raise self.error(self.take(), f"arrays nested more than {MAX_DEPTH} deep")
        token = self.take()
        if token.kind == "single":
            return self._followed(_SINGLE_ESCAPES.sub(r"\1", token.text[1:-1]))
        if token.kind == "double":
            return self._followed(self._double(token))
        if token.kind == "number":
            return self._followed(_number(token, self))
        if token.text == "[":
            return self._followed(self.array("]", depth))
        if token.kind == "word":
            word = token.text.lower()
            if word in _CONSTANTS:
                return self._followed(_CONSTANTS[word])
            following = self.peek()
            if word == "array" and following is not None and following.text == "(":
                self.take()
                return self._followed(self.array(")", depth))
            if following is not None and following.text == "(":
                raise self.error(token, "a function call (never run)")
            raise self.error(token, "a constant or class name (never looked up)")
        raise self.error(token, "expected a literal value")

    def _followed(self, value: object) -> object:
        """A value must end where it ends: ``'a' . 'b'`` and ``1 + 2`` are code."""
        token = self.peek()
        if token is not None and token.text not in (",", ";", ")", "]", "=>"):
            raise self.error(token, "an expression (never evaluated)")
        return value

    def array(self, closing: str, depth: int) -> PhpArray:
        array: PhpArray = {}
        next_index = 0
        while True:
            token = self.peek()
            if token is not None and token.text == closing:
                self.take()
                return array
            value = self.value(depth + 1)
            following = self.peek()
            if following is not None and following.kind == "arrow":
                self.take()
                key = _key(value, following, self)
                value = self.value(depth + 1)
            else:
                key = next_index
            if isinstance(key, int):
                next_index = max(next_index, key + 1)
            array[key] = value
            self.items += 1
            if self.items > MAX_ITEMS:
                raise self.error(following or token or self.tokens[-1], "too many values")
            separator = self.take()
            if separator.text == closing:
                return array
            if separator.text != ",":
                raise self.error(separator, f"expected ',' or {closing!r}")

    def _double(self, token: _Token) -> str:
        body = token.text[1:-1]
        out: list[str] = []
        at = 0
        while at < len(body):
            char = body[at]
            if char == "$" and at + 1 < len(body) and re.match(r"[A-Za-z_{]", body[at + 1]):
                raise self.error(token, "a string with a variable in it (never interpolated)")
            if char == "{" and body[at + 1 : at + 2] == "$":
                raise self.error(token, "a string with a variable in it (never interpolated)")
            if char == "\\" and at + 1 < len(body):
                escaped = body[at + 1]
                if escaped in _DOUBLE_ESCAPES:
                    out.append(_DOUBLE_ESCAPES[escaped])
                    at += 2
                    continue
                if escaped in "xu01234567":
                    raise self.error(token, "a numeric escape in a string (not read)")
            out.append(char)
            at += 1
        return "".join(out)


def _key(value: object, token: _Token, tokens: _Tokens) -> str | int:
    # PHP's own rules: a decimal string key is an int key; bools are ints; null is "".
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return int(value) if re.fullmatch(r"-?[1-9]\d{0,17}|0", value) else value
    if value is None:
        return ""
    raise tokens.error(token, "an array or a float as a key")


def _number(token: _Token, tokens: _Tokens) -> int | float:
    text = re.sub(r"\s+", "", token.text).replace("_", "")
    try:
        if re.fullmatch(r"-?0[xX][0-9a-fA-F]+", text):
            return int(text, 16)
        if re.fullmatch(r"-?\d+", text):
            if len(text) > 1 and text.lstrip("-").startswith("0"):
                return int(text, 8)  # PHP's octal integers
            return int(text)
        return float(text)
    except ValueError:
        raise tokens.error(token, "a number PHP would read differently") from None

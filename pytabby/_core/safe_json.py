"""JSON parsing that cannot take the interpreter down.

In Pyodide, ``json.loads`` of text nested a few thousand levels deep overflows
the WebAssembly stack: a fatal error no ``try`` catches, which kills the tab's
Python for good. ``loads`` measures the nesting first, at C speed for ordinary
text, and refuses text deeper than ``max_depth`` with ``JSONTooDeepError`` (a
``ValueError``, like ``json.JSONDecodeError``), before the parser ever sees it.
Every JSON parse in pytabby goes through it; apps that parse frames themselves
should too.

    >>> loads('{"a": [1, 2]}')
    {'a': [1, 2]}
    >>> loads("[" * 100 + "]" * 100)
    Traceback (most recent call last):
    ...
    pytabby._core.safe_json.JSONTooDeepError: JSON nested deeper than 64 levels
"""

from __future__ import annotations

import json
import json.scanner
import re
from typing import Any

from ..errors import PytabbyError

MAX_JSON_DEPTH = 64

# Brackets inside strings do not nest. An unterminated string runs to the end, where the parser
# stops: matched in one pass, not tried again from each quote it holds (quadratic: 40 KB of
# escaped quotes took 9 s in a tab).
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\\?\Z)', re.DOTALL)
# Every bracket becomes a parenthesis, quotes and backslashes stay, all other ASCII goes: one C pass.
_TO_PARENS = str.maketrans({chr(c): None for c in range(128) if chr(c) not in '[]{}"\\'}
                           | {"[": "(", "{": "(", "]": ")", "}": ")"})
_NON_PARENS = re.compile(r"[^()]+")
# json.loads's own C scanner, without its Python wrappers (typeshed types the argument oddly).
_scan = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]


class JSONTooDeepError(PytabbyError, ValueError):
    """JSON text nested deeper than the limit; it was not parsed."""

    def __init__(self, max_depth: int) -> None:
        super().__init__(f"JSON nested deeper than {max_depth} levels")
        self.max_depth = max_depth


def depth_exceeds(text: str, max_depth: int) -> bool:
    """Whether ``text`` opens more than ``max_depth`` arrays/objects at once (strings ignored).

    Every step runs in C: reduce the text to its brackets outside strings, as parentheses, then
    remove every innermost ``()`` once per level (``str.replace`` takes them all in one pass).
    A structure of height h is gone after h passes.
    """
    if text.count("[") + text.count("{") <= max_depth:
        return False  # cannot nest deeper than it has brackets: the common case
    parens = _parens_outside_strings(text)
    for level in range(max_depth + 1):
        reduced = parens.replace("()", "")
        if len(reduced) == len(parens):
            return level + reduced.count("(") > max_depth
        parens = reduced
    return True


def _parens_outside_strings(text: str) -> str:
    if "\\" in text:  # an escaped quote may hide in a string: only the pattern finds where strings end
        return _NON_PARENS.sub("", _STRINGS.sub("", text).translate(_TO_PARENS))
    # No escapes: quotes alternate open/close. Two adjacent ones enclose nothing that counts (an
    # empty string, or only deleted text between two strings), so dropping them keeps the rest
    # alternating; most strings hold no bracket and vanish that way, before the split.
    parens = text.translate(_TO_PARENS).replace('""', "")
    return "".join(parens.split('"')[::2]) if '"' in parens else parens


def loads(text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` that raises ``JSONTooDeepError`` instead of parsing text nested past ``max_depth``."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode()
    if text.count("[") + text.count("{") > max_depth and depth_exceeds(text, max_depth):
        raise JSONTooDeepError(max_depth)
    return loads_checked(text)


def loads_checked(text: str) -> Any:
    """``json.loads`` of text whose nesting the caller already bounded (``depth_exceeds`` or its like)."""
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        end = -1
    if end == len(text):
        return value
    return json.loads(text)  # surrounding whitespace (valid) or invalid text (json's own error)

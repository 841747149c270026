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

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)  # brackets inside strings do not nest
_NON_BRACKETS = re.compile(r"[^\[\]{}]+")
_INNERMOST_PAIR = re.compile(r"[\[{][\]}]")
_STRUCTURE_ONLY = str.maketrans(dict.fromkeys(chr(c) for c in range(128) if chr(c) not in '[]{}"\\'))
# json.loads's own C scanner, without its Python wrappers (typeshed types the argument oddly).
_scan = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]


class JSONTooDeepError(PytabbyError, ValueError):
    """JSON text nested deeper than the limit; it was not parsed."""

    def __init__(self, max_depth: int) -> None:
        super().__init__(f"JSON nested deeper than {max_depth} levels")
        self.max_depth = max_depth


def depth_exceeds(text: str, max_depth: int) -> bool:
    """Whether ``text`` opens more than ``max_depth`` arrays/objects at once (strings ignored).

    Every step runs in C: strip strings and non-brackets, then remove the innermost
    pairs once per level. A structure of height h is gone after h passes.
    """
    if text.count("[") + text.count("{") <= max_depth:
        return False  # cannot nest deeper than it has brackets: the common case
    brackets = _brackets_outside_strings(text)
    for level in range(max_depth + 1):
        reduced = _INNERMOST_PAIR.sub("", brackets)
        if reduced == brackets:
            return level + reduced.count("[") + reduced.count("{") > max_depth
        brackets = reduced
    return True


def _brackets_outside_strings(text: str) -> str:
    if "\\" in text:  # an escaped quote may hide in a string: only the pattern finds where strings end
        return _NON_BRACKETS.sub("", _STRINGS.sub("", text))
    # No escapes: quotes alternate open/close. Dropping the ASCII that neither nests nor quotes
    # first (one translate) leaves a short text to split (3x faster on a 500-message batch).
    return _NON_BRACKETS.sub("", "".join(text.translate(_STRUCTURE_ONLY).split('"')[::2]))


def loads(text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` that raises ``JSONTooDeepError`` instead of parsing text nested past ``max_depth``."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode()
    if text.count("[") + text.count("{") > max_depth and depth_exceeds(text, max_depth):
        raise JSONTooDeepError(max_depth)
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        end = -1
    if end == len(text):
        return value
    return json.loads(text)  # surrounding whitespace (valid) or invalid text (json's own error)

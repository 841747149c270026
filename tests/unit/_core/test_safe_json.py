"""``safe_json``: the depth check never lets deeper text through, and is exact for valid JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytabby._core.safe_json import JSONTooDeepError, depth_exceeds, loads

# Strings full of what could fool a text scanner: brackets, quotes, backslashes, non-ASCII.
_tricky_text = st.text(alphabet='[]{}"\\ a,:é\u2028', max_size=8)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | _tricky_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_tricky_text, inner, max_size=3),
    max_leaves=40,
)


def reference_depth(text: str) -> int:
    """The deepest nesting outside strings, one character at a time (escapes honoured)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(depth - 1, 0)
    return deepest


@settings(max_examples=400, deadline=None)
@given(value=_json_values, limit=st.integers(0, 6), ascii_only=st.booleans())
def test_the_depth_of_valid_json_is_judged_exactly(value: Any, limit: int, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert depth_exceeds(text, limit) is (reference_depth(text) > limit)


@settings(max_examples=400, deadline=None)
@given(text=st.text(alphabet='[]{}"\\ a1,:é', max_size=40), limit=st.integers(0, 6))
def test_no_text_deeper_than_the_limit_passes_even_invalid_json(text: str, limit: int) -> None:
    if reference_depth(text) > limit:
        assert depth_exceeds(text, limit)


def test_brackets_after_an_unterminated_string_do_not_count_and_its_escaped_quotes_are_passed_once() -> None:
    # The parser stops at the unterminated string; 40 KB of escaped quotes after it once made the
    # string pattern start again from each quote (quadratic: 9 s in a tab).
    text = "[" * 3 + '"' + '\\"' * 20_000 + "[" * 70
    assert reference_depth(text) == 3
    assert depth_exceeds(text, 64) is False
    assert depth_exceeds("[" * 65 + '"' + '\\"' * 20_000, 64) is True  # what comes before still counts


def test_loads_parses_at_the_limit_and_refuses_one_level_more() -> None:
    assert loads("[" * 64 + "]" * 64) == json.loads("[" * 64 + "]" * 64)
    with pytest.raises(JSONTooDeepError):
        loads("[" * 65 + "]" * 65)


@pytest.mark.parametrize("text", [' {"a": [1]} ', "[1] x", "", "{", '"\\u12"'])
def test_loads_agrees_with_json_on_whitespace_and_on_errors(text: str) -> None:
    try:
        expected: Any = json.loads(text)
    except ValueError as exc:
        with pytest.raises(ValueError) as refused:
            loads(text)
        assert str(refused.value) == str(exc)
    else:
        assert loads(text) == expected

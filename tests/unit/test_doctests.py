"""The examples in the core modules' docstrings run and hold."""

import doctest

import pytest

from pytabby._core import backoff, buffer, election, envelope, link, link_io, requests, routing, safe_json


CORE = [backoff, buffer, election, envelope, link, link_io, requests, routing, safe_json]


@pytest.mark.parametrize("module", CORE, ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0

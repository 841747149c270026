"""Unit tier: CPython only, on the in-memory fakes of ``pytabby.testing``."""

from __future__ import annotations

import pytest

from pytabby.testing import FakeBrowser


@pytest.fixture
def browser() -> FakeBrowser:
    return FakeBrowser()

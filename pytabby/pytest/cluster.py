"""Helpers over several tabs: who leads, closing the leader, freezing a tab."""

from __future__ import annotations

from typing import Any

from .engines.base import Tab
from .pages import run_py, wait_py


def wait_for_leader(tabs: list[Tab], elector: str, timeout: float = 20.0) -> Tab:
    """Wait until exactly one of ``tabs`` leads and every one of them names it; return that tab.

    ``elector`` is a Python expression, in each tab, for its ``LeaderElector``
    (e.g. ``"leader"`` or ``"sock.elector"``). ``AssertionError`` if two tabs lead.
    """
    ids = [run_py(tab, f"{elector}.tab_id") for tab in tabs]
    # Some tab of the list leads: the others learn it within a message round trip.
    wait_py(tabs[0], f"{elector}.leader_id in {ids!r}", timeout)
    chief_id = run_py(tabs[0], f"{elector}.leader_id")
    for tab in tabs:
        wait_py(tab, f"{elector}.leader_id == {chief_id!r}", timeout)
    leading = [tab for tab in tabs if run_py(tab, f"{elector}.is_leader")]
    if len(leading) != 1:
        raise AssertionError(f"{len(leading)} of {len(tabs)} tabs lead {elector}: {[t.label for t in leading]}")
    return leading[0]


def kill_leader(tabs: list[Tab], elector: str, timeout: float = 20.0) -> tuple[Tab, list[Tab]]:
    """Close the leading tab (as a user closing it); return it and the tabs left."""
    chief = wait_for_leader(tabs, elector, timeout)
    chief.close()
    return chief, [tab for tab in tabs if tab is not chief]


def freeze(tab: Tab) -> Any:
    """Halt ``tab``'s JavaScript with its Web Locks held; ``with freeze(tab):`` or ``.unfreeze()`` resumes.

    Raises ``Unsupported`` (a skip, in a test) where the engine cannot freeze a tab.
    """
    return tab.freeze()

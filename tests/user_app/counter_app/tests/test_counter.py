import pytest

from pytabby.pytest import Tab, TabFactory, wait_for_leader, wait_py


@pytest.mark.parametrize("page", ["/counter.html", "/counter-pyscript.html"])
def test_plus_one_in_any_tab_updates_every_tab(tabs: TabFactory, page: str) -> None:
    counters: list[Tab] = tabs(3, url=page)
    wait_for_leader(counters, "counter.sock.elector")
    counters[1].evaluate("() => document.querySelector('#plus').click()")
    for tab in counters:
        wait_py(tab, "counter.value == 1")

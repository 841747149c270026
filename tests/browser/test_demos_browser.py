"""The demo pages in real tabs: what a visitor sees, and that a page kept in the back/forward cache survives."""

from __future__ import annotations

from pytabby.pytest import Tab, run_py, server_stats, wait_py


def text(page: Tab, selector: str) -> str:
    return str(page.evaluate("(selector) => document.querySelector(selector).textContent", selector))

def test_chat_demo_three_tabs_one_connection_and_text_stays_text(tabs):
    pages = tabs(3, url="/")
    for page in pages:
        page.wait_for("() => document.querySelector('#pytabby-status').className === 'ready'")
    for page in pages:
        page.wait_for("() => document.querySelector('#connections').textContent.startsWith('3 tabs, 1 server')",
                               timeout=30)
        assert text(page, "#socket-state") == "socket open"
    roles = sorted(text(page, "#role") for page in pages)
    assert roles == ["follower", "follower", "leader"]
    attack = "<img src=x onerror=\"window.pwned=1\"> hi"
    pages[1].evaluate("""(attack) => {
        document.querySelector('#message-input').value = attack;
        document.querySelector('#send-btn').click();
    }""", attack)
    for page in pages:
        page.wait_for("() => document.querySelectorAll('#messages li').length >= 1")
        assert text(page, "#messages li").endswith(attack)
        assert page.evaluate("() => [window.pwned, document.querySelectorAll('#messages img').length]") == [None, 0]


def test_dashboard_three_tabs_plot_the_same_ticks_from_one_connection(tabs, pytabby_server):
    pages = tabs(3, url="/dashboard.html")
    for page in pages:
        page.wait_for("() => document.querySelector('#pytabby-status').className === 'ready'")
    for page in pages:  # the test's own recorder beside the demo's plot
        run_py(page, "import json; from dashboard import ticks; seen_ticks = []\n"
                     "ticks.on_message(lambda data: seen_ticks.append(json.loads(data)['seq']))")
    for page in pages:
        wait_py(page, "ticks.state == 'open' and len(seen_ticks) >= 3", timeout=30)
    assert server_stats(pytabby_server)["ticks_connections"] == 1
    first = run_py(pages[0], "seen_ticks[-1]")
    for page in pages:  # every tab gets each tick once, in order, including the latest
        wait_py(page, f"{first} in seen_ticks")
        assert run_py(page, "seen_ticks == sorted(set(seen_ticks))")
        assert page.evaluate("() => document.querySelector('#line').getAttribute('points')").count(",") >= 3


def test_chat_demo_keeps_its_socket_through_a_back_forward_cache_pagehide(tabs):
    """A persisted pagehide (bfcache) must not close the demo: the library steps down and rejoins itself."""
    (page,) = tabs(1, url="/")  # the only chat tab open: it leads
    page.wait_for("() => document.querySelector('#pytabby-status').className === 'ready'")
    wait_py(page, "chat.sock.state == 'open'")
    page.evaluate("() => window.dispatchEvent(new PageTransitionEvent('pagehide', {persisted: true}))")
    assert run_py(page, "(chat.sock.state, chat.presence.closed)") == ["no-leader", False]
    page.evaluate("() => window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))")
    wait_py(page, "chat.sock.is_leader and chat.sock.state == 'open'")
    page.evaluate("() => window.dispatchEvent(new PageTransitionEvent('pagehide', {persisted: false}))")
    assert run_py(page, "(chat.sock.state, chat.presence.closed)") == ["closed", True]

"""LeaderElector in real tabs: real Web Locks, real tab closes, a real debugger freeze."""

from __future__ import annotations

import pytest

from pytabby.pytest import PyError, freeze, run_py, wait_for_leader, wait_py

CHURN = "election"  # the key of CHURN_ROUNDS in conftest.py
FAST_LIVENESS = "heartbeat_interval=0.25, liveness_timeout=1.5"


def start_electors(pages, key, options="", before_start=""):
    for page in pages:
        run_py(page, f"""
from pytabby import create_leader_elector
electors = globals().setdefault("electors", {{}})
events = globals().setdefault("events", {{}})
events[{key!r}] = []
electors[{key!r}] = create_leader_elector({key!r}{", " + options if options else ""})
electors[{key!r}].on_all(lambda ev: events[{key!r}].append([ev.type, ev.leader_id, ev.term]))
{before_start}
electors[{key!r}].start()
""")


def state(page, key):
    return run_py(page, f"e = electors[{key!r}]; [e.is_leader, e.leader_id, e.term, e.tab_id]")


def wait_for_single_leader(pages, key):
    return wait_for_leader(pages, f"electors[{key!r}]")


def open_observer(open_page, channel):
    """A plain JS page that keeps every message on ``channel``, in arrival order, in ``window.heard``."""
    observer = open_page("/raw.html")
    observer.evaluate("""(channel) => {
        window.heard = [];
        new BroadcastChannel(channel).onmessage = (e) => window.heard.push(e.data);
    }""", channel)
    return observer


def test_exactly_one_of_four_tabs_leads(tabs, name):
    pages = tabs(4)
    start_electors(pages, name)
    chief = wait_for_single_leader(pages, name)
    assert run_py(chief, f"events[{name!r}]")[0][0] == "acquire"
    assert run_py(chief, f"await electors[{name!r}].has_leader()") is True


def test_closing_the_leader_hands_over_and_every_follower_gets_change(tabs, name):
    pages = tabs(4)
    start_electors(pages, name)
    chief = wait_for_single_leader(pages, name)
    old_term = state(chief, name)[2]
    rest = [p for p in pages if p is not chief]
    chief.close()
    successor = wait_for_single_leader(rest, name)
    new_id, new_term = state(successor, name)[3], state(successor, name)[2]
    assert new_term > old_term
    for page in rest:
        if page is successor:
            assert run_py(page, f"events[{name!r}][-1]") == ["acquire", new_id, new_term]
        else:
            wait_py(page, f"events[{name!r}][-1] == ['change', {new_id!r}, {new_term}]")


def test_stop_hands_over_and_the_stopped_tab_gets_lose(tabs, name):
    pages = tabs(2)
    start_electors(pages, name)
    chief = wait_for_single_leader(pages, name)
    other = pages[1] if chief is pages[0] else pages[0]
    run_py(chief, f"electors[{name!r}].stop()")
    wait_py(other, f"electors[{name!r}].is_leader")
    assert run_py(chief, f"[electors[{name!r}].is_leader, events[{name!r}][-1][0]]") == [False, "lose"]


def test_a_late_tab_learns_the_leader_at_once(tabs, name):
    pages = tabs(3)
    start_electors(pages[:2], name)
    chief = wait_for_single_leader(pages[:2], name)
    start_electors(pages[2:], name)
    wait_py(pages[2], f"electors[{name!r}].leader_id == {state(chief, name)[3]!r}")
    assert state(pages[2], name)[0] is False


def test_steal_makes_this_tab_lead_and_the_old_leader_loses(tabs, name):
    pages = tabs(3)
    start_electors(pages, name)
    chief = wait_for_single_leader(pages, name)
    thief = next(p for p in pages if p is not chief)
    old_term = state(chief, name)[2]
    run_py(thief, f"electors[{name!r}].steal()")
    wait_py(thief, f"electors[{name!r}].is_leader")
    wait_py(chief, f"['lose', None, {old_term}] in events[{name!r}]")
    assert wait_for_single_leader(pages, name) is thief
    assert state(thief, name)[2] == old_term + 1  # the old leader learned of the steal before any outbidding


def test_a_frozen_leader_is_replaced_and_fenced_when_it_wakes(tabs, name):
    pages = tabs(3)
    start_electors(pages, name, FAST_LIVENESS)
    chief = wait_for_single_leader(pages, name)
    old_term = state(chief, name)[2]
    rest = [p for p in pages if p is not chief]
    with freeze(chief):  # halts its JS with the lock still held
        successor = wait_for_single_leader_among(rest, name)
    new_term = state(successor, name)[2]
    assert new_term > old_term
    wait_py(chief, f"not electors[{name!r}].is_leader and electors[{name!r}].term >= {new_term}")
    assert ["lose", None, old_term] in run_py(chief, f"events[{name!r}]")
    assert wait_for_single_leader(pages, name) is successor


def test_a_leader_whose_python_died_is_replaced_within_the_liveness_timeout(tabs, name):
    """A real fatal error in the leader (a wasm ``abort()``, as a failed C assertion): its JS hook lets go at once.

    Not a deep ``json.loads``: its wasm stack overflow is fatal in Chromium but WebKit's bigger stack parses it.
    """
    pages = tabs(3)
    start_electors(pages, name)  # default liveness_timeout: 5 s
    chief = wait_for_single_leader(pages, name)
    old_term = state(chief, name)[2]
    rest = [p for p in pages if p is not chief]
    for page in rest:
        run_py(page, f"acquired = []; electors[{name!r}].on('acquire', lambda ev: acquired.append(ev.ts))")
    died_at, error = chief.evaluate("""() => {
        try { pyodide.runPython("import faulthandler; faulthandler._sigabrt()"); }
        catch (e) { return [performance.timeOrigin + performance.now(), String(e)]; }
        return [performance.timeOrigin + performance.now(), "no error"];
    }""")
    assert "already fatally failed" in chief.evaluate(
        "() => { try { pyodide.runPython('1'); return 'alive'; } catch (e) { return String(e); } }"), error
    successor = wait_for_single_leader_among(rest, name, timeout=5_000)
    (acquired_s,) = run_py(successor, "acquired")  # LeaderEvent.ts is in seconds
    acquired_at = acquired_s * 1000
    new_id, new_term = state(successor, name)[3], state(successor, name)[2]
    assert new_term > old_term
    for page in rest:
        wait_py(page, f"electors[{name!r}].leader_id == {new_id!r}")
    assert acquired_at - died_at < 5_000
    print(f"\nleader's Pyodide fatally failed; lock handed over, new leader (term {new_term}) after "
          f"{acquired_at - died_at:.1f} ms (liveness timeout 5000 ms); every follower names it")


def test_a_stolen_lock_reaches_on_lost_as_a_lock_error_caused_by_the_js_error(tabs, name):
    holder, thief = tabs(2)
    run_py(holder, f"""
from pytabby._runtime import default_platform
granted, lost = [], []
hold = default_platform().locks.request({name!r}, steal=False, on_granted=lambda: granted.append(1),
                                        on_lost=lost.append)
""")
    wait_py(holder, "granted == [1]")
    thief.evaluate("(n) => { navigator.locks.request(n, {steal: true}, () => new Promise(() => {})); }", name)
    wait_py(holder, "len(lost) == 1")
    assert run_py(holder, "[type(lost[0]).__name__, type(lost[0].__cause__).__name__, 'AbortError' in str(lost[0])]") \
        == ["LockError", "JsException", True]


def wait_for_single_leader_among(pages, key, timeout=15_000):
    for page in pages:
        wait_py(page, f"electors[{key!r}].leader_id is not None and electors[{key!r}].term >= 2", timeout=timeout)
    return wait_for_single_leader(pages, key)


def test_freeze_and_resume_events_abdicate_and_rejoin(tabs, name):
    pages = tabs(2)
    start_electors(pages, name)
    chief = wait_for_single_leader(pages, name)
    other = pages[1] if chief is pages[0] else pages[0]
    chief.evaluate("() => document.dispatchEvent(new Event('freeze'))")
    wait_py(other, f"electors[{name!r}].is_leader")
    assert run_py(chief, f"events[{name!r}][-1][0] in ('lose', 'change')")
    chief.evaluate("() => document.dispatchEvent(new Event('resume'))")
    run_py(other, f"electors[{name!r}].stop()")
    wait_py(chief, f"electors[{name!r}].is_leader")


def test_beforeunload_hands_over_at_once_and_a_page_that_stays_rejoins(tabs, name):
    """A leader hands over at ``beforeunload`` (Firefox's ``pagehide`` comes 8-13 ms later); if
    the page stays (the unload was cancelled), it queues again and leads once the other tab stops."""
    pages = tabs(2)
    start_electors(pages, name, FAST_LIVENESS)
    chief = wait_for_single_leader(pages, name)
    other = pages[1] if chief is pages[0] else pages[0]
    chief.evaluate("() => window.dispatchEvent(new Event('beforeunload'))")
    wait_py(other, f"electors[{name!r}].is_leader")
    successor, term = state(other, name)[3], state(other, name)[2]
    wait_py(chief, f"events[{name!r}][-2:] == [['lose', None, {term - 1}], ['change', {successor!r}, {term}]]")
    run_py(other, f"electors[{name!r}].stop()")
    wait_py(chief, f"electors[{name!r}].is_leader")
    assert run_py(chief, f"events[{name!r}][-1]") == ["acquire", state(chief, name)[3], term + 1]


def test_a_discarded_leader_gives_its_lock_back_before_its_python_handlers_run(tabs, name):
    """At a pagehide that does not persist, the leader lock's promise is resolved in JS before
    Python's handlers run: Chromium runs no microtask (and the release is one) until every pagehide
    listener has returned, so Python's work there held the lock from the next tab."""
    (page,) = tabs(1)
    page.evaluate("""() => {
        window.order = [];
        const withResolvers = Promise.withResolvers;
        window.restoreWithResolvers = () => { Promise.withResolvers = withResolvers; };
        Promise.withResolvers = function () {  // the promise that holds a granted Web Lock
            const made = withResolvers.call(Promise);
            made.promise.then(() => window.order.push("lock given back"));
            return made;
        };
    }""")
    start_electors([page], name, before_start=f"""
import js
electors[{name!r}].on("lose", lambda event: js.window.order.push("lose"))
""")
    wait_py(page, f"electors[{name!r}].is_leader")
    page.evaluate("() => window.restoreWithResolvers()")
    page.evaluate("() => window.dispatchEvent(new PageTransitionEvent('pagehide', {persisted: false}))")
    wait_py(page, f"not electors[{name!r}].started")
    page.wait_for("() => window.order.length === 2")
    assert page.evaluate("() => window.order") == ["lock given back", "lose"]


# Whether the kit's close fires beforeunload, as a user's close does: Marionette's window close
# does; Playwright's page.close() (unless run_before_unload=True) and WebKitWebDriver's do not.
CLOSE_FIRES_BEFOREUNLOAD = {"chromium": False, "firefox": True, "webkit": False}


def test_a_closed_leader_hands_over_before_its_pagehide_where_the_close_fires_beforeunload(
        tabs, open_page, name, pytabby_engine):
    """The closing leader's first pagehide listener posts whether its elector had stepped down by
    then: yes where the close fires beforeunload (it handed over there; Firefox's pagehide comes
    8-13 ms later), no elsewhere (it hands over at that pagehide, Python's handlers after every
    listener). Told inside the closing tab: another tab may hear two tabs' posts in either order
    (Chromium once delivered the successor's acquire ahead of the closing tab's earlier post)."""
    observer = open_observer(open_page, "order-" + name)
    pages = tabs(2)
    for page in pages:
        page.evaluate("""(name) => {
            const order = new BroadcastChannel("order-" + name);
            window.steppedDown = false;
            addEventListener("pagehide", () => order.postMessage(
                window.steppedDown ? "pagehide after handing over" : "pagehide while leading"));
        }""", name)
    start_electors(pages, name, before_start=f"""
import js
electors[{name!r}].on("lose", lambda event: setattr(js.window, "steppedDown", True))
""")
    chief = wait_for_single_leader(pages, name)
    other = pages[1] if chief is pages[0] else pages[0]
    chief.close()
    wait_py(other, f"electors[{name!r}].is_leader")
    observer.wait_for("() => window.heard.length === 1")
    expected = ("pagehide after handing over" if CLOSE_FIRES_BEFOREUNLOAD[pytabby_engine.name]
                else "pagehide while leading")
    assert observer.evaluate("() => window.heard") == [expected]


def test_without_web_locks_start_raises_a_clear_error(tabs, name):
    (page,) = tabs(1)
    page.evaluate("() => Object.defineProperty(navigator, 'locks', {value: undefined, configurable: true})")
    try:
        with pytest.raises(PyError, match="LeaderElectionUnavailable: this browser has no Web Locks API"):
            start_electors([page], name)
        assert run_py(page, f"electors[{name!r}].started") is False
    finally:  # the prototype's getter again: the tab goes back to the pool
        page.evaluate("() => { delete navigator.locks; }")


def test_churn_close_the_leader_and_open_a_tab_every_round_never_two_leaders(tabs, open_page, name, churn_rounds,
                                                                             pytabby_engine):
    """An observer page logs every acquire/lose and each close the test makes; leadership intervals never overlap.

    What orders the log: in Chromium and WebKit the tabs' own stamps (``timeOrigin + now()``, one
    clock for every tab). Not in Firefox, which clamps and jitters each page's clock: two tabs' stamps
    disagreed by ~2 ms. There the order in which the observer received them: a tab's posts and its
    lock calls travel one ordered channel to Firefox's parent process, and a leader posts ``lose``
    before it releases the lock. (Chromium's arrival order is not causal: a ``lose`` arrived 0.3 ms
    after its successor's ``acquire`` while the stamps put it before.)

    A closed leader's own ``lose`` may never arrive: Firefox drops what a closing tab posts late in
    its pagehide (measured: a handler's later BroadcastChannel posts lost in 17 of 20 closes). Nor
    need it come before the next ``acquire``: a discarded page gives its lock back before its
    Python handlers run, and nothing of the page runs in between. A closed leader's leadership
    therefore ends at the test's close call, which must come before the next ``acquire``.
    """
    audit = open_observer(open_page, "audit-" + name)
    pages = tabs(3)
    audited = f"""
import js
from pyodide.ffi import to_js
audit = js.BroadcastChannel.new("audit-{name}")
electors[{name!r}].on_all(lambda ev: audit.postMessage(to_js([ev.type, electors[{name!r}].tab_id, ev.term,
    js.performance.timeOrigin + js.performance.now()])))
"""
    start_electors(pages, name, before_start=audited)
    live = list(pages)
    for _ in range(churn_rounds):
        chief = wait_for_single_leader(live, name)
        (fresh,) = tabs(1)
        start_electors([fresh], name, before_start=audited)
        live.remove(chief)
        audit.evaluate("(tab) => window.heard.push(['close', tab, null, performance.timeOrigin + performance.now()])",
                       state(chief, name)[3])
        chief.close()
        live.append(fresh)
    wait_for_single_leader(live, name)
    log = audit.evaluate("() => window.heard")
    audit.close()
    if pytabby_engine.name != "firefox":
        log.sort(key=lambda entry: entry[3])
    leader, closing, unsaid = None, set(), 0
    for index, (kind, tab, _term, _stamp) in enumerate(log):
        where = f"entry {index}: {log[max(0, index - 6):index + 4]}"
        if kind == "close":
            closing.add(tab)
        elif kind == "acquire":
            if leader is not None:  # only a tab closed before this acquire may end without a lose
                assert leader in closing, f"two leaders at {where}"
                unsaid += 1
            leader = tab
        elif kind == "lose":
            if tab in closing and tab != leader:
                continue  # ended at its close, before the acquire that came first
            assert tab == leader, f"{tab} lost after another tab acquired, at {where}"
            leader = None
    acquires = [entry for entry in log if entry[0] == "acquire"]
    assert len(acquires) == churn_rounds + 1  # the first leader, then one per hand-over
    terms = [entry[2] for entry in acquires]
    assert terms == sorted(terms) and len(set(terms)) == len(terms)
    print(f"\n{churn_rounds} hand-overs, {unsaid} closed leader(s) whose lose came after the next acquire or never")


def test_isolated_tabs_do_not_share_locks_with_the_session_profile(tabs, name):
    shared = tabs(1)
    isolated = tabs(1, isolated=True)
    start_electors(shared + isolated, name)
    for page in shared + isolated:
        wait_py(page, f"electors[{name!r}].is_leader")

"""SharedSocket against faults and foreign code: forged channel messages, a silent server, confirmed sends."""

import asyncio
import json

import pytest

from pytabby import ClosedError, TabBus, create_shared_socket
from pytabby._core.link_io import Heartbeat

from .socket_kit import URL, close_every_socket, inbox, share, tab_of  # noqa: F401 - the fixture is used by name

CHANNEL = "pytabby:socket:chat"


def forge(browser, type_: str, payload, sender: str) -> None:
    """Post a protocol-shaped message on the socket's channel, as other code on the page could."""
    browser.open_tab().post_raw(CHANNEL, {"type": type_, "payload": payload, "tabId": sender, "ts": 1.0, "v": 1})


async def three_open(browser, **options):
    socks = share(browser, 3, **options)
    boxes = [inbox(s) for s in socks]
    await browser.settle()
    assert [s.state for s in socks] == ["open"] * 3
    return socks, boxes


@pytest.mark.parametrize("sender", ["stranger", "leader"])
@pytest.mark.parametrize(("type_", "payload"), [
    ("frame", {"term": 1, "seq": 10**9, "data": "forged"}),  # current term, a wild seq
    ("frame", {"term": 10**15, "seq": 1, "data": "forged"}),  # a far future term
    ("state", {"state": "closed", "term": 10**15, "connection": 1, "seq": 0}),
    ("ack", {"origin": "VICTIM", "id": 1000}),
], ids=["frame-seq-1e9", "frame-term-1e15", "state-closed-term-1e15", "ack-1000-for-a-victim"])
async def test_a_forged_protocol_message_loses_nothing(browser, type_, payload, sender):
    socks, boxes = await three_open(browser)
    victim = socks[2]
    browser.server.relay = True
    victim.send("before")
    await browser.settle()
    payload = json.loads(json.dumps(payload).replace("VICTIM", victim.tab_id))
    forge(browser, type_, payload, socks[0].tab_id if sender == "leader" else "stranger")
    await browser.settle()
    refused_before = victim.refused
    victim.send("after")
    reply = asyncio.ensure_future(victim.request({"op": "echo", "data": 7}))
    browser.server.broadcast("real")
    await browser.settle()
    assert await reply == 7
    assert [x for x in browser.server.received if x in ("before", "after")] == ["before", "after"]
    assert [s.state for s in socks] == ["open"] * 3 and victim.pending == 0
    reply_frame = '{"request_id": "%s-1", "result": 7}' % victim.tab_id
    assert boxes == [["before", "real", "after", reply_frame]] * 3  # nothing forged, nothing missed
    assert victim.refused == refused_before  # the real traffic after it was all accepted


async def test_an_apps_own_frame_and_ack_messages_on_its_bus_pass_untouched(browser):
    tabs = [browser.open_tab() for _ in range(2)]
    buses = [TabBus("app", platform=tab) for tab in tabs]
    everything: list = []
    frames: list = []
    buses[1].subscribe_all(lambda m: everything.append(m.type))
    buses[1].subscribe("frame", lambda m: frames.append(m.payload))
    socks = [create_shared_socket(URL, key="chat", bus=bus, platform=tab) for bus, tab in zip(buses, tabs)]
    try:
        got = inbox(socks[1])
        await browser.settle()
        buses[0].publish("frame", {"term": 1, "seq": 1, "data": "app data"})
        buses[0].publish("ack", {"origin": socks[1].tab_id, "id": 99})
        socks[1].send("through the socket")
        await browser.settle()
        assert frames == [{"term": 1, "seq": 1, "data": "app data"}]
        assert everything == ["frame", "ack"]  # no protocol traffic on the app's bus
        assert got == ["through the socket"] and socks[1].pending == 0
        assert socks[1].bus is buses[1] and socks[1].tab_id == buses[1].tab_id
    finally:
        for sock, bus in zip(socks, buses):
            sock.close()
            bus.close()


async def test_every_use_after_close_raises_closed_error(browser):
    (sock,) = share(browser, 1)
    await browser.settle()
    sock.close()
    for use in (lambda: sock.on_message(print), lambda: sock.on_state(print), sock.stream,
                lambda: sock.send("x"), lambda: sock.send_json({})):
        with pytest.raises(ClosedError):
            use()
    with pytest.raises(ClosedError):
        await sock.request({"op": "echo"})
    with pytest.raises(ClosedError):
        await sock.send_confirmed({"x": 1})
    assert sock.state == "closed"


async def test_a_silent_server_is_noticed_within_the_timeout_and_nothing_is_lost(browser):
    beat = Heartbeat(interval=2.0, timeout=5.0)
    socks, boxes = await three_open(browser, heartbeat=beat)
    await browser.advance(3.0)  # a ping went out and was answered
    assert {s.state for s in socks} == {"open"}
    browser.server.stalled = browser.server.refusing = True  # SIGSTOP: nothing read, nothing accepted
    stalled_at = browser.clock.now_ms()
    socks[1].send("b1")  # written into the stalled socket
    socks[2].send("c1")
    seen_at: dict[str, float] = {}
    for sock in socks:
        sock.on_state(lambda state, tab=sock.tab_id: seen_at.setdefault(tab, browser.clock.now_ms())
                      if state == "reconnecting" else None)
    await browser.advance(beat.timeout + 0.5)
    assert {s.state for s in socks} == {"reconnecting"}
    detection = max(seen_at.values()) - stalled_at
    assert detection <= beat.timeout * 1000 and len(seen_at) == 3
    socks[1].send("b2")  # queued: no socket now
    socks[2].send("c2")
    browser.server.resume()  # SIGCONT: what was written is read now
    browser.server.refusing = False
    await browser.advance(3.0)
    assert {s.state for s in socks} == {"open"}
    received = [x for x in browser.server.received if not x.startswith("{")]
    # b1 and c1 were read late, on resume; no pong proved it before the drop, so they go again:
    # a duplicate, never a loss.
    assert [x for x in received if x.startswith("b")] == ["b1", "b1", "b2"]
    assert [x for x in received if x.startswith("c")] == ["c1", "c1", "c2"]
    assert all(s.pending == 0 for s in socks)
    print(f"\nsilent server: detected in {detection / 1000:.2f}s (timeout {beat.timeout}s), 0 lost")


async def test_confirmed_send_resolves_when_the_server_confirms(browser):
    socks, boxes = await three_open(browser)
    assert await socks[1].send_confirmed({"n": 1}) is None
    frame = json.dumps({"n": 1, "confirm_id": f"{socks[1].tab_id}-c1"})
    assert browser.server.received == [frame]
    await browser.settle()
    assert boxes == [[frame]] * 3  # relayed like any frame; the confirmation itself is not delivered
    assert socks[1].awaiting == 0


async def test_a_confirmed_send_survives_a_leader_kill_and_is_confirmed_by_the_next(browser):
    socks, _ = await three_open(browser)
    browser.server.stalled = True  # written by the first leader, never confirmed
    confirmed = asyncio.ensure_future(socks[2].send_confirmed({"n": 1}))
    await browser.settle()
    assert socks[2].pending == 1 and not confirmed.done()  # written; no pong proves it arrived
    browser.close_tab(tab_of(socks[0], browser), pagehide=False)
    browser.server.resume()
    await browser.advance(6.5)  # the elector notices the dead leader, the next one connects
    assert socks[1].is_leader and socks[1].state == "open"
    await asyncio.wait_for(confirmed, 1)
    ids = [json.loads(x)["confirm_id"] for x in browser.server.received if "confirm_id" in x]
    assert ids == [f"{socks[2].tab_id}-c1"] * 2  # at least once: a duplicate the id lets the server drop


async def test_a_confirmed_send_is_sent_again_after_a_reconnect_and_can_time_out(browser):
    socks, _ = await three_open(browser)
    browser.server.stalled = True
    confirmed = asyncio.ensure_future(socks[1].send_confirmed({"n": 1}))
    timed = asyncio.ensure_future(socks[1].send_confirmed({"n": 2}, timeout=0.5))
    await browser.advance(0.6)
    with pytest.raises(TimeoutError):
        await timed
    browser.server.drop_all()
    browser.server.resume()
    await browser.advance(1.5)
    await asyncio.wait_for(confirmed, 1)
    ids = [json.loads(x)["confirm_id"] for x in browser.server.received if "confirm_id" in x]
    # c2 timed out for its caller, and nothing proved it arrived: it is sent again too.
    assert ids == [f"{socks[1].tab_id}-c1", f"{socks[1].tab_id}-c2", f"{socks[1].tab_id}-c1", f"{socks[1].tab_id}-c2"]
    assert socks[1].awaiting == 0


async def test_a_deep_reply_like_frame_is_data_counted_and_the_request_still_waits(browser):
    socks, boxes = await three_open(browser)
    pending = asyncio.ensure_future(socks[1].request({"op": "delay", "seconds": 2, "data": "late"}))
    await browser.settle()
    deep = '{"note": {"request_id": "x"}, "d": ' + "[" * 7000 + "]" * 7000 + "}"
    browser.server.broadcast(deep)
    await browser.settle()
    assert boxes[1] == [deep] and socks[1].deep_frames == 1 and socks[0].deep_frames == 0
    assert not pending.done()
    await browser.advance(2.1)  # the fake server's delay runs on the browser's clock
    assert await pending == "late"

"""SharedSocket on the fake browser and fake server: one connection, fan-out, nothing lost."""

import asyncio
import json

import pytest

from pytabby import ClosedError, Heartbeat, QueueFullError, RequestError, create_shared_socket

from .socket_kit import close_every_socket, inbox, share, tab_of  # noqa: F401 - the fixture is used by name


async def test_only_the_leader_connects_and_every_tab_sees_open(browser):
    socks = share(browser, 3)
    await browser.settle()
    assert [s.is_leader for s in socks] == [True, False, False]
    assert len(browser.server.connections) == 1
    assert {s.state for s in socks} == {"open"}


async def test_server_frames_reach_every_tab_once_in_order_text_and_binary(browser):
    socks = share(browser, 3)
    boxes = [inbox(s) for s in socks]
    await browser.settle()
    for frame in ["one", b"\x00two", "three"]:
        browser.server.broadcast(frame)
    await browser.settle()
    assert boxes == [["one", b"\x00two", "three"]] * 3


async def test_follower_sends_reach_the_server_in_order_and_are_acked(browser):
    socks = share(browser, 3)
    await browser.settle()
    for n in range(5):
        socks[1].send(f"a{n}")
        socks[2].send(f"b{n}")
    await browser.settle()
    received = browser.server.received
    assert [x for x in received if x.startswith("a")] == [f"a{n}" for n in range(5)]
    assert [x for x in received if x.startswith("b")] == [f"b{n}" for n in range(5)]
    assert socks[1].pending == socks[2].pending == 0


async def test_sends_queue_while_there_is_no_socket_and_flush_on_open(browser):
    browser.server.refusing = True
    socks = share(browser, 2)
    await browser.settle()
    socks[1].send("early")
    socks[0].send_json({"n": 1})
    await browser.settle()
    assert browser.server.received == [] and socks[1].state == "reconnecting"
    browser.server.refusing = False
    await browser.advance(1.1)
    assert sorted(browser.server.received) == sorted(["early", '{"n": 1}'])  # two tabs: no order between them
    assert {s.state for s in socks} == {"open"}


async def test_queue_limit_raises_and_keeps_what_was_queued(browser):
    browser.server.refusing = True
    (sock,) = share(browser, 1, queue_limit=2)
    await browser.settle()
    sock.send("a")
    sock.send("b")
    with pytest.raises(QueueFullError):
        sock.send("c")
    assert sock.pending == 2


async def test_leader_death_loses_no_send_and_the_new_leader_reconnects(browser):
    socks = share(browser, 3)
    await browser.settle()
    leader = socks[0]
    for n in range(10):
        socks[2].send(f"m{n}")
    # The leader dies before it has processed any of them.
    browser.close_tab(tab_of(leader, browser), pagehide=False)
    await browser.settle()
    assert socks[1].is_leader and socks[1].state == "open"
    assert [x for x in browser.server.received] == [f"m{n}" for n in range(10)]
    assert browser.server.peak_connections == 1


async def test_sends_acknowledged_by_the_old_leader_are_not_repeated(browser):
    socks = share(browser, 3)
    await browser.settle()
    socks[2].send("once")
    await browser.settle()
    browser.close_tab(tab_of(socks[0], browser))
    await browser.settle()
    socks[2].send("twice?")
    await browser.settle()
    assert browser.server.received == ["once", "twice?"]


async def test_a_send_still_in_the_closing_leaders_socket_buffer_is_not_acked_and_the_next_leader_sends_it(browser):
    socks = share(browser, 3, heartbeat=None)  # the buffer's proof alone
    await browser.settle()
    browser.server.slow_network = True  # the leader's writes wait in its socket's buffer
    for n in range(5):
        socks[2].send(f"m{n}")
    await browser.settle()
    assert socks[2].pending == 5 and browser.server.received == []  # written, not yet sent: no ack
    browser.close_tab(tab_of(socks[0], browser))  # teardown: its buffer never leaves
    browser.server.slow_network = False
    await browser.settle()
    assert socks[1].is_leader and socks[1].state == "open"
    assert browser.server.received == [f"m{n}" for n in range(5)] and socks[2].pending == 0


async def test_without_a_heartbeat_acks_follow_the_socket_buffer_as_the_network_takes_it(browser):
    socks = share(browser, 2, heartbeat=None)
    await browser.settle()
    browser.server.slow_network = True
    socks[1].send("a")
    await browser.settle()
    assert socks[1].pending == 1
    browser.server.transmit()
    socks[1].send("b")
    await browser.advance(0.1)  # the leader looks again while nothing moves, less and less often
    assert browser.server.received == ["a"] and socks[1].pending == 1  # "a" acked, "b" still buffered
    browser.server.transmit()
    await browser.advance(0.1)
    assert browser.server.received == ["a", "b"] and socks[1].pending == 0


async def test_a_send_that_left_the_closing_leaders_tab_but_not_its_network_is_sent_by_the_next_leader(browser):
    socks = share(browser, 3)
    await browser.settle()
    pings = browser.server.pings
    browser.server.network_behind = True  # bufferedAmount falls, the bytes wait in the network process
    for n in range(5):
        socks[2].send(f"m{n}")
    await browser.settle()
    assert socks[2].pending == 5 and browser.server.received == [] and browser.server.pings == pings
    browser.close_tab(tab_of(socks[0], browser))  # its network never sends them
    browser.server.network_behind = False
    await browser.settle()
    assert socks[1].is_leader and socks[1].state == "open"
    assert browser.server.received == [f"m{n}" for n in range(5)] and socks[2].pending == 0


async def test_a_heartbeat_without_pongs_acks_what_left_the_tab_from_the_first_beat_on(browser):
    unanswered = Heartbeat(interval=1.0, timeout=3.0, ping=lambda n: f"ping {n}", is_pong=lambda data: False)
    browser.server.relay = False  # it neither answers a ping nor sends it back
    socks = share(browser, 2, heartbeat=unanswered)
    await browser.settle()
    socks[1].send("a")
    await browser.advance(0.9)
    assert browser.server.received.count("a") == 1 and socks[1].pending == 1
    await browser.advance(0.2)  # the first beat: the opening ping went unanswered for an interval
    assert socks[1].pending == 0 and socks[1].state == "open"


async def test_a_server_that_sends_every_frame_back_proves_sends_with_the_pings_it_echoes(browser):
    echoed = Heartbeat(interval=1.0, timeout=3.0, ping=lambda n: f"ping {n}", is_pong=lambda data: False)
    socks = share(browser, 2, heartbeat=echoed)  # the relay sends each frame to every client, the sender too
    boxes = [[], []]
    for sock, box in zip(socks, boxes):
        sock.on_message(box.append)
    await browser.settle()
    socks[1].send("a")
    await browser.settle()
    assert socks[1].pending == 0 and boxes == [["a"], ["a"]]  # the echoed pings are not delivered


async def test_sends_written_into_a_socket_the_server_is_closing_go_out_on_the_next_connection(browser):
    socks = share(browser, 2)
    await browser.settle()
    browser.server.close_all(1001, handshake=0.1)  # the browser discards what is sent until the close event
    socks[1].send("lost by the closing socket?")
    await browser.settle()
    assert browser.server.received == [] and socks[1].pending == 1
    await browser.advance(0.1)
    assert socks[1].state == "reconnecting"
    await browser.advance(1.0)
    assert socks[1].state == "open"
    assert browser.server.received == ["lost by the closing socket?"] and socks[1].pending == 0


async def test_a_stopping_leader_closes_its_socket_before_the_next_one_opens(browser):
    socks = share(browser, 2)
    await browser.settle()
    socks[0].close()
    await browser.settle()
    assert socks[1].is_leader and socks[1].state == "open"
    assert browser.server.peak_connections == 1 and len(browser.server.connections) == 1


async def test_server_drop_reconnects_with_backoff_and_states_follow(browser):
    socks = share(browser, 2)
    seen = []
    socks[1].on_state(seen.append)
    await browser.settle()
    browser.server.refusing = True
    browser.server.drop_all()
    await browser.advance(3.5)
    assert socks[1].state == "reconnecting"
    browser.server.refusing = False
    await browser.advance(1.1)
    assert seen[-2:] == ["reconnecting", "open"]
    assert len(browser.server.connections) == 1


async def test_without_reconnect_a_drop_leaves_the_socket_closed(browser):
    socks = share(browser, 2, reconnect=False)
    await browser.settle()
    browser.server.drop_all()
    await browser.settle()
    assert {s.state for s in socks} == {"closed"}


async def test_request_resolves_only_in_the_requesting_tab(browser):
    socks = share(browser, 3)
    boxes = [inbox(s) for s in socks]
    await browser.settle()
    waiting = asyncio.ensure_future(socks[1].request({"op": "ignore"}, timeout=30))
    await browser.settle()
    assert await socks[2].request({"op": "echo", "data": {"x": 1}}) == {"x": 1}
    await browser.settle()
    assert not waiting.done() and socks[1].awaiting == 1  # another tab's reply resolves nothing here
    assert socks[0].awaiting == socks[2].awaiting == 0
    reply = '{"request_id": "%s-1", "result": {"x": 1}}' % socks[2].tab_id
    assert boxes == [[reply]] * 3  # every tab saw the reply as a frame, only one tab was answered
    with pytest.raises(RequestError, match="unknown op"):
        await socks[0].request({"op": "missing"})
    waiting.cancel()
    await browser.settle()
    assert socks[1].awaiting == 0


async def test_request_times_out_and_is_forgotten(browser):
    socks = share(browser, 2)
    await browser.settle()
    pending = asyncio.ensure_future(socks[1].request({"op": "ignore"}, timeout=2.0))
    await browser.advance(2.1)
    with pytest.raises(TimeoutError):
        await pending
    assert socks[1].awaiting == 0


async def test_an_unanswered_request_is_resent_to_a_new_leader_with_the_same_id(browser):
    socks = share(browser, 3)
    await browser.settle()
    browser.server.relay = False
    pending = asyncio.ensure_future(socks[2].request({"op": "ignore"}, timeout=10))
    await browser.settle()
    first = json.loads(browser.server.received[-1])
    browser.close_tab(tab_of(socks[0], browser))
    await browser.settle()
    again = json.loads(browser.server.received[-1])
    assert again == first and len(browser.server.received) == 2
    pending.cancel()


async def test_bad_input_raises_type_error(browser):
    (sock,) = share(browser, 1)
    with pytest.raises(TypeError):
        sock.send(123)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="JSON"):
        sock.send_json({"x": {1, 2}})
    with pytest.raises(TypeError):
        await sock.request(["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        create_shared_socket("http://not-ws", platform=browser.open_tab())
    sock.close()


async def test_a_malformed_server_frame_is_passed_through_as_data(browser):
    socks = share(browser, 2)
    boxes = [inbox(s) for s in socks]
    await browser.settle()
    browser.server.broadcast('{"request_id": ')
    await browser.settle()
    assert boxes == [['{"request_id": ']] * 2


async def test_stream_and_close(browser):
    socks = share(browser, 2)
    await browser.settle()
    stream = socks[1].stream()
    browser.server.broadcast("x")
    await browser.settle()
    socks[1].close()
    assert [item async for item in stream] == ["x"]
    assert socks[1].state == "closed"
    with pytest.raises(ClosedError):
        socks[1].send("late")


async def test_a_frozen_leader_is_replaced_and_closes_its_socket_when_it_wakes(browser):
    socks = share(browser, 2)
    await browser.settle()
    old = tab_of(socks[0], browser)
    browser.freeze(old)
    await browser.advance(6.5)
    assert socks[1].is_leader and socks[1].state == "open"
    browser.unfreeze(old)
    await browser.settle()
    assert not socks[0].is_leader
    assert len(browser.server.connections) == 1

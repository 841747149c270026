import asyncio
import logging

import pytest

from pytabby import BufferOverflowError, ClosedError, Message, TabBus, create_bus
from pytabby.testing import FakeBrowser


def open_buses(cluster, count: int, name: str = "app", **options) -> list[TabBus]:
    return cluster.buses(count, name, **options)


async def test_publish_reaches_every_tab_including_the_sender(cluster, browser):
    buses = open_buses(cluster, 3)
    seen: list[tuple[str, str]] = []
    for bus in buses:
        bus.subscribe("hello", lambda msg, me=bus.tab_id: seen.append((me, msg.payload)))
    buses[0].publish("hello", "hi")
    await browser.settle()
    assert sorted(seen) == sorted((bus.tab_id, "hi") for bus in buses)


async def test_the_sender_never_gets_its_message_inside_publish(cluster, browser):
    (bus,) = open_buses(cluster, 1)
    seen = []
    bus.subscribe("t", seen.append)
    message = bus.publish("t", 1)
    assert seen == []
    await browser.settle()
    assert seen == [message]


async def test_subscribers_only_get_their_type_and_subscribe_all_gets_everything(cluster, browser):
    a, b = open_buses(cluster, 2)
    typed, everything = [], []
    b.subscribe("x", lambda m: typed.append(m.type))
    b.subscribe_all(lambda m: everything.append(m.type))
    a.publish("x")
    a.publish("y")
    await browser.settle()
    assert typed == ["x"] and everything == ["x", "y"]


async def test_unsubscribe_stops_delivery_and_is_idempotent(cluster, browser):
    a, b = open_buses(cluster, 2)
    seen = []
    unsubscribe = b.subscribe("t", seen.append)
    a.publish("t", 1)
    await browser.settle()
    unsubscribe()
    unsubscribe()
    a.publish("t", 2)
    await browser.settle()
    assert [m.payload for m in seen] == [1]


async def test_buses_on_other_channels_do_not_hear_each_other(cluster, browser):
    (a,) = cluster.buses(1, "one")
    (b,) = cluster.buses(1, "two")
    seen = []
    b.subscribe_all(seen.append)
    a.publish("t")
    await browser.settle()
    assert seen == []


async def test_a_raising_handler_is_reported_and_the_others_still_run(cluster, browser):
    a, b = open_buses(cluster, 2)
    reported, seen = [], []
    asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: reported.append(ctx["exception"]))

    def broken(msg):
        raise ValueError("boom")

    async def broken_async(msg):
        raise KeyError("async boom")

    b.subscribe("t", broken)
    b.subscribe("t", broken_async)
    b.subscribe("t", seen.append)
    a.publish("t", 1)
    await browser.settle()
    assert len(seen) == 1
    assert sorted(type(e).__name__ for e in reported) == ["KeyError", "ValueError"]


async def test_async_handlers_run(cluster, browser):
    a, b = open_buses(cluster, 2)
    done = asyncio.Event()

    async def handler(msg):
        await asyncio.sleep(0)
        done.set()

    b.subscribe("t", handler)
    a.publish("t")
    await asyncio.wait_for(done.wait(), 1)


async def test_every_open_stream_gets_every_message(cluster, browser):
    a, b = open_buses(cluster, 2)
    first, second = b.stream(), b.stream()
    for n in range(3):
        a.publish("n", n)
    await browser.settle()
    assert [(await first.get()).payload for _ in range(3)] == [0, 1, 2]
    assert [(await second.get()).payload for _ in range(3)] == [0, 1, 2]


async def test_a_typed_stream_filters(cluster, browser):
    a, b = open_buses(cluster, 2)
    stream = b.stream("keep")
    a.publish("drop", 0)
    a.publish("keep", 1)
    await browser.settle()
    assert (await stream.get()).payload == 1 and len(stream) == 0


@pytest.mark.parametrize(("policy", "kept"), [("oldest", [2, 3, 4]), ("newest", [0, 1, 2])])
async def test_stream_overflow_policies_drop_and_count(cluster, browser, policy, kept):
    a, b = open_buses(cluster, 2, buffer=3, overflow=policy)
    stream = b.stream()
    for n in range(5):
        a.publish("n", n)
    await browser.settle()
    assert [(await stream.get()).payload for _ in range(3)] == kept
    assert stream.dropped == 2


async def test_error_overflow_raises_on_the_next_read(cluster, browser):
    a, b = open_buses(cluster, 2)
    stream = b.stream(buffer=2, overflow="error")
    for n in range(3):
        a.publish("n", n)
    await browser.settle()
    with pytest.raises(BufferOverflowError):
        await stream.get()
    assert (await stream.get()).payload == 0


async def test_closing_the_bus_ends_streams_quietly_after_their_buffer(cluster, browser):
    a, b = open_buses(cluster, 2)
    stream = b.stream()
    a.publish("n", 1)
    await browser.settle()
    b.close()
    assert [m.payload async for m in stream] == [1]


async def test_a_read_cancelled_as_its_message_arrives_loses_nothing(cluster, browser):
    a, b = open_buses(cluster, 2)
    stream = b.stream()
    reader = asyncio.ensure_future(stream.get())
    await browser.settle()
    b.subscribe("n", lambda msg: reader.cancel())  # handlers run just before the stream gets the message
    a.publish("n", 7)
    await browser.settle()
    assert reader.cancelled() and len(stream) == 1
    assert (await stream.get()).payload == 7


async def test_get_times_out_on_the_tab_clock_without_sleeping(cluster, browser):
    (bus,) = open_buses(cluster, 1)
    stream = bus.stream()
    reader = asyncio.ensure_future(stream.get(timeout=2.0))
    await browser.advance(1.9)
    assert not reader.done()
    await browser.advance(0.2)
    with pytest.raises(TimeoutError):
        await reader


async def test_publish_after_close_raises_and_close_is_idempotent(cluster, browser):
    (bus,) = open_buses(cluster, 1)
    bus.close()
    bus.close()
    with pytest.raises(ClosedError):
        bus.publish("t")


async def test_context_managers_close(cluster, browser):
    tab = browser.open_tab()
    with create_bus("a", platform=tab) as bus:
        pass
    assert bus.closed
    async with create_bus("b", platform=tab) as other:
        pass
    assert other.closed


async def test_unsendable_payload_raises_and_sends_nothing(cluster, browser):
    a, b = open_buses(cluster, 2)
    seen = []
    b.subscribe_all(seen.append)
    a.subscribe_all(seen.append)
    from pytabby.bus import BURST_MS

    first = a.publish("t", 0)
    browser.clock.advance(BURST_MS / 1000)
    with pytest.raises(TypeError, match="set cannot be sent"):
        a.publish("t", {"bad": {1}})  # after a pause: it would have left at once
    second = a.publish("t", 1)
    with pytest.raises(TypeError, match="object cannot be sent"):
        a.publish("t", [object()])  # right after another: it would have waited for the turn's end
    await browser.settle()
    assert [m.payload for m in seen] == [0, 0, 1, 1]
    assert second.seq == first.seq + 1 and a.publish("t", 2).seq == second.seq + 1  # refused ones took no number


async def test_malformed_envelopes_are_counted_reported_and_never_delivered(cluster, browser, caplog):
    (bus,) = cluster.buses(1)
    seen, errors = [], []
    bus.subscribe_all(seen.append)
    bus.on_malformed(errors.append)
    other = browser.open_tab()
    with caplog.at_level(logging.WARNING, "pytabby"):
        other.post_raw("app", {"type": 5})
        other.post_raw("app", "hello")
        other.post_raw("app", {"type": "ok", "payload": 1, "tabId": "js", "ts": 1})
        await browser.settle()
    assert [m.payload for m in seen] == [1]
    assert bus.malformed == 2 and len(errors) == 2
    assert "ignored a message" in caplog.text


async def test_a_purrtabby_shaped_message_from_foreign_code_is_delivered(cluster, browser):
    (bus,) = cluster.buses(1)
    seen = []
    bus.subscribe("user-action", seen.append)
    browser.open_tab().post_raw("app", {"type": "user-action", "payload": {"action": "click"}, "tabId": "js-1", "ts": 5})
    await browser.settle()
    assert seen[0].payload == {"action": "click"} and seen[0].tab_id == "js-1"


async def test_an_unclosed_bus_warns_once_nothing_holds_it(cluster, browser):
    import gc

    tab = browser.open_tab()
    bus = create_bus("never-closed", platform=tab)
    browser.close_tab(tab)  # the channel lets go of the bus; only our name holds it now
    gc.collect()  # earlier tests' garbage must not answer for this one
    with pytest.warns(ResourceWarning, match="unclosed <TabBus 'never-closed'"):
        del bus
        gc.collect()


def test_tab_ids_are_unique_and_can_be_given(cluster, browser):
    tabs = cluster.tabs(20)
    generated = [create_bus("a", platform=tab) for tab in tabs] + [create_bus("b", platform=tab) for tab in tabs]
    given = create_bus("a", tab_id="mine", platform=browser.open_tab())
    ids = [bus.tab_id for bus in generated]
    for bus in [*generated, given]:
        bus.close()
    assert len(set(ids)) == 40  # two buses of one tab, or of two tabs: never the same id
    assert given.tab_id == "mine"


async def test_a_turns_first_publish_leaves_at_once_the_rest_in_one_post_and_all_arrive_in_order(cluster, browser):
    a, b = open_buses(cluster, 2)
    seen = []
    b.subscribe_all(lambda m: seen.append(m.payload))
    for n in range(50):
        a.publish("n", n)
    assert browser.posts["app"] == 1  # the first, before the turn ends
    await browser.settle()
    assert browser.posts["app"] == 2
    assert seen == list(range(50))


async def test_a_lone_message_nobody_here_listens_to_leaves_no_callback_behind(cluster, browser, monkeypatch):
    from pytabby.bus import BURST_MS

    tab_a, tab_b = cluster.tabs(2)
    a, b = cluster.bus(tab_a), cluster.bus(tab_b)
    seen, deferred = [], []
    b.subscribe_all(lambda m: seen.append(m.payload))
    defer = tab_a.defer
    monkeypatch.setattr(tab_a, "defer", lambda callback: (deferred.append(callback), defer(callback)))
    a.publish("n", 1)
    assert browser.posts["app"] == 1 and deferred == []
    await browser.settle()
    browser.clock.advance(BURST_MS / 1000)
    a.publish("n", 2)  # a pause since the last: it leaves at once too
    assert browser.posts["app"] == 2 and deferred == []
    a.publish("n", 3)  # no pause: a burst, which waits for the turn's end, with a callback to post it
    assert browser.posts["app"] == 2 and len(deferred) == 1
    await browser.settle()
    assert browser.posts["app"] == 3 and seen == [1, 2, 3]
    a.subscribe_all(print)
    browser.clock.advance(BURST_MS / 1000)
    a.publish("n", 4)  # its own delivery here waits for the turn's end
    assert browser.posts["app"] == 4 and len(deferred) == 2


async def test_a_bus_with_no_handler_or_stream_when_it_publishes_keeps_nothing_back_for_itself(cluster, browser):
    (bus,) = open_buses(cluster, 1)
    bus.publish("t", 1)
    late: list[int] = []
    bus.subscribe_all(lambda m: late.append(m.payload))
    stream = bus.stream()
    await browser.settle()
    bus.publish("t", 2)
    await browser.settle()
    assert late == [2]
    assert (await stream.get(0)).payload == 2 and len(stream) == 0


async def test_without_coalescing_each_publish_is_its_own_post(cluster, browser):
    a, b = open_buses(cluster, 2, coalesce=False)
    for n in range(3):
        a.publish("n", n)
    await browser.settle()
    assert browser.posts["app"] == 3


async def test_a_batch_is_purrtabby_shaped_and_bad_entries_inside_are_reported_alone(cluster, browser):
    (bus,) = open_buses(cluster, 1)
    seen, errors = [], []
    bus.subscribe_all(lambda m: seen.append(m.payload))
    bus.on_malformed(errors.append)
    good = {"type": "t", "payload": 1, "tabId": "js", "ts": 1}
    browser.open_tab().post_raw("app", {"type": "pytabby:batch", "tabId": "js", "ts": 1, "v": 1,
                                        "payload": [good, {"type": 3}, {**good, "payload": 2}]})
    browser.open_tab().post_raw("app", {"type": "pytabby:batch", "tabId": "js", "ts": 1, "v": 1, "payload": "x"})
    await browser.settle()
    assert seen == [1, 2] and len(errors) == 2


async def test_a_burst_leaves_as_json_text_until_a_payload_json_cannot_carry_then_as_objects_in_order(
        cluster, browser):
    import json

    from pytabby.bus import BURST_MS

    a, b = open_buses(cluster, 2)
    wires, seen = [], []
    browser.open_tab().open_channel("app", wires.append, print, print)
    b.subscribe_all(lambda m: seen.append(m.payload))
    bursts = [[0, 1, b"\x02", 3, 2**60, b"\x05"], [10, 11, {"k": [12]}, b"\x0d"]]
    for burst in bursts:
        for payload in burst:
            a.publish("n", payload)
        await browser.settle()
        browser.clock.advance(BURST_MS / 1000)

    def shape(wire):
        if wire["type"] != "pytabby:batch":
            return "lone", wire["payload"]
        if wire.get("enc") == "json":
            return "json", [item["payload"] for item in json.loads(wire["payload"])]
        return "objects", [item["payload"] for item in wire["payload"]]

    assert [shape(wire) for wire in wires] == [
        ("lone", 0), ("lone", 1), ("objects", [b"\x02", 3, 2**60, b"\x05"]),  # a burst of one leaves whole
        ("lone", 10), ("json", [11, {"k": [12]}]), ("objects", [b"\x0d"]),
    ]
    assert seen == bursts[0] + bursts[1]


async def test_a_bursts_payloads_leave_as_they_were_when_published_though_the_app_changes_them_after(cluster, browser):
    # A burst leaves at the turn's end; each of its payloads must leave as it was at its publish, as
    # a lone message's does: as JSON rows, as a burst of one (posted whole), and as objects (bytes).
    a, b = open_buses(cluster, 2)
    seen = []
    b.subscribe_all(lambda m: seen.append(m.payload))
    state = {"n": 0, "log": []}
    for n in range(3):
        state["n"] = n
        state["log"].append(n)
        a.publish("state", state)
    state["n"] = 99
    await browser.settle()
    alone = {"n": 1, "log": [1]}
    a.publish("alone", alone)  # a later turn, the clock still: a burst of one
    alone["log"].append(2)
    await browser.settle()
    blob = {"data": bytearray(b"ab"), "parts": [(1, 2)]}
    a.publish("blob", blob)
    a.publish("blob", blob)
    blob["data"][0] = ord("z")
    blob["parts"].append((3,))
    await browser.settle()
    assert seen == [{"n": 0, "log": [0]}, {"n": 1, "log": [0, 1]}, {"n": 2, "log": [0, 1, 2]}, {"n": 1, "log": [1]},
                    {"data": b"ab", "parts": [[1, 2]]}, {"data": b"ab", "parts": [[1, 2]]}]


async def test_a_burst_is_stamped_in_groups_each_with_its_first_messages_clock_reading(cluster, browser):
    from pytabby.bus import STAMP_GROUP

    a, b = open_buses(cluster, 2)
    received = []
    b.subscribe_all(received.append)
    start, step = browser.clock.now_ms(), 0.1
    published = []
    for n in range(20):
        published.append(a.publish("n", n))
        browser.clock.advance(step / 1000)
    await browser.settle()
    # The first leaves alone after the pause; the second starts the burst, whose groups of
    # STAMP_GROUP messages each carry the reading taken at their first.
    group_starts = [1, 1 + STAMP_GROUP, 1 + 2 * STAMP_GROUP]
    expected = [start] + [start + step * group_starts[(n - 1) // STAMP_GROUP] for n in range(1, 20)]
    assert [m.ts for m in published] == pytest.approx(expected, abs=step / 10)  # the clock sums in floats
    assert [(m.payload, m.ts) for m in received] == [(m.payload, m.ts) for m in published]


async def test_messages_published_just_before_close_still_go_out(cluster, browser):
    a, b = open_buses(cluster, 2)
    seen = []
    b.subscribe_all(seen.append)
    a.publish("last", 1)
    a.close()
    await browser.settle()
    assert [m.type for m in seen] == ["last"]


async def test_a_long_burst_goes_out_in_several_posts_still_in_order(cluster, browser):
    from pytabby.bus import MAX_BATCH

    a, b = open_buses(cluster, 2)
    seen, own = [], []
    b.subscribe_all(lambda m: seen.append(m.payload))
    a.subscribe_all(lambda m: own.append(m.payload))
    for n in range(MAX_BATCH * 2 + 1):
        a.publish("n", n)
    await browser.settle()
    assert browser.posts["app"] == 3
    assert seen == own == list(range(MAX_BATCH * 2 + 1))


@pytest.mark.parametrize("call", [
    lambda bus: bus.subscribe("t", print), lambda bus: bus.subscribe_all(print), lambda bus: bus.on_malformed(print),
    lambda bus: bus.stream(), lambda bus: bus.publish("t", 1),
])
async def test_use_after_close_raises_closed_error(cluster, browser, call):
    (bus,) = cluster.buses(1)
    bus.close()
    with pytest.raises(ClosedError, match="after close"):
        call(bus)


async def test_fields_the_edge_checked_reach_handlers_and_streams_as_a_message_until_close(browser):
    # The browser's JS listener checks a lone envelope's fields and hands them over through
    # open_channel's on_fields; the fake's channel delivers clones, so the callback is called here
    # as that listener calls it.
    tab = browser.open_tab()
    handed = []
    open_channel = tab.open_channel

    def keep_on_fields(name, on_message, on_bad_message, on_fields):
        handed.append(on_fields)
        return open_channel(name, on_message, on_bad_message, on_fields)

    tab.open_channel = keep_on_fields
    bus = TabBus("app", platform=tab)
    seen = []
    bus.subscribe("t", seen.append)
    stream = bus.stream()
    (on_fields,) = handed
    on_fields("t", {"a": [1]}, "tab-js", 2, 3)  # JS hands an integral ts as int
    assert seen == [Message("t", {"a": [1]}, "tab-js", 2.0)]
    assert (type(seen[0].ts), seen[0].seq) == (float, 3)
    assert await stream.get() is seen[0]
    bus.close()
    on_fields("t", 1, "tab-js", 4, 5)  # a message already on its way when the bus closed
    assert len(seen) == 1
    assert [message async for message in stream] == []

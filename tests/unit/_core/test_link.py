"""SocketLink, fed by hand: its moves, its heartbeat, and what it refuses from the channel."""

import itertools
import re

import pytest

from pytabby._core import link as module
from pytabby._core.link import TRANSITIONS, IllegalMove, SocketLink
from pytabby._core.link_io import (
    AckMsg, CheckBuffer, CloseSocket, Connect, Heartbeat, Post, ReadBuffer, RetryAfter, SendMsg, SetState, TickAfter,
    Write,
)
from pytabby._core.requests import answer, parse_request

BEAT = Heartbeat(interval=5.0, timeout=12.0)


def make(tab_id="tab-1", **options) -> SocketLink:
    options.setdefault("backoff", lambda: itertools.repeat(1.0))
    options.setdefault("heartbeat", None)
    return SocketLink(tab_id, **options)


def kinds(effects) -> list[str]:
    return [type(effect).__name__ for effect in effects]


def leading(link: SocketLink, now: float = 0.0):
    """Acquire term 1 and open the first connection; returns it."""
    link.acquired(1)
    connect = [e for e in link.effects() if isinstance(e, Connect)][0]
    link.opened(connect.connection, now)
    link.effects()
    return connect.connection


def posted(effects, type_: str) -> list:
    return [e.payload for e in effects if isinstance(e, Post) and e.type == type_]


def test_a_leader_connects_opens_and_says_so():
    link = make()
    link.acquired(1)
    assert link.effects() == [SetState("connecting"), Post("state", {"state": "connecting", "term": 1,
                                                                     "connection": 0, "seq": 0}),
                              Connect(link.lead.connection)]
    link.opened(link.lead.connection, 0.0)
    assert link.effects() == [SetState("open"), Post("state", {"state": "open", "term": 1, "connection": 1,
                                                               "seq": 0})]
    assert link.role == "open" and link.state == "open"


def test_a_drop_retries_after_the_backoff_and_a_replaced_socket_cannot_act():
    link = make()
    first = leading(link)
    link.closed(first, 1006, now=10.0)
    effects = link.effects()
    assert kinds(effects) == ["SetState", "Post", "RetryAfter"] and effects[-1] == RetryAfter(1.0)
    link.tick(10.5)  # woken early: sleeps again for the rest
    assert link.effects() == [RetryAfter(0.5)]
    link.tick(11.0)
    (connect,) = link.effects()
    assert isinstance(connect, Connect) and connect.connection is not first
    link.opened(first, 11.1)  # the old socket's late events change nothing
    link.server_frame(first, "stale", 11.2)
    link.closed(first, 1000, 11.3)
    assert link.effects() == [] and link.role == "reconnecting"


def test_without_reconnect_a_drop_stops_and_every_tab_shows_closed():
    link = make(reconnect=False)
    connection = leading(link)
    link.closed(connection, 1006, 1.0)
    assert link.role == "stopped" and link.state == "closed"
    assert posted(link.effects(), "state")[0]["state"] == "closed"


def test_acquiring_while_leading_is_illegal_and_changes_nothing():
    link = make()
    leading(link)
    before = (link.role, link.state, link.lead.connection, link.term)
    with pytest.raises(IllegalMove, match="'acquired' is not allowed while 'open'"):
        link.acquired(2)
    assert (link.role, link.state, link.lead.connection, link.term) == before and link.effects() == []


def test_losing_what_a_follower_never_had_is_illegal():
    link = make()
    with pytest.raises(IllegalMove, match="'lost' is not allowed while 'follower'"):
        link.lost()
    assert link.role == "follower" and link.effects() == []


def test_closing_twice_is_illegal_for_the_link():
    link = make()
    link.close()
    assert link.effects() == [SetState("closed")]
    with pytest.raises(IllegalMove):
        link.close()
    assert link.role == "done" and link.effects() == []


def test_losing_leadership_closes_the_socket_before_saying_no_leader():
    link = make()
    connection = leading(link)
    link.lost()
    effects = link.effects()
    assert effects[0] == CloseSocket(connection, 1000, "leader stepped down")
    assert posted(effects, "state")[0]["state"] == "no-leader" and link.state == "no-leader"
    assert link.lead is None and link.role == "follower"


def test_sends_are_written_in_order_and_acked_cumulatively_only_once_they_left_the_socket():
    link = make()
    connection = leading(link)
    for n in (2, 1):  # the bus may reorder: id 2 waits for id 1
        link.bus_message(SendMsg("tab-2", n, 1, f"m{n}"))
    assert link.effects() == [Write(connection, "m1"), Write(connection, "m2"), CheckBuffer(connection, 0.0)]
    link.bus_message(SendMsg("tab-2", 3, 1, "m3"))  # written is not sent: the tab may still lose its buffer
    assert link.effects() == [Write(connection, "m3"), ReadBuffer(connection, 6)]
    link.buffered(connection, 6, written=6)  # read right after m3's write: nothing has left yet
    assert link.effects() == []  # the timer's look is still due
    link.buffered(connection, 4)  # the timer: m2 and m3 (2 bytes each) still buffered
    assert link.effects() == [Post("ack", {"origin": "tab-2", "id": 1}), CheckBuffer(connection, 0.0)]
    link.buffered(connection, 4)  # nothing moved: look again a little later, then later still
    link.buffered(connection, 4)
    assert link.effects() == [CheckBuffer(connection, 0.001), CheckBuffer(connection, 0.002)]
    link.buffered(connection, 0)
    assert link.effects() == [Post("ack", {"origin": "tab-2", "id": 3})]


def test_a_flush_reads_the_buffer_as_of_its_own_writes_and_acks_what_earlier_ones_sent():
    link = make()
    connection = leading(link)
    link.bus_message(SendMsg("tab-2", 1, 1, "aa"))
    link.effects()
    link.bus_message(SendMsg("tab-2", 2, 1, "bbb"))
    assert link.effects() == [Write(connection, "bbb"), ReadBuffer(connection, 5)]
    link.buffered(connection, 3, written=5)  # only "bbb" is still buffered
    assert link.effects() == [Post("ack", {"origin": "tab-2", "id": 1})]  # and the timer still looks for "bbb"
    link.buffered(connection, 0)
    assert link.effects() == [Post("ack", {"origin": "tab-2", "id": 2})]


def test_a_write_is_measured_in_utf8_bytes_as_buffered_amount_counts_them():
    link = make()
    connection = leading(link)
    link.bus_message(SendMsg("tab-2", 1, 1, "é😀"))  # 2 + 4 bytes
    link.bus_message(SendMsg("tab-2", 2, 1, b"\x00\x01"))
    link.effects()
    link.buffered(connection, 2)
    assert posted(link.effects(), "ack") == [{"origin": "tab-2", "id": 1}]
    link.buffered(connection, 1)
    assert posted(link.effects(), "ack") == []


def test_writes_a_closed_connection_had_not_sent_go_out_first_on_the_next_one():
    link = make()
    first = leading(link)
    link.bus_message(SendMsg("tab-2", 1, 1, "a"))
    link.bus_message(SendMsg("tab-2", 2, 1, "b"))
    link.effects()
    link.buffered(first, 1)  # the close: "a" had left, "b" had not (a closing socket discards)
    link.closed(first, 1001, now=1.0)
    assert posted(link.effects(), "ack") == [{"origin": "tab-2", "id": 1}]
    link.bus_message(SendMsg("tab-2", 3, 2, "c"))
    assert [e for e in link.effects() if isinstance(e, Write)] == []  # no socket: it waits
    link.tick(2.0)
    second = [e for e in link.effects() if isinstance(e, Connect)][0].connection
    link.opened(second, 2.0)
    effects = link.effects()
    assert [(e.connection, e.data) for e in effects if isinstance(e, Write)] == [(second, "b"), (second, "c")]
    link.buffered(second, 0)
    assert posted(link.effects(), "ack") == [{"origin": "tab-2", "id": 3}]


def test_a_leader_that_steps_down_never_acks_what_had_not_left_its_socket():
    link = make()
    connection = leading(link)
    link.bus_message(SendMsg("tab-2", 1, 1, "a"))
    link.effects()
    link.lost()
    link.buffered(connection, 0)  # a late look at the old socket changes nothing
    assert posted(link.effects(), "ack") == []
    assert link.lead is None


def pong_to(ping: Write) -> str:
    return answer(parse_request(ping.data)).text


def opening_with_a_ping(link: SocketLink):
    """Acquire term 1 and open the first connection at 0 s; returns it and the ping it opened with."""
    link.acquired(1)
    connection = link.lead.connection
    link.effects()
    link.opened(connection, 0.0)
    (ping,) = [e for e in link.effects() if isinstance(e, Write)]
    return connection, ping


def test_with_a_heartbeat_a_send_is_acked_by_the_pong_to_a_ping_written_after_it():
    link = make(heartbeat=BEAT)
    connection, opening_ping = opening_with_a_ping(link)  # does this server answer pings?
    link.server_frame(connection, pong_to(opening_ping), 0.01)
    assert link.effects() == []
    link.bus_message(SendMsg("tab-2", 1, 1, "m1"))
    m1, ping = link.effects()
    assert m1 == Write(connection, "m1") and parse_request(ping.data).op == "echo"
    link.buffered(connection, 0)  # it left the tab: no proof that it arrived
    link.bus_message(SendMsg("tab-2", 2, 1, "m2"))  # a ping is out: m2 waits for the next one
    assert link.effects() == [Write(connection, "m2")]
    link.server_frame(connection, pong_to(ping), 0.1)
    ack, next_ping = link.effects()
    assert ack == Post("ack", {"origin": "tab-2", "id": 1}) and isinstance(next_ping, Write)
    assert parse_request(next_ping.data).request_id != parse_request(ping.data).request_id
    link.server_frame(connection, pong_to(next_ping), 0.2)
    assert link.effects() == [Post("ack", {"origin": "tab-2", "id": 2})]


def test_a_ping_an_echo_server_sends_back_is_its_pong_and_is_not_delivered():
    link = make(heartbeat=BEAT)
    connection, opening_ping = opening_with_a_ping(link)
    link.server_frame(connection, opening_ping.data, 0.01)
    assert link.effects() == []
    link.bus_message(SendMsg("tab-2", 1, 1, "m1"))
    _, ping = link.effects()
    link.server_frame(connection, ping.data, 0.02)
    assert link.effects() == [Post("ack", {"origin": "tab-2", "id": 1})]


def test_another_tabs_ping_a_relay_sends_on_proves_nothing_and_is_delivered():
    link, other = make("tab-1", heartbeat=BEAT), make("tab-9", heartbeat=BEAT)
    connection, own_ping = opening_with_a_ping(link)
    _, their_ping = opening_with_a_ping(other)
    assert their_ping.data != own_ping.data  # each tab numbers its pings from a start of its own
    link.bus_message(SendMsg("tab-2", 1, 1, "m1"))
    link.effects()
    link.server_frame(connection, their_ping.data, 0.01)
    assert link.effects() == [Post("frame", {"term": 1, "seq": 1, "data": their_ping.data})]


def test_a_server_that_has_not_answered_the_opening_ping_by_the_first_beat_gets_acks_once_sends_leave_the_tab():
    link = make(heartbeat=BEAT)
    connection, opening_ping = opening_with_a_ping(link)
    link.bus_message(SendMsg("tab-2", 1, 1, "m1"))
    assert link.effects() == [Write(connection, "m1")]  # the opening ping is still out
    link.buffered(connection, 0)
    assert link.effects() == []  # left the tab: no proof while the server may yet answer
    link.server_frame(connection, "news", 4.0)  # alive, and answering no ping
    link.effects()
    link.tick(5.0)
    assert kinds(link.effects()) == ["CheckBuffer", "Write", "TickAfter"]
    link.buffered(connection, 0)
    assert link.effects() == [Post("ack", {"origin": "tab-2", "id": 1})]
    link.server_frame(connection, pong_to(opening_ping), 5.1)  # late: not in step with the pings any more
    link.bus_message(SendMsg("tab-2", 2, 1, "m2"))
    assert link.effects() == [Write(connection, "m2"), CheckBuffer(connection, 0.0)]


def test_a_follower_forgets_a_send_only_when_the_leader_acks_it():
    link = make("tab-2")
    link.leader_changed("tab-1", 1)
    link.send("a")
    link.send("b")
    link.bus_message(AckMsg("tab-1", "tab-2", 1))
    assert [p.data for p in link.outbox.pending()] == ["b"]


def test_a_new_leader_gets_the_whole_outbox_again_and_is_asked_for_its_state():
    link = make("tab-2")
    link.leader_changed("tab-1", 1)
    link.send("a")
    link.send("b")
    link.effects()
    link.leader_changed("tab-3", 2)
    effects = link.effects()
    assert effects[0] == Post("hello", None)
    assert posted(effects, "send") == [{"id": 1, "first": 1, "data": "a"}, {"id": 2, "first": 1, "data": "b"}]


def test_the_heartbeat_pings_at_its_interval_and_any_frame_counts_as_life():
    link = make(heartbeat=BEAT)
    link.acquired(1)
    connection = link.lead.connection
    link.opened(connection, 0.0)
    assert TickAfter(5.0) in link.effects()
    link.tick(5.0)
    ping, tick = link.effects()
    assert isinstance(ping, Write) and parse_request(ping.data).op == "echo" and tick == TickAfter(5.0)
    link.server_frame(connection, "news", 9.0)  # not a pong, but the connection lives
    link.tick(10.0)
    assert kinds(link.effects()) == ["Post", "Write", "TickAfter"]
    link.tick(20.9)
    assert link.role == "open"  # heard at 9.0: silent only from 21.0
    link.effects()
    link.tick(21.0)
    effects = link.effects()
    assert effects[0] == CloseSocket(connection, 4000, "no frame within the heartbeat timeout")
    assert link.role == "reconnecting" and effects[-1] == RetryAfter(1.0)


def leading_with_first_ping_answered() -> SocketLink:
    """A leader whose socket opened at 0 s and whose first ping (5 s) was answered at 5.1 s; effects not drained."""
    link = make(heartbeat=BEAT)
    link.acquired(1)
    connection = link.lead.connection
    link.opened(connection, 0.0)
    link.tick(5.0)
    ping = [e for e in link.effects() if isinstance(e, Write)][0]
    link.server_frame(connection, answer(parse_request(ping.data)).text, 5.1)
    return link


def test_a_late_tick_of_a_throttled_tab_is_no_reason_to_drop_a_quiet_live_server():
    link = leading_with_first_ping_answered()
    link.tick(65.0)  # the next timer fired a minute late: the server was quiet, not dead
    assert link.role == "open" and kinds(link.effects()) == ["Write", "TickAfter"]
    link.tick(125.0)  # that ping was never answered: now it is dead
    assert link.role == "reconnecting"
    assert isinstance(link.effects()[0], CloseSocket)


def test_a_pong_keeps_the_connection_alive_and_is_not_delivered():
    link = leading_with_first_ping_answered()
    assert posted(link.effects(), "frame") == []
    link.tick(12.0)
    assert link.role == "open"


def test_the_table_in_the_theory_of_operation_is_the_one_the_code_follows():
    documented: dict[str, dict[str, str]] = {role: {} for role in TRANSITIONS}
    table = module.__doc__.split("any other\nmove raises")[1].split(">>>")[0]
    role = None
    for line in table.splitlines():
        words = line.split()
        if "->" not in line:
            continue
        roles = [r for r in TRANSITIONS if r not in ("follower", "done")] if words[0] == "(each" else None
        role = words[0] if words[0] in documented else role
        for inputs, target in re.findall(r"([a-z_]+(?:, [a-z_]+)*) -> ([a-z]+)", line):
            for move in inputs.split(", "):
                for each in roles or [role]:
                    documented[each][move] = target
    assert documented == TRANSITIONS

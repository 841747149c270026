"""SocketLink on the channel: what it accepts from other tabs, how answers resolve and go again."""

import json

from pytabby._core.link_io import AckMsg, Answered, Deliver, FrameMsg, HelloMsg, StateMsg
from pytabby._core.requests import Reply, answer, confirmation, parse_request
from pytabby._core.routing import MAX_SEQ_JUMP

from pytabby._core.link import SocketLink

from .test_link import leading, make, posted


def follower(seq: int = 0) -> SocketLink:
    link = make("tab-2")
    link.leader_changed("tab-1", 3)
    link.bus_message(StateMsg("tab-1", "open", 3, 1, seq))
    link.effects()
    return link


def frame(seq: int, data="x", sender="tab-1", term=3) -> FrameMsg:
    return FrameMsg(sender, term, seq, data)


def test_frames_are_delivered_only_from_the_known_leader_in_its_term():
    link = follower()
    link.bus_message(frame(1, "real"))
    link.bus_message(frame(2, "forged", sender="tab-9"))
    link.bus_message(frame(2, "old term", term=2))
    link.bus_message(frame(2, "future term", term=10**15))
    link.bus_message(frame(2, "real 2"))
    assert [e.data for e in link.effects() if isinstance(e, Deliver)] == ["real", "real 2"]
    assert link.refused + link.order.refused == 3


def test_frames_keep_flowing_when_the_elector_moves_the_leaders_term_up_under_it():
    link = follower()
    link.bus_message(frame(1, "a"))
    link.leader_changed("tab-1", 4)  # same leader, a higher term (its elector fenced off a rival)
    link.bus_message(frame(2, "b"))  # its frames still carry the term it acquired with
    link.bus_message(frame(1, "c", term=4))  # and once it numbers by the new term, older ones are stale
    link.bus_message(frame(3, "stale", term=3))
    assert [e.data for e in link.effects() if isinstance(e, Deliver)] == ["a", "b", "c"]


def test_a_wild_seq_jump_is_refused_and_the_real_frames_go_on():
    link = follower()
    link.bus_message(frame(1))
    link.bus_message(frame(10**9, "forged"))
    link.bus_message(frame(2 + MAX_SEQ_JUMP, "too far"))
    link.bus_message(frame(2, "next"))
    assert [e.data for e in link.effects() if isinstance(e, Deliver)] == ["x", "next"]


def test_acks_count_only_from_the_leader_and_never_past_what_was_sent():
    link = follower()
    link.send("a")
    link.send("b")
    link.bus_message(AckMsg("tab-9", "tab-2", 1000))  # a stranger
    link.bus_message(AckMsg("tab-1", "tab-2", 1000))  # the leader's name, but ids never sent
    assert link.outbox.last_id == 2 and len(link.outbox) == 2 and link.refused == 2


def test_state_counts_only_from_the_leader():
    link = follower()
    link.bus_message(StateMsg("tab-9", "closed", 3, 1, 0))
    link.bus_message(StateMsg("tab-1", "closed", 10**15, 1, 0))
    assert link.state == "open" and link.refused == 2


def test_a_leader_answers_hello_from_another_tab_with_its_state():
    link = make()
    leading(link)
    link.bus_message(HelloMsg("tab-1"))
    assert link.effects() == []
    link.bus_message(HelloMsg("tab-2"))
    assert posted(link.effects(), "state") == [{"state": "open", "term": 1, "connection": 1, "seq": 0}]


def test_a_reply_resolves_its_request_and_is_delivered_as_a_frame_too():
    link = follower()
    rid = link.awaiting.new_request_id()
    link.send(json.dumps({"op": "echo", "data": 1, "request_id": rid}), rid)
    reply = answer(parse_request(json.dumps({"op": "echo", "data": 1, "request_id": rid}))).text
    link.bus_message(frame(1, reply))
    assert link.effects()[-2:] == [Answered(rid, Reply(rid, 1, None, False)), Deliver(reply)]
    assert len(link.awaiting) == 0


def test_a_confirmation_resolves_and_is_never_delivered():
    link = follower()
    cid = link.awaiting.new_confirm_id()
    link.send(json.dumps({"confirm_id": cid}), cid)
    link.effects()
    link.bus_message(frame(1, confirmation(cid)))
    link.bus_message(frame(2, confirmation("another-tab-c1")))
    assert link.effects() == [Answered(cid, None)]


def test_a_deep_reply_like_frame_is_delivered_as_data_and_counted():
    link = follower()
    rid = link.awaiting.new_request_id()
    link.send(json.dumps({"request_id": rid}), rid)
    link.effects()
    deep = '{"note": {"request_id": "x"}, "d": ' + "[" * 7000 + "]" * 7000 + "}"
    link.bus_message(frame(1, deep))
    assert link.effects() == [Deliver(deep)] and link.deep_frames == 1 and len(link.awaiting) == 1


def test_an_unanswered_request_goes_again_with_its_id_when_a_new_connection_opens():
    link = follower()
    rid = link.awaiting.new_request_id()
    text = json.dumps({"op": "ignore", "request_id": rid})
    link.send(text, rid)
    link.bus_message(AckMsg("tab-1", "tab-2", 1))  # written on connection 1
    link.effects()
    link.bus_message(StateMsg("tab-1", "reconnecting", 3, 1, 0))
    assert posted(link.effects(), "send") == []
    link.bus_message(StateMsg("tab-1", "open", 3, 2, 0))
    assert posted(link.effects(), "send") == [{"id": 2, "first": 2, "data": text}]

"""The hub: relay, requests, delays, confirmations, /stats, limits, the tick stream."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from pytabby._core.requests import MAX_DELAY
from pytabby.server.client import frame_cost
from pytabby.server.hub import FrameLog

from .conftest import TOKEN, serving

STATS_KEYS = {"connections", "peak_connections", "frames_received", "frames_sent", "ticks_connections"}


async def stats(session: aiohttp.ClientSession, base: str) -> dict:
    async with session.get(f"{base}/stats") as response:
        return await response.json()


async def request(ws: aiohttp.ClientWebSocketResponse, **fields: object) -> dict:
    await ws.send_str(json.dumps(fields))
    return json.loads((await ws.receive(timeout=5)).data)


async def test_frames_are_relayed_to_every_client_sender_included_text_and_binary(app_folder):
    async with serving(app_folder) as base, aiohttp.ClientSession() as session:
        a = await session.ws_connect(f"{base}/ws")
        b = await session.ws_connect(f"{base}/ws")
        await a.send_str("hello")
        await a.send_bytes(b"\x00\x01")
        for client in (a, b):
            text = await client.receive(timeout=5)
            binary = await client.receive(timeout=5)
            assert (text.type, text.data) == (aiohttp.WSMsgType.TEXT, "hello")
            assert (binary.type, binary.data) == (aiohttp.WSMsgType.BINARY, b"\x00\x01")


async def test_requests_are_answered_on_their_connection_only(app_folder):
    async with serving(app_folder) as base, aiohttp.ClientSession() as session:
        a = await session.ws_connect(f"{base}/ws")
        b = await session.ws_connect(f"{base}/ws")
        assert await request(a, request_id="r1", op="echo", data=[1, "x"]) == {"request_id": "r1", "result": [1, "x"]}
        assert await request(a, request_id="r2", op="nope") == {
            "request_id": "r2", "error": "unknown op 'nope' (known: echo, delay, ignore)"}
        await a.send_str(json.dumps({"request_id": "r3", "op": "ignore"}))
        assert await request(a, request_id="r4", op="echo", data=4) == {"request_id": "r4", "result": 4}
        with pytest.raises(asyncio.TimeoutError):
            await b.receive(timeout=0.3)


@pytest.mark.parametrize("seconds", ["soon", 1e308, -1, None, True, [1]])
async def test_a_bad_delay_gets_an_error_reply_and_the_connection_stays_open(app_folder, seconds):
    async with serving(app_folder) as base, aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"{base}/ws")
        reply = await request(ws, request_id="d", op="delay", seconds=seconds, data="x")
        assert reply == {"request_id": "d", "error": f"delay needs 'seconds': a number from 0 to {MAX_DELAY:g}"}
        assert await request(ws, request_id="e", op="echo", data=1) == {"request_id": "e", "result": 1}


async def test_a_nan_delay_is_refused_too(app_folder):
    async with serving(app_folder) as base, aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"{base}/ws")
        await ws.send_str('{"request_id": "n", "op": "delay", "seconds": NaN}')
        assert json.loads((await ws.receive(timeout=5)).data) == {
            "request_id": "n", "error": f"delay needs 'seconds': a number from 0 to {MAX_DELAY:g}"}


async def test_a_pending_delay_holds_up_neither_its_own_connection_nor_others(app_folder):
    async with serving(app_folder) as base, aiohttp.ClientSession() as session:
        a = await session.ws_connect(f"{base}/ws")
        b = await session.ws_connect(f"{base}/ws")
        await a.send_str(json.dumps({"request_id": "slow", "op": "delay", "seconds": 1.0, "data": "late"}))
        await a.send_str("plain")
        assert (await b.receive(timeout=5)).data == "plain"
        assert (await a.receive(timeout=5)).data == "plain"  # before the delayed reply
        assert json.loads((await a.receive(timeout=5)).data) == {"request_id": "slow", "result": "late"}


async def test_a_client_leaving_cancels_its_pending_delays(app_folder):
    async with serving(app_folder) as base, aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"{base}/ws")
        for n in range(5):
            await ws.send_str(json.dumps({"request_id": str(n), "op": "delay", "seconds": MAX_DELAY}))
        assert await request(ws, request_id="e", op="echo") == {"request_id": "e", "result": None}
        assert (await stats(session, base))["pending_delays"] == 5
        await ws.close()
        while (now := await stats(session, base))["connections"]:
            await asyncio.sleep(0.01)
        assert now["pending_delays"] == 0


async def test_too_many_pending_delays_on_one_connection_get_an_error(app_folder):
    from pytabby.server.client import MAX_PENDING_REPLIES

    async with serving(app_folder) as base, aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"{base}/ws")
        for n in range(MAX_PENDING_REPLIES):
            await ws.send_str(json.dumps({"request_id": str(n), "op": "delay", "seconds": MAX_DELAY}))
        assert await request(ws, request_id="over", op="delay", seconds=1) == {
            "request_id": "over", "error": "too many delayed requests pending on this connection"}


async def test_a_confirmed_frame_is_relayed_then_confirmed_to_its_sender_only(app_folder):
    async with serving(app_folder) as base, aiohttp.ClientSession() as session:
        a = await session.ws_connect(f"{base}/ws")
        b = await session.ws_connect(f"{base}/ws")
        frame = json.dumps({"confirm_id": "c1", "text": "hi"})
        await a.send_str(frame)
        assert (await b.receive(timeout=5)).data == frame
        assert (await a.receive(timeout=5)).data == frame
        assert json.loads((await a.receive(timeout=5)).data) == {"confirmed": "c1"}
        with pytest.raises(asyncio.TimeoutError):
            await b.receive(timeout=0.3)


async def test_stats_count_connections_peak_and_frames(app_folder):
    async with serving(app_folder) as base, aiohttp.ClientSession() as session:
        clients = [await session.ws_connect(f"{base}/ws") for _ in range(3)]
        during = await stats(session, base)
        await clients[0].send_str("x")
        for client in clients:
            await client.receive(timeout=5)
        for client in clients:
            await client.close()
        while (after := await stats(session, base))["connections"]:
            await asyncio.sleep(0.01)
        assert STATS_KEYS <= set(during)
        assert during["connections"] == 3
        assert (after["peak_connections"], after["frames_received"], after["frames_sent"]) == (3, 1, 3)


async def test_past_the_connection_limit_a_handshake_gets_503(app_folder):
    async with serving(app_folder, max_connections=2) as base, aiohttp.ClientSession() as session:
        first = await session.ws_connect(f"{base}/ws")
        ticks = await session.ws_connect(f"{base}/ws/ticks")
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(f"{base}/ws")
        assert refused.value.status == 503
        await first.close()
        while (await stats(session, base))["connections"]:
            await asyncio.sleep(0.01)
        again = await session.ws_connect(f"{base}/ws")  # a freed slot is usable again
        assert not ticks.closed
        await again.close()
        await ticks.close()


async def test_a_client_that_falls_behind_its_queue_bound_is_closed_with_1013(app_folder):
    async with serving(app_folder, send_queue_bytes=256 << 10) as base, aiohttp.ClientSession() as session:
        slow = await session.ws_connect(f"{base}/ws")  # never read until the end: its socket buffers fill up
        fast = await session.ws_connect(f"{base}/ws")
        received = 0

        async def read_fast() -> None:
            nonlocal received
            while (await fast.receive(timeout=5)).type == aiohttp.WSMsgType.BINARY:
                received += 1

        reader = asyncio.create_task(read_fast())
        while (await stats(session, base))["overflow_closes"] == 0:
            await fast.send_bytes(b"x" * 60_000)
        sent = (await stats(session, base))["frames_received"]
        while received < sent:
            await asyncio.sleep(0.01)
        while (message := await slow.receive(timeout=5)).type == aiohttp.WSMsgType.BINARY:
            pass
        assert (message.type, message.data) == (aiohttp.WSMsgType.CLOSE, 1013)
        assert not fast.closed
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await fast.close()
        await slow.close()  # releases its connection (the server's close frame alone does not)


async def test_the_ticks_hub_pushes_numbered_ticks_to_its_clients(app_folder):
    async with serving(app_folder) as base, aiohttp.ClientSession() as session:
        client = await session.ws_connect(f"{base}/ws/ticks")
        first = json.loads((await client.receive(timeout=5)).data)
        second = json.loads((await client.receive(timeout=5)).data)
        assert first["type"] == second["type"] == "tick" and second["seq"] == first["seq"] + 1
        assert 0 <= first["value"] <= 100
        assert (await stats(session, base))["ticks_connections"] == 1


def test_the_frame_log_keeps_the_newest_frames_within_its_byte_bound():
    frames = [f"frame {n:03} " + "x" * 100 for n in range(100)]
    fit = 1000 // frame_cost(frames[0])
    log = FrameLog(max_bytes=1000)
    for frame in frames:
        log.append(frame)
    assert list(log.frames) == frames[-fit:] and log.size == fit * frame_cost(frames[0]) <= 1000
    log.append("y" * 2000)  # larger than the whole bound: counted as dropped, never kept
    assert list(log.frames) == frames[-fit:] and log.dropped == 100 - fit + 1


async def test_the_frame_log_exists_only_with_a_control_token(app_folder):
    async with serving(app_folder) as base, aiohttp.ClientSession() as session:
        async with session.get(f"{base}/control/frames") as response:
            assert response.status == 404
    async with serving(app_folder, control_token=TOKEN) as base, aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"{base}/ws")
        await ws.send_str("logged")
        await ws.receive(timeout=5)
        async with session.get(f"{base}/control/frames", headers={"X-Pytabby-Token": TOKEN}) as response:
            assert await response.json() == ["logged"]

"""Clients that hurt the hub: one that never reads, floods, delay abuse, huge frames, silent peers."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

from pytabby._core.requests import MAX_DELAY

from . import rawws

pytestmark = pytest.mark.faults

FRAMES = 50_000
FRAME_BYTES = 1000
WINDOW = 1000  # the sender keeps at most this many frames in flight, as a well-behaved app would


async def stats(session: aiohttp.ClientSession, url: str) -> dict:
    async with session.get(f"{url}/stats") as response:
        return await response.json()


def test_a_client_that_never_reads_stalls_no_one_and_is_closed_with_1013(server_process, figures):
    server = server_process()

    async def scenario() -> None:
        async with rawws.upgraded(server.port) as (status, slow):  # reads nothing until it is closed
            assert status == 101
            async with aiohttp.ClientSession() as session:
                sender = await session.ws_connect(f"{server.url}/ws", max_msg_size=0)
                reader = await session.ws_connect(f"{server.url}/ws", max_msg_size=0)
                got: list[int] = []
                gaps = [0.0]
                slow_close: dict[str, float] = {}

                async def read() -> None:
                    last = time.monotonic()
                    while len(got) < FRAMES:
                        message = await reader.receive()
                        now = time.monotonic()
                        gaps.append(now - last)
                        last = now
                        got.append(int(message.data[:8]))

                async def drain_own_echoes() -> None:
                    for _ in range(FRAMES):
                        await sender.receive()

                async def watch_slow() -> None:
                    while (await stats(session, server.url))["overflow_closes"] == 0:
                        await asyncio.sleep(0.05)
                    slow_close["sent"] = len(got)
                    while (frame := await rawws.read_frame(slow))[0] != rawws.CLOSE:
                        pass
                    slow_close["code"] = rawws.close_code(frame[1])

                tasks = [asyncio.create_task(work()) for work in (read, drain_own_echoes, watch_slow)]
                started = time.monotonic()
                for n in range(FRAMES):
                    while n - len(got) >= WINDOW:
                        await asyncio.sleep(0.001)
                    await sender.send_str(f"{n:08}" + "x" * (FRAME_BYTES - 8))
                await asyncio.wait_for(asyncio.gather(*tasks), 60)
                elapsed = time.monotonic() - started
            figures(frames=len(got), lost=FRAMES - len(set(got)), duplicates=len(got) - len(set(got)),
                    max_stall=f"{max(gaps):.3f}s", elapsed=f"{elapsed:.2f}s",
                    slow_closed_with=slow_close["code"], slow_closed_after_frames=slow_close["sent"])
            assert got == list(range(FRAMES))
            assert slow_close["code"] == 1013
            assert max(gaps) < 2.0  # before: the reader stalled at frame 296 until the slow client left

    asyncio.run(scenario())


def test_a_connection_flood_past_the_limit_gets_503_and_memory_stays_bounded(server_process, figures):
    limit, extra = 200, 300
    server = server_process("--max-connections", str(limit))

    async def scenario() -> None:
        baseline = server.rss_kib()
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            accepted = await asyncio.gather(*(session.ws_connect(f"{server.url}/ws") for _ in range(limit)))
            at_limit = server.rss_kib()
            refused = await asyncio.gather(*(session.ws_connect(f"{server.url}/ws") for _ in range(extra)),
                                           return_exceptions=True)
            after_flood = server.rss_kib()
            counted = await stats(session, server.url)
            await asyncio.gather(*(ws.close() for ws in accepted))
            while (await stats(session, server.url))["connections"]:
                await asyncio.sleep(0.02)
        statuses = sorted({getattr(error, "status", repr(error)) for error in refused})
        per_connection = (at_limit - baseline) / limit
        figures(accepted=len(accepted), refused_503=counted["refused"], statuses=statuses,
                rss_baseline=f"{baseline // 1024}MiB", rss_at_limit=f"{at_limit // 1024}MiB",
                rss_after_flood=f"{after_flood // 1024}MiB", per_connection=f"{per_connection:.0f}KiB")
        assert statuses == [503] and counted["refused"] == extra and counted["connections"] == limit
        assert after_flood - at_limit < 8 * 1024  # refused handshakes cost (next to) nothing
        assert per_connection < 200

    asyncio.run(scenario())


def test_delay_abuse_gets_error_replies_and_leaks_no_connection(server_process, figures):
    server = server_process()
    clients = 200

    async def abuse(session: aiohttp.ClientSession) -> tuple[aiohttp.ClientWebSocketResponse, list[dict]]:
        ws = await session.ws_connect(f"{server.url}/ws")
        replies = []
        for n, seconds in enumerate((1e308, "soon", -1)):
            await ws.send_str(json.dumps({"request_id": str(n), "op": "delay", "seconds": seconds}))
            replies.append(json.loads((await ws.receive(timeout=10)).data))
        await ws.send_str(json.dumps({"request_id": "held", "op": "delay", "seconds": MAX_DELAY}))
        return ws, replies

    async def scenario() -> None:
        async with aiohttp.ClientSession() as observer:  # one keep-alive connection, open throughout
            await stats(observer, server.url)
            fds_before = server.open_fds()
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
                abusers = await asyncio.gather(*(abuse(session) for _ in range(clients)))
                while (await stats(observer, server.url))["pending_delays"] < clients:
                    await asyncio.sleep(0.02)
            # The session is gone: every client left while its delay was pending.
            left_at = time.monotonic()
            while (now := await stats(observer, server.url))["connections"] or now["pending_delays"]:
                await asyncio.sleep(0.02)
            cleared = time.monotonic() - left_at
            fds_after = server.open_fds()
        errors = {reply["error"] for _, replies in abusers for reply in replies}
        figures(clients=clients, connections_after=now["connections"], pending_delays_after=now["pending_delays"],
                cleared_after=f"{cleared:.3f}s", fds_before=fds_before, fds_after=fds_after)
        assert errors == {f"delay needs 'seconds': a number from 0 to {MAX_DELAY:g}"}
        assert fds_after == fds_before

    asyncio.run(scenario())


def test_the_frame_log_stays_within_its_byte_bound_under_huge_frames(server_process, figures):
    bound = 16 << 20
    server = server_process("--frame-log-bytes", str(bound))
    frame = b"z" * 4_000_000
    count = 60

    async def scenario() -> None:
        baseline = server.rss_kib()
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(f"{server.url}/ws", max_msg_size=0)
            for n in range(count):
                await ws.send_bytes(n.to_bytes(4, "big") + frame)
                await ws.receive(timeout=10)
            after = server.rss_kib()
            async with session.get(f"{server.url}/control/frames", headers={"X-Pytabby-Token": server.token}) as r:
                logged = [bytes.fromhex(item["binary"]) for item in await r.json()]
        figures(frames_sent=count, frame_mib=4, logged=len(logged), rss_baseline=f"{baseline // 1024}MiB",
                rss_after=f"{after // 1024}MiB", bound=f"{bound >> 20}MiB")
        assert [int.from_bytes(f[:4], "big") for f in logged] == list(range(count - 4, count))
        assert after - baseline < 3 * (bound >> 10)  # the log, plus a few frames in flight

    asyncio.run(scenario())


def test_the_server_heartbeat_closes_a_client_that_never_answers_pings(server_process, figures):
    server = server_process("--heartbeat", "0.5")

    async def scenario() -> None:
        async with rawws.upgraded(server.port) as (status, reader):  # reads its pings, answers none
            connected = time.monotonic()
            opcodes = []
            while data := await reader.read(2):
                opcodes.append(data[0] & 0x0F)
            detected = time.monotonic() - connected
            async with aiohttp.ClientSession() as session:
                while (await stats(session, server.url))["connections"]:
                    await asyncio.sleep(0.02)
            figures(detection=f"{detected:.3f}s", heartbeat="0.5s")
            assert status == 101 and opcodes[0] == rawws.PING
            assert detected < 2.0

    asyncio.run(scenario())

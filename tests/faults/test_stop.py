"""The server process stopped, killed and frozen, with clients connected."""

from __future__ import annotations

import asyncio
import signal
import time

import aiohttp
import pytest

from . import rawws

pytestmark = pytest.mark.faults

SEND_EVERY = 0.002


class Peer:
    """A ``/ws`` client recording what it receives, when, and how it was closed."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.received: list[str] = []
        self.close_code: int | None = None
        self.closed_at = 0.0
        self.reading = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            self.received.append(message.data)
        self.close_code = self.ws.close_code
        self.closed_at = time.monotonic()


def test_sigterm_closes_every_websocket_with_1001_within_1s_and_exits_within_2s(server_process, figures):
    server = server_process()

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            sender = Peer(await session.ws_connect(f"{server.url}/ws"))
            listener = Peer(await session.ws_connect(f"{server.url}/ws"))
            ticks = Peer(await session.ws_connect(f"{server.url}/ws/ticks"))
            sent_at: list[float] = []

            async def send_until_closed() -> None:
                while sender.close_code is None:
                    try:
                        await sender.ws.send_str(str(len(sent_at)))
                    except ConnectionError:
                        return
                    sent_at.append(time.monotonic())
                    await asyncio.sleep(SEND_EVERY)

            sending = asyncio.create_task(send_until_closed())
            await asyncio.sleep(0.5)
            stopped_at = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            exited = await asyncio.to_thread(server.process.wait, 10)
            exit_after = time.monotonic() - stopped_at
            await asyncio.wait_for(asyncio.gather(sending, sender.reading, listener.reading, ticks.reading), 5)

        peers = {"sender": sender, "listener": listener, "ticks": ticks}
        codes = {name: peer.close_code for name, peer in peers.items()}
        close_after = max(peer.closed_at for peer in peers.values()) - stopped_at
        before_stop = [str(n) for n, at in enumerate(sent_at) if at < stopped_at]
        relayed = set(listener.received)
        lost_before_stop = [n for n in before_stop if n not in relayed]
        after_stop = len(sent_at) - len(before_stop)
        unrelayed_after = sum(str(n) not in relayed for n in range(len(before_stop), len(sent_at)))
        figures(close_1001_after=f"{close_after:.3f}s", exit_after=f"{exit_after:.3f}s", exit_code=exited,
                sent_before_stop=len(before_stop), lost=len(lost_before_stop),
                duplicates=len(listener.received) - len(relayed),
                sent_after_stop=after_stop, unrelayed_after_stop=unrelayed_after, close_codes=codes)
        assert codes == {"sender": 1001, "listener": 1001, "ticks": 1001}
        assert close_after < 1.0 and exit_after < 2.0
        assert lost_before_stop == [] and len(listener.received) == len(relayed)
        assert listener.received == sorted(listener.received, key=int)  # in order

    asyncio.run(scenario())


def test_sigkill_is_noticed_and_a_restart_on_the_same_port_is_reachable(server_process, figures):
    server = server_process()

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            peer = Peer(await session.ws_connect(f"{server.url}/ws"))
            killed_at = time.monotonic()
            server.process.send_signal(signal.SIGKILL)
            await asyncio.wait_for(peer.reading, 5)
            detected = peer.closed_at - killed_at
            await asyncio.to_thread(server.restart)
            again = Peer(await session.ws_connect(f"{server.url}/ws"))
            recovered = time.monotonic() - killed_at
            await again.ws.send_str("after restart")
            while not again.received:
                await asyncio.sleep(0.01)
        figures(detection=f"{detected:.3f}s", recovery_incl_restart=f"{recovered:.3f}s", close_code=peer.close_code)
        assert peer.close_code == 1006  # abnormal: no close frame from a killed process
        assert again.received == ["after restart"]

    asyncio.run(scenario())


def test_a_client_heartbeat_notices_a_frozen_server_and_reconnects_after_sigcont(server_process, figures):
    server = server_process()
    heartbeat = 0.5

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            peer = Peer(await session.ws_connect(f"{server.url}/ws", heartbeat=heartbeat))
            frozen_at = time.monotonic()
            server.pause()
            try:
                await asyncio.wait_for(peer.reading, 5)
                detected = peer.closed_at - frozen_at
            finally:
                server.resume()
            again = Peer(await session.ws_connect(f"{server.url}/ws"))
            recovered = time.monotonic() - frozen_at
            await again.ws.send_str("after thaw")
            while not again.received:
                await asyncio.sleep(0.01)
        figures(detection=f"{detected:.3f}s", recovery=f"{recovered:.3f}s", heartbeat=f"{heartbeat}s")
        assert peer.close_code == 1006 and detected < 2 * heartbeat + 0.5
        assert again.received == ["after thaw"]

    asyncio.run(scenario())


def test_sigterm_with_a_client_stuck_behind_megabytes_still_stops_within_2s(server_process, figures):
    server = server_process("--send-queue-bytes", str(256 << 20))  # the stuck client is never cut off earlier

    async def scenario() -> None:
        async with rawws.upgraded(server.port) as (status, _):  # never reads: its writer blocks on a full socket
            assert status == 101
            async with aiohttp.ClientSession() as session:
                listener = Peer(await session.ws_connect(f"{server.url}/ws", max_msg_size=0))
                for n in range(30):
                    await listener.ws.send_bytes(bytes(1 << 20))
                while len(listener.received) < 30:
                    await asyncio.sleep(0.01)
                stopped_at = time.monotonic()
                server.process.send_signal(signal.SIGTERM)
                exited = await asyncio.to_thread(server.process.wait, 10)
                exit_after = time.monotonic() - stopped_at
                await asyncio.wait_for(listener.reading, 5)
            figures(listener_close=listener.close_code, close_after=f"{listener.closed_at - stopped_at:.3f}s",
                    exit_after=f"{exit_after:.3f}s", exit_code=exited, stuck_behind_mib=30)
            assert listener.close_code == 1001 and listener.closed_at - stopped_at < 1.0
            assert exit_after < 2.0 and exited == 0

    asyncio.run(scenario())

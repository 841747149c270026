"""The project's real server: WebSocket hub, request/response, Origin check, /stats, caching."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest


async def stats(session: aiohttp.ClientSession, base: str) -> dict:
    async with session.get(f"{base}/stats") as response:
        return await response.json()


async def test_frames_are_relayed_to_every_client_sender_included_text_and_binary(pytabby_server):
    async with aiohttp.ClientSession() as session:
        a = await session.ws_connect(f"{pytabby_server}/ws")
        b = await session.ws_connect(f"{pytabby_server}/ws")
        await a.send_str("hello")
        await a.send_bytes(b"\x00\x01")
        for client in (a, b):
            text = await client.receive()
            binary = await client.receive()
            assert (text.type, text.data) == (aiohttp.WSMsgType.TEXT, "hello")
            assert (binary.type, binary.data) == (aiohttp.WSMsgType.BINARY, b"\x00\x01")
        await a.close()
        await b.close()


async def test_requests_are_answered_on_their_connection_only(pytabby_server):
    async with aiohttp.ClientSession() as session:
        a = await session.ws_connect(f"{pytabby_server}/ws")
        b = await session.ws_connect(f"{pytabby_server}/ws")
        await a.send_str(json.dumps({"request_id": "r1", "op": "echo", "data": [1, "x"]}))
        assert json.loads((await a.receive()).data) == {"request_id": "r1", "result": [1, "x"]}
        await a.send_str(json.dumps({"request_id": "r2", "op": "nope"}))
        reply = json.loads((await a.receive()).data)
        assert reply["request_id"] == "r2" and "unknown op" in reply["error"]
        with pytest.raises(asyncio.TimeoutError):
            await b.receive(timeout=0.3)
        await a.close()
        await b.close()


async def test_a_foreign_origin_is_refused_with_403_and_the_own_origin_accepted(pytabby_server):
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await session.ws_connect(f"{pytabby_server}/ws", origin="http://evil.example")
        assert info.value.status == 403
        own = await session.ws_connect(f"{pytabby_server}/ws", origin=pytabby_server)
        await own.close()


async def test_stats_count_connections_peak_and_frames(pytabby_server):
    async with aiohttp.ClientSession() as session:
        await session.post(f"{pytabby_server}/control/reset")
        before = await stats(session, pytabby_server)
        clients = [await session.ws_connect(f"{pytabby_server}/ws") for _ in range(3)]
        during = await stats(session, pytabby_server)
        await clients[0].send_str("x")
        for client in clients:
            await client.receive()
        for client in clients:
            await client.close()
        after = await stats(session, pytabby_server)
        while after["connections"] != before["connections"]:  # the server sees the closes soon after
            await asyncio.sleep(0.01)
            after = await stats(session, pytabby_server)
        assert during["connections"] == before["connections"] + 3
        assert after["peak_connections"] >= before["connections"] + 3
        assert after["frames_received"] == 1 and after["frames_sent"] == 3


async def test_static_files_carry_cache_headers(pytabby_server):
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{pytabby_server}/dist/pyodide.asm.wasm") as wasm:
            assert "immutable" in wasm.headers["Cache-Control"]
        async with session.get(f"{pytabby_server}/playground.html") as page:
            assert page.headers["Cache-Control"] == "no-cache"
            assert "Last-Modified" in page.headers  # so a revalidation costs a 304


async def test_a_users_folder_is_served_with_pytabbys_assets_beside_it_and_no_path_escapes(tmp_path):
    from aiohttp.test_utils import TestClient, TestServer

    from pytabby.server import build_app

    (tmp_path / "index.html").write_text("my app")
    (tmp_path / "playground.html").write_text("my own playground")
    async with TestClient(TestServer(build_app(tmp_path))) as client:
        assert await (await client.get("/")).text() == "my app"
        assert await (await client.get("/playground.html")).text() == "my own playground"
        boot = await client.get("/pytabby-boot.js")
        assert boot.status == 200 and "loadPyodide" in await boot.text()
        assert (await client.get("/dist/pyodide-lock.json")).status == 200
        assert (await client.get("/../pyproject.toml")).status == 404
        assert (await client.get("/%2e%2e/pyproject.toml")).status == 404
        assert (await client.get("/missing.html")).status == 404


async def test_the_ticks_hub_pushes_numbered_ticks_to_its_clients(pytabby_server):
    async with aiohttp.ClientSession() as session:
        client = await session.ws_connect(f"{pytabby_server}/ws/ticks")
        first = json.loads((await client.receive(timeout=5)).data)
        second = json.loads((await client.receive(timeout=5)).data)
        assert first["type"] == second["type"] == "tick" and second["seq"] > first["seq"]
        assert 0 <= first["value"] <= 100
        assert (await stats(session, pytabby_server))["ticks_connections"] == 1
        await client.close()

"""Requests an attacker would send: DNS rebinding, CSRF on /control, NUL bytes, dotfiles."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from . import rawws

pytestmark = pytest.mark.faults


def test_dns_rebinding_is_refused_and_loopback_names_are_one_site(server_process, figures):
    server = server_process()
    port = server.port
    evil = f"evil.test:{port}"

    async def scenario() -> dict[str, int]:
        seen = {
            "ws evil Host+Origin": await rawws.upgrade_status(port, host=evil, origin=f"http://{evil}"),
            "ws evil Origin": await rawws.upgrade_status(port, origin=f"http://{evil}"),
            "ws localhost page -> 127.0.0.1": await rawws.upgrade_status(port, origin=f"http://localhost:{port}"),
            "ws 127.0.0.1 page -> localhost": await rawws.upgrade_status(
                port, host=f"localhost:{port}", origin=f"http://127.0.0.1:{port}"),
        }
        for path in ("/stats", "/chat.py", "/control/frames"):
            seen[f"GET {path} Host evil"] = await rawws.http_status(port, path, Host=evil)
        return seen

    seen = asyncio.run(scenario())
    figures(**{name.replace(" ", "_"): status for name, status in seen.items()})
    assert seen == {
        "ws evil Host+Origin": 403, "ws evil Origin": 403,
        "ws localhost page -> 127.0.0.1": 101, "ws 127.0.0.1 page -> localhost": 101,
        "GET /stats Host evil": 403, "GET /chat.py Host evil": 403, "GET /control/frames Host evil": 403,
    }


def test_control_requests_without_the_token_change_nothing(server_process, figures):
    server = server_process()
    csrf = {"Origin": "http://evil.test", "Content-Type": "text/plain"}  # what a no-cors form post sends

    async def scenario() -> dict[str, object]:
        async with aiohttp.ClientSession() as session:
            listener = await session.ws_connect(f"{server.url}/ws")
            statuses = {}
            for path in ("/control/broadcast", "/control/outage?seconds=30", "/control/reset"):
                for name, headers in (("cross-site", csrf), ("same-site, no token", {"Content-Type": "text/plain"})):
                    async with session.post(f"{server.url}{path}", data="forged", headers=headers) as response:
                        statuses[f"{name} {path}"] = response.status
            with pytest.raises(asyncio.TimeoutError):
                await listener.receive(timeout=0.5)  # no forged broadcast arrived
            await (await session.ws_connect(f"{server.url}/ws")).close()  # no outage was started
            async with session.post(f"{server.url}/control/broadcast", data="real",
                                    headers={"X-Pytabby-Token": server.token, "Content-Type": "text/plain"}) as ok:
                statuses["with token"] = ok.status
            statuses["listener got"] = (await listener.receive(timeout=5)).data
            return statuses

    seen = asyncio.run(scenario())
    figures(refused=sum(status == 403 for status in seen.values()), delivered_forged=0)
    assert {name: status for name, status in seen.items() if name.startswith(("cross", "same"))} == {
        f"{who} {path}": 403 for path in ("/control/broadcast", "/control/outage?seconds=30", "/control/reset")
        for who in ("cross-site", "same-site, no token")}
    assert (seen["with token"], seen["listener got"]) == (200, "real")


@pytest.mark.parametrize("target", [
    "/%00", "/index.html%00.png", "/dist/%00", "/node_modules/.package-lock.json", "/node_modules/.bin/",
    "/%2e%2e/pyproject.toml", "/dist/%2e%2e/%2e%2e/pyproject.toml", "/.git/HEAD",
])
def test_nul_bytes_dotfiles_and_escapes_are_404_never_500(server_process, target):
    server = server_process()
    assert asyncio.run(rawws.http_status(server.port, target)) == 404

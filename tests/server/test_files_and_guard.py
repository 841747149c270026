"""Static files (user folder, /dist/, pytabby's fallback pages) and who may talk to the server."""

from __future__ import annotations

import asyncio
import shutil

import aiohttp
import pytest
from yarl import URL

from pytabby.server import NoPyodideError, find_dist

from .conftest import TOKEN, serving


async def status(session: aiohttp.ClientSession, url: str | URL, **headers: str) -> int:
    async with session.get(url, headers=headers) as response:
        return response.status


async def test_a_users_folder_is_served_with_pytabbys_pages_as_fallback_and_no_path_escapes(app_folder):
    (app_folder / "playground.html").write_text("my own playground")
    async with serving(app_folder) as base, aiohttp.ClientSession() as session:
        async with session.get(f"{base}/") as page:
            assert await page.text() == "my app"
        async with session.get(f"{base}/playground.html") as page:
            assert await page.text() == "my own playground"
        async with session.get(f"{base}/pytabby-boot.js") as boot:
            assert boot.status == 200 and "loadPyodide" in await boot.text()
        async with session.get(f"{base}/dist/pyodide.mjs") as runtime:
            assert await runtime.text() == "export const loadPyodide = 1;"
        for path in ("/../pyproject.toml", "/%2e%2e/pyproject.toml", "/missing.html", "/dist/%2e%2e/index.html"):
            assert await status(session, URL(base + path, encoded=True)) == 404, path


@pytest.mark.parametrize("path", ["/.env", "/%2eenv", "/sub/.git/config", "/%00", "/a%00b", "/dist/%00"])
async def test_dotfiles_and_nul_bytes_are_404_not_500(app_folder, path):
    (app_folder / "sub" / ".git").mkdir(parents=True)
    (app_folder / "sub" / ".git" / "config").write_text("secret")
    async with serving(app_folder) as base, aiohttp.ClientSession() as session:
        assert await status(session, URL(base + path, encoded=True)) == 404


async def test_a_symlinked_pyodide_folder_is_served(app_folder, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("pyodide")
    (elsewhere / "pyodide.mjs").write_text("real runtime")
    shutil.rmtree(app_folder / "dist")
    (app_folder / "dist").symlink_to(elsewhere, target_is_directory=True)
    async with serving(app_folder) as base, aiohttp.ClientSession() as session:
        async with session.get(f"{base}/dist/pyodide.mjs") as runtime:
            assert await runtime.text() == "real runtime"


async def test_an_explicit_dist_wins_over_root_dist(app_folder, tmp_path_factory):
    other = tmp_path_factory.mktemp("other")
    (other / "pyodide.mjs").write_text("the explicit one")
    async with serving(app_folder, dist=other) as base, aiohttp.ClientSession() as session:
        async with session.get(f"{base}/dist/pyodide.mjs") as runtime:
            assert await runtime.text() == "the explicit one"


def test_without_a_pyodide_folder_find_dist_says_what_it_looked_for_in_one_line(tmp_path):
    with pytest.raises(NoPyodideError) as missing:
        find_dist(tmp_path, None)
    assert str(missing.value) == (
        f"no Pyodide folder: {tmp_path}/dist/pyodide.mjs not found (or pass --dist DIR); "
        "make one with: python -m pytabby dist OUT --pyodide node_modules/pyodide")
    with pytest.raises(NoPyodideError, match=f"^no Pyodide folder: {tmp_path}/nope/pyodide.mjs not found; make"):
        find_dist(tmp_path, tmp_path / "nope")


async def test_static_files_carry_cache_headers(app_folder):
    async with serving(app_folder) as base, aiohttp.ClientSession() as session:
        async with session.get(f"{base}/dist/pyodide.asm.wasm") as wasm:
            assert wasm.headers["Cache-Control"] == "public, max-age=604800, immutable"
        async with session.get(f"{base}/index.html") as page:
            assert page.headers["Cache-Control"] == "no-cache"
            assert "Last-Modified" in page.headers  # so a revalidation costs a 304


async def test_foreign_hosts_and_origins_are_refused_loopback_names_are_one_site(app_folder):
    async with serving(app_folder) as base, aiohttp.ClientSession() as session:
        port = base.rsplit(":", 1)[1]
        for origin in ("http://evil.example", f"http://evil.test:{port}", "null", f"file://localhost:{port}"):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(f"{base}/ws", origin=origin)
            assert refused.value.status == 403, origin
        with pytest.raises(aiohttp.WSServerHandshakeError) as rebound:  # DNS rebinding: Host is the attacker's name
            await session.ws_connect(f"{base}/ws", headers={"Host": f"evil.test:{port}"}, origin=f"http://evil.test:{port}")
        assert rebound.value.status == 403
        assert await status(session, f"{base}/stats", Host=f"evil.test:{port}") == 403
        for origin in (base, f"http://localhost:{port}", "http://localhost:3000", f"http://[::1]:{port}"):
            await (await session.ws_connect(f"{base}/ws", origin=origin)).close()
        for host in (f"localhost:{port}", f"[::1]:{port}", "127.0.0.1"):
            assert await status(session, f"{base}/stats", Host=host) == 200, host


async def test_allowed_hosts_can_be_extended(app_folder):
    async with serving(app_folder, allowed_hosts={"localhost", "app.test"}) as base, aiohttp.ClientSession() as session:
        assert await status(session, f"{base}/stats", Host="app.test:80", Origin="http://app.test") == 200
        assert await status(session, f"{base}/stats") == 403  # 127.0.0.1 is no longer in the list


async def test_control_routes_need_the_runs_token(app_folder):
    async with serving(app_folder, control_token=TOKEN) as base, aiohttp.ClientSession() as session:
        for headers in ({}, {"X-Pytabby-Token": "guess"}):
            async with session.post(f"{base}/control/broadcast", data=b"x", headers=headers) as response:
                assert response.status == 403
        listener = await session.ws_connect(f"{base}/ws")
        async with session.post(f"{base}/control/broadcast", data="to all",
                                headers={"X-Pytabby-Token": TOKEN, "Content-Type": "text/plain"}) as response:
            assert response.status == 200
        assert (await listener.receive(timeout=5)).data == "to all"
        with pytest.raises(asyncio.TimeoutError):  # the refused broadcasts never reached it
            await listener.receive(timeout=0.3)


async def test_outage_closes_with_1012_refuses_for_its_time_and_rejects_bad_seconds(app_folder):
    headers = {"X-Pytabby-Token": TOKEN}
    async with serving(app_folder, control_token=TOKEN) as base, aiohttp.ClientSession() as session:
        async with session.post(f"{base}/control/outage?seconds=soon", headers=headers) as response:
            assert response.status == 400
        ws = await session.ws_connect(f"{base}/ws")
        async with session.post(f"{base}/control/outage?seconds=0.5", headers=headers) as response:
            assert response.status == 200
        closed = await ws.receive(timeout=5)
        assert (closed.type, closed.data) == (aiohttp.WSMsgType.CLOSE, 1012)
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(f"{base}/ws")
        assert refused.value.status == 503


def test_the_cli_refuses_to_start_without_pyodide_with_one_line_and_exit_code_2(tmp_path):
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-m", "pytabby.server", "--root", str(tmp_path), "--port", "0"],
                         capture_output=True, text=True, timeout=30)
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr == (f"pytabby server: no Pyodide folder: {tmp_path}/dist/pyodide.mjs not found (or pass --dist DIR); "
                          "make one with: python -m pytabby dist OUT --pyodide node_modules/pyodide\n")


@pytest.mark.parametrize("isolated", [False, True])
async def test_cross_origin_isolation_headers_come_only_when_asked(app_folder, isolated):
    wanted = {"cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp"}
    async with serving(app_folder, cross_origin_isolated=isolated) as base, aiohttp.ClientSession() as session:
        for path in ("/", "/dist/pyodide.mjs", "/pytabby-boot.js"):
            async with session.get(f"{base}{path}") as response:
                seen = {name: response.headers.get(name) for name in wanted}
                assert seen == (wanted if isolated else dict.fromkeys(wanted)), path


def test_the_start_line_names_a_page_that_exists(tmp_path):
    from pytabby.server.cli import start_line
    from pytabby.server.files import pages_to_open

    assert pages_to_open(tmp_path) == ["/playground.html"]  # pytabby's own, served as the fallback
    for name in ("counter.html", "chat.html", ".draft.html", "notes.txt"):
        (tmp_path / name).write_text("")
    assert start_line("127.0.0.1", 8000, pages_to_open(tmp_path)) == (
        "pytabby server: open http://127.0.0.1:8000/chat.html in several tabs (also /counter.html)")
    assert start_line("h", 1, [f"/{n}.html" for n in range(7)]) == (
        "pytabby server: open http://h:1/0.html in several tabs (also /1.html, /2.html, /3.html, /4.html, ...)")
    (tmp_path / "index.html").write_text("")
    assert pages_to_open(tmp_path) == ["/"]


async def test_a_missing_favicon_is_no_content_and_a_users_own_is_served(app_folder):
    async with serving(app_folder) as base, aiohttp.ClientSession() as session:
        async with session.get(f"{base}/favicon.ico") as icon:
            assert (icon.status, await icon.read()) == (204, b"")
        (app_folder / "favicon.ico").write_bytes(b"\x00\x00\x01\x00")
        async with session.get(f"{base}/favicon.ico") as icon:
            assert (icon.status, await icon.read()) == (200, b"\x00\x00\x01\x00")
        assert await status(session, f"{base}/other.ico") == 404

"""The test kit's own promises in a real browser: crashes and failures are named, not timed out."""

from __future__ import annotations

import functools

import pytest

from pytabby.pytest import PyError, TabCrashed, Unsupported, pages, run_py, wait_for_leader, wait_py


def crash(tab) -> None:
    """Kill the tab's renderer as a crash would: no pagehide, no unload (Chromium only).

    chrome://crash is a debug URL the renderer acts on at once, without navigating away;
    CDP ``Page.crash`` would do the same but its reply never comes.
    """
    from playwright.sync_api import Error

    with pytest.raises(Error, match="ERR_ABORTED"):
        tab.page.goto("chrome://crash")


def crash_supported(engine: str) -> None:
    """Checked before any tab boots: only Chromium's renderer can be crashed from the test."""
    if engine != "chromium":
        raise Unsupported(f"{engine}'s driver cannot crash a tab's renderer (no chrome://crash, no CDP)")


def test_a_crashed_leader_tab_hands_over_and_is_reported_as_crashed(tabs, pytabby_engine, name):
    crash_supported(pytabby_engine.name)
    pages = tabs(3)
    for page in pages:
        run_py(page, f"from pytabby import create_leader_elector; le = create_leader_elector({name!r}).start()")
    chief = wait_for_leader(pages, "le")
    run_py(chief, "print('last words of the leader')")
    crash(chief)
    rest = [page for page in pages if page is not chief]
    successor = wait_for_leader(rest, "le")
    assert run_py(successor, "le.term") == run_py(rest[0], "le.term")
    with pytest.raises(TabCrashed, match=rf"{chief.engine} tab \d+ /playground.html crashed(.|\n)*last words of the leader"):
        run_py(chief, "1")


def test_wait_py_names_the_condition_that_raised_with_the_tabs_traceback(tabs):
    (page,) = tabs(1)
    with pytest.raises(PyError, match=r"wait_py: '1 / 0' raised in (chromium|firefox|webkit) tab \d+ /playground.html:\n"
                                      r"(.|\n)*ZeroDivisionError"):
        wait_py(page, "1 / 0")


def test_wait_py_names_the_condition_that_never_held(tabs):
    (page,) = tabs(1)
    with pytest.raises(TimeoutError, match=rf"wait_py: 'False' still false in {page.engine} tab \d+ /playground.html "
                                           r"after 0.5 s"):
        wait_py(page, "False", timeout=0.5)


def fulfill(route, body: str) -> None:
    route.fulfill(content_type="text/javascript", body=body)


def routed_page(open_page, engine: str):
    """A page whose responses a test may replace (a Playwright route, so Chromium only), uncached: the
    renderer's memory cache would answer for files other tabs loaded, unrouted."""
    if engine != "chromium":
        raise Unsupported(f"{engine}'s driver cannot replace a response (no request routing)")
    page = open_page("/raw.html")
    page.page.context.new_cdp_session(page.page).send("Network.setCacheDisabled", {"cacheDisabled": True})
    return page


# Runs the boot script (a fresh module per tag) and returns its record once it settled.
_BOOT = """async (tag) => {
    delete window.pytabbyBoot;
    await import("/pytabby-boot.js?" + tag);
    await window.pytabbyReady.catch(() => {});
    return window.pytabbyBoot;
}"""


def test_the_boot_script_says_which_stage_failed_and_whether_the_wasm_engine_trapped(open_page, pytabby_engine):
    """What the kit's reopen-once rule reads: only a failure of Pyodide's own startup counts as the engine's.

    Pyodide's module is swapped (a Playwright route, so Chromium only) for one whose ``loadPyodide``
    fails as WebKitGTK's did in Pyodide's first import (a trap, or a corrupt interpreter), or with
    an ordinary error.
    """
    page = routed_page(open_page, pytabby_engine.name)
    for failure, module in FAILING_PYODIDE_MODULES.items():
        page.page.route("**/dist/pyodide.mjs", functools.partial(fulfill, body=module))
        boot = page.evaluate(_BOOT, failure)
        engines_fault = page.evaluate(pages.STARTUP_TRAPPED_JS)
        page.page.unroute("**/dist/pyodide.mjs")
        page.evaluate("() => location.reload()")  # a fresh module map for the next failure
        page.wait_for("() => document.readyState === 'complete' && window.pytabbyBoot === undefined")
        assert_startup_failure(boot, engines_fault, failure, stage="loading-pyodide")


def test_a_pyscript_page_whose_interpreter_fails_to_start_reports_it_instead_of_waiting(open_page, pytabby_engine,
                                                                                         pytabby_server):
    """PyScript leaves a failed interpreter load unhandled: the boot script fails the boot with it.

    Pyodide's module, PyScript's interpreter on the page, is swapped as in the test above.
    """
    page = routed_page(open_page, pytabby_engine.name)
    for failure, module in FAILING_PYODIDE_MODULES.items():
        page.page.route("**/dist/pyodide.mjs", functools.partial(fulfill, body=module))
        page.page.goto(pytabby_server + "/pyscript-example.html")
        page.wait_for("() => window.pytabbyBoot !== undefined && window.pytabbyBoot.stage === 'error'")
        boot = page.evaluate("() => window.pytabbyBoot")
        engines_fault = page.evaluate(pages.STARTUP_TRAPPED_JS)
        page.page.unroute("**/dist/pyodide.mjs")
        assert_startup_failure(boot, engines_fault, failure, stage="waiting-pyscript")


FAILING_PYODIDE_MODULES = {
    failure: f"export async function loadPyodide() {{ throw {error}; }}"
    for failure, error in [("trap", 'new WebAssembly.RuntimeError("Out of bounds memory access")'),
                           ("corrupt", 'new Error("Failed to import _pyodide_core\\nImportError: cannot import name")'),
                           ("other", 'new TypeError("no wasm here")')]}


def assert_startup_failure(boot: dict, engines_fault: bool, failure: str, *, stage: str) -> None:
    assert boot["stage"] == "error"
    assert boot["failedAt"] == stage
    assert boot["wasmTrap"] is (failure == "trap")
    assert boot["error"].startswith({"trap": "Out of bounds memory access", "other": "no wasm here",
                                     "corrupt": "Failed to import _pyodide_core\nImportError"}[failure])
    assert engines_fault is (failure != "other")  # what makes the kit reopen the page once


# The page's Python globals by name, and which modules Pyodide's installer would have imported.
_GLOBALS = "() => pyodide.globals.toJs({depth: 1, dict_converter: (entries) => entries.map(([key]) => key)}).sort()"
_INSTALLER_MODULES = """() => pyodide.runPython(
    "import sys; [name for name in ('tarfile', 'importlib.metadata') if name in sys.modules]").toJs()"""


def test_the_boot_script_installs_pytabby_without_starting_pyodides_installer(tabs, open_page):
    """It unpacks the lock file's wheel itself: loadPackage would start Pyodide's installer, whose
    first use compiles ``tarfile`` and ``importlib.metadata`` (~70 ms); the page's globals gain
    ``pytabby`` and nothing else."""
    bare = open_page("/bench/bare.html")
    bare.wait_for("() => window.bareReady !== undefined")
    bare.evaluate("async () => { await window.bareReady; }")
    (booted,) = tabs(1, "/bench/boot.html")
    assert booted.evaluate(_GLOBALS) == sorted([*bare.evaluate(_GLOBALS), "pytabby"])
    assert booted.evaluate(_INSTALLER_MODULES) == []
    assert run_py(booted, "import pytabby, site; pytabby.__file__.startswith(site.getsitepackages()[0])") is True
    assert run_py(booted, "pytabby.create_bus('installed').publish('x', 1).seq") == 0
    # Installed as a distribution too (micropip and importlib.metadata find it), asked only now: the
    # question imports importlib.metadata.
    assert run_py(booted, "from importlib.metadata import version; version('pytabby-browser') == pytabby.__version__") is True


def test_the_boot_script_refuses_a_wheel_that_does_not_match_the_lock_file(open_page, pytabby_engine):
    """A wheel whose bytes are not the ones the lock file hashes is not installed, and the page says why."""
    page = routed_page(open_page, pytabby_engine.name)

    def tampered(route) -> None:
        wheel = bytearray(route.fetch().body())
        wheel[-1] ^= 1
        route.fulfill(body=bytes(wheel), content_type="application/octet-stream")

    page.page.route("**/dist/pytabby_browser-*.whl", tampered)
    boot = page.evaluate(_BOOT, "tampered")
    assert boot["stage"] == "error"
    assert boot["failedAt"] == "loading-packages"
    assert boot["error"].startswith("could not fetch ")
    assert "or its bytes are not the ones the lock file hashes" in boot["error"]
    assert page.evaluate("() => pyodide.runPython(\"import importlib.util; importlib.util.find_spec('pytabby')\")") is None


def test_the_boot_script_names_the_dist_command_when_the_lock_file_lacks_pytabby(open_page, pytabby_engine):
    """A /dist/ made from a plain Pyodide, not by ``python -m pytabby dist``: the page says what to run."""
    page = routed_page(open_page, pytabby_engine.name)

    def without_pytabby(route) -> None:
        lock = route.fetch().json()
        del lock["packages"]["pytabby-browser"]
        route.fulfill(json=lock)

    page.page.route("**/dist/pyodide-lock.json", without_pytabby)
    boot = page.evaluate(_BOOT, "no-pytabby")
    assert boot == {"stage": "error", "failedAt": "loading-packages", "wasmTrap": False,
                    "error": "the lock file in /dist/ has no pytabby-browser: make /dist/ with `python -m pytabby dist`"}

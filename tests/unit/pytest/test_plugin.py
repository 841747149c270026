"""The test kit's plugin without a browser: settings, engine parametrization, async tests, failures named."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytabby.pytest import Settings, load_settings
from pytabby.pytest.engines import launch
from pytabby.pytest.serve import find_pyodide
from pytabby.server import NoPyodideError


def test_settings_come_from_the_config_file_then_the_ini_file_then_the_command_line(pytester: pytest.Pytester) -> None:
    (pytester.path / "playwright.config.py").write_text('CONFIG = {"page_url": "/a.html", "root": "app", "boot_timeout": 5}')
    pytester.makeini("[pytest]\npytabby_page_url = /b.html\n")
    pytester.makepyfile("""
        def test_settings(pytabby_settings, pytestconfig):
            print("SETTINGS", pytabby_settings.page_url, pytabby_settings.root.name, pytabby_settings.boot_timeout,
                  pytabby_settings.async_timeout)
    """)
    result = pytester.runpytest("-s", "-p", "no:cacheprovider", "--pytabby-async-timeout", "3")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*SETTINGS /b.html app 5 3.0"])
    result = pytester.runpytest("-s", "-p", "no:cacheprovider", "--pytabby-page-url", "/c.html")
    result.stdout.fnmatch_lines(["*SETTINGS /c.html app 5 60.0"])


def test_timeout_and_executable_path_come_from_the_ini_file_or_the_command_line(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\npytabby_timeout = 7\npytabby_executable_path = /opt/chromium\n")
    pytester.makepyfile("""
        def test_settings(pytabby_settings):
            print("SETTINGS", pytabby_settings.timeout, pytabby_settings.executable_path)
    """)
    result = pytester.runpytest("-s", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*SETTINGS 7.0 /opt/chromium"])
    result = pytester.runpytest("-s", "-p", "no:cacheprovider", "--pytabby-timeout", "9",
                                "--pytabby-executable", "/usr/local/bin/chromium")
    result.stdout.fnmatch_lines(["*SETTINGS 9.0 /usr/local/bin/chromium"])


def test_an_unknown_setting_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "playwright.config.py").write_text('CONFIG = {"boot_timeuot": 5}')
    with pytest.raises(ValueError, match=r"unknown settings \['boot_timeuot'\]"):
        load_settings(tmp_path)


def test_several_browsers_parametrize_every_test_that_uses_tabs_and_only_those(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_in_tabs(tabs): pass
        def test_plain(): pass
    """)
    result = pytester.runpytest("--collect-only", "-q", "--pytabby-browser", "chromium", "--pytabby-browser", "webkit")
    result.stdout.fnmatch_lines(["*test_in_tabs[[]chromium[]]", "*test_in_tabs[[]webkit[]]", "*test_plain"])


def test_async_tests_run_on_a_fresh_loop_even_inside_a_running_one(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import asyncio
        import pytest

        @pytest.fixture
        def running_loop():
            loop = asyncio.new_event_loop()  # as Playwright's sync API leaves one running in the thread
            asyncio.events._set_running_loop(loop)
            yield
            asyncio.events._set_running_loop(None)
            loop.close()

        async def test_plain():
            await asyncio.sleep(0)

        async def test_beside_a_running_loop(running_loop):
            await asyncio.sleep(0)

        async def test_over_the_limit():
            await asyncio.sleep(5)
    """)
    result = pytester.runpytest("-ra", "-p", "no:asyncio", "--pytabby-async-timeout", "0.2")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["FAILED *test_over_the_limit*"])
    assert "TimeoutError" in result.stdout.str()


def test_no_pyodide_folder_says_what_it_looked_for_and_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(NoPyodideError, match=r"no Pyodide folder: .*/dist/pyodide.mjs not found .*; make one with: "
                                             r"python -m pytabby dist OUT --pyodide node_modules/pyodide "
                                             r"\(in tests: set pytabby_dist or --pytabby-dist\)"):
        find_pyodide(tmp_path, None)
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "pyodide.mjs").write_text("")
    assert find_pyodide(tmp_path, None) == (tmp_path / "dist").resolve()


def test_chromium_gets_one_disable_features_switch_with_playwrights_the_users_and_the_crashing_samplers() -> None:
    from pytabby.pytest.engines.chromium import CRASHING_SAMPLERS, PLAYWRIGHT_DISABLED_FEATURES, launch_args

    args = launch_args(["--no-sandbox", "--disable-features=Mine,GwpAsanMalloc", "--mute-audio", "--disable-features=Other"])
    switches = [arg for arg in args if arg.startswith("--disable-features=")]
    assert args[:2] == ["--no-sandbox", "--mute-audio"] and switches == [args[-1]]
    assert switches[0].partition("=")[2].split(",") == [*PLAYWRIGHT_DISABLED_FEATURES, *CRASHING_SAMPLERS, "Mine", "Other"]

"""Browser settings for pytabby's own browser tests and benchmarks: the one place to change them.

Read by the test kit (``pytabby.pytest.config``; ``pytabby_*`` ini options and
``--pytabby-*`` override it) and by the benchmarks (``python -m benchmarks``). Times are seconds.
"""

CONFIG = {
    # Debian's Chromium: Playwright's own browser download does not work offline.
    "executable_path": "/usr/bin/chromium",
    "args": [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        # Tabs of a test are all "in the background" but one; keep their timers honest.
        "--disable-background-timer-throttling",
        "--disable-renderer-backgrounding",
        "--disable-backgrounding-occluded-windows",
    ],
    "headless": True,
    # The demo app; its Pyodide folder is web/dist/ (.ci/build_web.py makes it).
    "root": "web",
    "dist": "web/dist",
    "page_url": "/playground.html",
    # Booting Pyodide in several tabs at once on 2 cores takes 7-13 s each.
    "boot_timeout": 120,
    "timeout": 20,
    # The unit tier's async tests run on the fakes' manual clock: none needs long.
    "async_timeout": 10,
}

"""Browser settings for pytabby's browser tests and benchmarks: the one place to change them.

Read by ``pytabby.pytest_plugin`` (and overridable there with ``--pytabby-*`` options)
and by ``benchmarks/run.py``.
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
    # None: start the project's server on a free loopback port for the session.
    "base_url": None,
    "page_url": "/playground.html",
    # Milliseconds. Booting Pyodide in several tabs at once on 2 cores takes 7-13 s each.
    "boot_timeout": 120_000,
    "timeout": 20_000,
}

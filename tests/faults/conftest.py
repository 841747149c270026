"""Fault tests: the real server in a process of its own, hit by real signals and hostile clients.

``server_process(*flags)`` starts ``python -m pytabby.server --root web --dist web/dist --control``
(plus ``flags``) on a free loopback port and returns a ``ServerProcess``:

    server = server_process("--heartbeat", "1")
    server.url, server.port, server.pid, server.token   # token: the run's X-Pytabby-Token
    server.stop(signal.SIGTERM)   # send the signal, wait for the exit; returns seconds taken
    server.restart()              # the same command on the same port (after a stop or a SIGKILL)
    server.pause(); server.resume()                     # SIGSTOP / SIGCONT
    server.rss_kib(), server.open_fds()

Every process is killed at the end of the test. Browser-level fault tests can point tabs at
``server.url``. Each test reports its figures with ``figures(name, **values)``; they are
printed in the terminal summary.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.ports import free_port

REPO = Path(__file__).resolve().parents[2]
READY_LINE = "pytabby server: open "
TOKEN_PREFIX = "pytabby server: control token "
START_TIMEOUT = 20.0
FIGURES: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("fault figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


class ServerProcess:
    """``python -m pytabby.server`` in a subprocess on a fixed loopback port."""

    def __init__(self, flags: tuple[str, ...], log_dir: Path) -> None:
        self.port = free_port()
        self.command = [
            sys.executable, "-m", "pytabby.server", "--root", str(REPO / "web"), "--dist", str(REPO / "web" / "dist"),
            "--port", str(self.port), "--control", *flags,
        ]
        self._log_dir = log_dir
        self._starts = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.token = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> ServerProcess:
        self._starts += 1
        out = self._log_dir / f"server-{self.port}-{self._starts}.out"
        err = out.with_suffix(".err")
        with out.open("wb") as stdout, err.open("wb") as stderr:
            self.process = subprocess.Popen(self.command, stdout=stdout, stderr=stderr, cwd=REPO)
        deadline = time.monotonic() + START_TIMEOUT
        while TOKEN_PREFIX not in (text := out.read_text()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {text}{err.read_text()}")
            time.sleep(0.02)
        self.token = text.split(TOKEN_PREFIX, 1)[1].split()[0]
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> float:
        """Send ``sig`` and wait for the process to end; seconds from the signal to the exit."""
        assert self.process is not None
        sent = time.monotonic()
        self.process.send_signal(sig)
        self.process.wait(timeout)
        return time.monotonic() - sent

    def restart(self) -> ServerProcess:
        if self.process is not None and self.process.poll() is None:
            self.stop(signal.SIGKILL)
        return self.start()

    def pause(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Factory: ``server_process(*flags)`` starts the real server in a subprocess."""
    started: list[ServerProcess] = []

    def start(*flags: str) -> ServerProcess:
        if not (REPO / "web" / "dist" / "pyodide.mjs").is_file():
            pytest.fail("web/dist/ is missing: run `bash .ci/setup` first")
        server = ServerProcess(flags, tmp_path).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Callable[..., None]:
    """``figures(**values)``: print this test's measured figures and add them to the summary."""

    def report(**values: object) -> None:
        line = f"{request.node.name}: " + ", ".join(f"{k}={v}" for k, v in values.items())
        print(line)
        FIGURES.append(line)

    return report

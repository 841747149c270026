"""The hand-over figure: a successor that never acquires ends its contender's trials, not the figure."""

from types import SimpleNamespace

import pytest

from benchmarks import handover
from benchmarks.engine_pages import KitContext
from benchmarks.harness import Results


class LockQueue:
    """Tabs queued on one lock in page order: closing the holder hands it to the next, unless stuck."""

    def __init__(self, stuck_at: int | None) -> None:
        self.pages: list[Page] = []
        self.stuck_at = stuck_at  # the trial (1-based) whose successor never acquires
        self.closes = 0
        self.closes_running_beforeunload = 0
        self.contender = ""

    def close(self, page: "Page") -> None:
        self.closes += 1
        index = self.pages.index(page)
        if self.closes != self.stuck_at and index + 1 < len(self.pages):
            self.pages[index + 1].acquired_at = 1.0e15  # far after the trial's start: a positive sample


class Page:
    def __init__(self, queue: LockQueue) -> None:
        self.queue = queue
        self.acquired_at = 0.0
        self.closed = False
        queue.pages.append(self)

    def evaluate(self, script: str, arg: object = None) -> object:
        if script == "() => window.acquiredAt":
            return self.acquired_at
        if arg is not None and self is self.queue.pages[0]:  # the setup: the first tab leads at once
            self.acquired_at = 1.0
        return None

    def wait_for_function(self, script: str, polling: float = 0, timeout: float = 0) -> None:
        if self.acquired_at <= 0:
            raise TimeoutError(f"waited {timeout} ms")  # the kit's tabs raise the builtin one

    def close(self, run_before_unload: bool = False) -> None:  # Playwright's keyword; the kit's tabs take none
        self.closed = True
        self.queue.closes_running_beforeunload += run_before_unload
        self.queue.close(self)

    def is_closed(self) -> bool:
        return self.closed


def bench_with(stuck: dict[str, int], context: object = None) -> SimpleNamespace:
    """A bench whose pages of each contender (in ``handover.run``'s order) form one lock queue; its
    ``context`` a Playwright one (Chromium) unless given (the kit's, for Firefox and WebKit)."""
    order = iter(handover.LABELS)
    queues: list[LockQueue] = []

    def pages(count: int, *_: object) -> list[Page]:
        contender = next(order)
        queue = LockQueue(stuck.get(contender))
        queue.contender = contender
        queues.append(queue)
        return [Page(queue) for _ in range(count)]

    def close(pages: list[Page]) -> None:
        for page in pages:
            if not page.is_closed():
                page.closed = True

    return SimpleNamespace(size=SimpleNamespace(handover_trials=5), results=Results(), raw_pages=pages,
                           py_pages=pages, settle=lambda page: None, close=close, queues=queues,
                           context=SimpleNamespace() if context is None else context)


@pytest.fixture(autouse=True)
def python_setup_leads_too(monkeypatch):
    monkeypatch.setattr(handover, "run_py", lambda page, code: page.evaluate("setup", "key"))


@pytest.fixture(autouse=True)
def warmed(monkeypatch):
    """The contenders whose tabs were warmed up, each with its pages, after their setup."""
    warmed: list[tuple[str, int]] = []

    def warm_up(pages: list[Page], channel: str) -> None:
        assert pages[0].acquired_at == 1.0  # the setup has run: the first tab leads
        warmed.append((pages[0].queue.contender, len(pages)))

    monkeypatch.setattr(handover, "warm_up", warm_up)
    return warmed


def test_the_pyodide_tabs_are_warmed_up_after_their_setup_and_the_just_booted_ones_are_not(warmed):
    bench = bench_with({})
    handover.run(bench)
    assert warmed == [("web_locks_pyodide_tabs", 6), ("web_locks_at_pagehide", 6), ("pytabby", 6),
                      ("pytabby_user_close", 6)]
    (row,) = bench.results.rows
    assert "pytabby in tabs just booted (reported) p50 " in row.comparisons
    assert "; a JS lock let go at pagehide in Pyodide tabs p50 " in row.comparisons
    assert row.ratio.endswith("; p99 1.00x in tabs just booted")


def test_a_stuck_hand_over_of_another_contender_keeps_its_earlier_trials_and_the_figure():
    bench = bench_with({"web_locks_pyodide_tabs": 3})
    handover.run(bench)
    (row,) = bench.results.rows
    assert [len(bench.results.samples["handover_ms"][key]) for key in handover.LABELS] == [5, 2, 5, 5, 5, 5, 5]
    assert bench.results.samples["handover_stuck"] == ["web_locks_pyodide_tabs"]
    assert "raw Web Locks in Pyodide tabs: trial 3 never acquired within 30 s (its 2 trials before it kept)" \
        in row.comparisons
    assert row.flags == [] and not row.verdict.startswith("FLAGGED")


def test_a_stuck_hand_over_of_pytabby_flags_the_figure():
    bench = bench_with({"pytabby": 4})
    handover.run(bench)
    (row,) = bench.results.rows
    assert row.flags == ["pytabby: trial 4 never acquired within 30 s (its 3 trials before it kept)"]
    assert row.verdict.startswith("FLAGGED")


def test_a_contender_stuck_at_its_first_trial_leaves_its_ratio_out_and_the_others_and_the_targets_stand():
    bench = bench_with({"web_locks_pyodide_tabs": 1})
    handover.run(bench)
    (row,) = bench.results.rows
    assert "raw Web Locks in Pyodide tabs no trial completed" in row.comparisons
    assert "raw Web Locks in Pyodide tabs: trial 1 never acquired within 30 s (its 0 trials before it kept)" \
        in row.comparisons
    assert row.ratio == ("p50 1.00x broadcast-channel; p50 1.00x raw Web Locks; p50 1.00x, p99 1.00x a JS lock let go "
                         "at pagehide; p99 1.00x in tabs just booted")
    assert row.flags == []
    assert [target.what for target in row.targets] == ["p99 ms", "p50 x broadcast-channel"]


def test_pytabby_stuck_at_its_first_trial_is_flagged_with_no_target_judged():
    bench = bench_with({"pytabby": 1})
    handover.run(bench)
    (row,) = bench.results.rows
    assert row.pytabby == "no trial completed" and row.targets == []
    assert row.flags == ["pytabby: trial 1 never acquired within 30 s (its 0 trials before it kept)"]


def test_in_chromium_pytabby_is_also_closed_as_a_user_closes_a_tab_and_reported():
    bench = bench_with({})
    handover.run(bench)
    assert {queue.contender: queue.closes_running_beforeunload for queue in bench.queues} == {
        "web_locks": 0, "web_locks_pyodide_tabs": 0, "web_locks_at_pagehide": 0, "broadcast_channel": 0,
        "pytabby": 0, "pytabby_just_booted": 0, "pytabby_user_close": 5}
    (row,) = bench.results.rows
    assert "; pytabby closed as a user closes a tab (beforeunload runs; reported) p50 " in row.comparisons
    assert [target.what for target in row.targets] == ["p99 ms", "p50 x broadcast-channel"]


def test_the_kits_tabs_are_closed_only_as_the_kit_closes_them():
    bench = bench_with({}, context=KitContext.__new__(KitContext))
    handover.run(bench)
    assert [queue.contender for queue in bench.queues] == list(handover.LABELS)[:-1]
    assert "pytabby_user_close" not in bench.results.samples["handover_ms"]
    (row,) = bench.results.rows
    assert "closed as a user closes a tab" not in row.comparisons

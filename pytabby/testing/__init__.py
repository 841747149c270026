"""In-memory fakes of the browser, for unit tests of pytabby and of apps built on it.

They implement the same ports as the browser edge, with the browser's rules:
BroadcastChannel delivers a structured clone to every *other* channel object
of that name, on a later loop turn; Web Locks are exclusive, queued FIFO,
``steal`` aborts the holder, and a closed tab frees its locks. Timers run on a
``ManualClock`` that tests advance by hand, so no test sleeps.

    async def test_handover():
        browser = FakeBrowser()
        a, b = browser.open_tab(), browser.open_tab()
        la = create_leader_elector("k", platform=a); la.start()
        lb = create_leader_elector("k", platform=b); lb.start()
        await browser.settle()
        browser.close_tab(a)
        await browser.settle()
        assert lb.is_leader
"""

from ._channel import structured_clone
from ._clock import ManualClock
from ._server import FakeServer
from ._tabs import FakeBrowser, FakeTab

__all__ = ["FakeBrowser", "FakeServer", "FakeTab", "ManualClock", "structured_clone"]

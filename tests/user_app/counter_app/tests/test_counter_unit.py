from counter import Counter

from pytabby.testing import FakeBrowser


async def test_plus_one_reaches_every_tab_through_one_connection() -> None:
    browser = FakeBrowser()
    counters = [Counter("ws://app/ws", platform=browser.open_tab()) for _ in range(3)]
    await browser.settle()
    counters[2].plus_one()
    await browser.settle()
    assert [c.value for c in counters] == [1, 1, 1]
    assert len(browser.server.connections) == 1

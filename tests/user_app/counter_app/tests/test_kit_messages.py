"""Not the user's: records what the kit says about a page that lacks the boot line."""

import pytest

from pytabby.pytest import BootError, TabFactory


def test_a_page_without_the_boot_line_fails_fast_naming_what_it_waited_for(tabs: TabFactory) -> None:
    with pytest.raises(BootError) as failure:
        tabs(1, url="/no-boot.html")
    print("BOOT-LINE-MESSAGE:", failure.value)
    assert "window.pytabbyReady never appeared on /no-boot.html after 10 s (HTTP 200)" in str(failure.value)

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._core.envelope import check_payload, encode_json_batch, held_copy, lone_envelope
from .._loop import current_loop

if TYPE_CHECKING:
    from ._tabs import FakeTab


def structured_clone(value: Any) -> Any:
    """Copy ``value`` as postMessage would; ``TypeError`` (DataCloneError) for what pytabby cannot send.

    The rule is the core's ``check_payload``, so the fake refuses exactly what pytabby refuses.
    """
    try:
        check_payload(value)
    except TypeError as exc:
        raise TypeError(f"DataCloneError: {exc}") from None
    return held_copy(value)


class _FakeChannel:
    def __init__(self, tab: FakeTab, name: str, on_message: Callable[[Any], None]) -> None:
        self.tab = tab
        self.name = name
        self.on_message = on_message
        self.closed = False

    def post(self, data: Any) -> None:
        if self.closed:
            raise RuntimeError("InvalidStateError: channel is closed")
        clone = structured_clone(data)
        self.tab.browser.posts[self.name] = self.tab.browser.posts.get(self.name, 0) + 1
        for peer in self.tab.browser._channels_named(self.name):
            if peer is not self:
                current_loop().call_soon(peer._receive, clone)

    def post_envelope(self, type: str, payload: Any, tab_id: str, ts: float, seq: int, plain: bool) -> None:
        self.post(lone_envelope(type, payload, tab_id, ts, seq, plain))

    def post_json_batch(self, items: list[str], tab_id: str, ts: float) -> None:
        self.post(encode_json_batch(items, tab_id=tab_id, ts=ts))

    def _receive(self, data: Any) -> None:
        if not self.closed:
            self.tab.run(self.on_message, structured_clone(data))

    def close(self) -> None:
        self.closed = True
        self.tab.browser._channels.discard(self)

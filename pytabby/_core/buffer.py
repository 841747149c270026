"""A bounded FIFO with an overflow policy, the storage behind every stream.

    >>> buf = BoundedBuffer(2, "oldest")
    >>> for n in range(3): buf.put(n)
    >>> buf.take(), buf.dropped
    (1, 1)
"""

from __future__ import annotations

from collections import deque
from typing import Generic, Literal, TypeVar, get_args

from ..errors import BufferOverflowError

Overflow = Literal["oldest", "newest", "error"]
OVERFLOW_POLICIES: tuple[str, ...] = get_args(Overflow)

T = TypeVar("T")


def check_buffer_args(limit: int, overflow: str) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"buffer must be a positive int, got {limit!r}")
    if overflow not in OVERFLOW_POLICIES:
        raise ValueError(f"overflow must be one of {OVERFLOW_POLICIES}, got {overflow!r}")


class BoundedBuffer(Generic[T]):
    """FIFO of at most ``limit`` items.

    ``"oldest"`` drops the oldest buffered item to make room, ``"newest"`` drops
    the incoming one, ``"error"`` keeps what it has and makes the next ``take``
    raise ``BufferOverflowError`` once (a reader learns it missed messages).
    """

    def __init__(self, limit: int, overflow: Overflow) -> None:
        check_buffer_args(limit, overflow)
        self.limit = limit
        self.overflow = overflow
        self.dropped = 0
        self._items: deque[T] = deque()
        self._overflowed = False

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: T) -> None:
        if len(self._items) < self.limit:
            self._items.append(item)
            return
        self.dropped += 1
        if self.overflow == "oldest":
            self._items.popleft()
            self._items.append(item)
        elif self.overflow == "error":
            self._overflowed = True

    def ready(self) -> bool:
        """True when ``take`` returns or raises without waiting."""
        return bool(self._items) or self._overflowed

    def take(self) -> T:
        if self._overflowed:
            self._overflowed = False
            raise BufferOverflowError(self.limit)
        return self._items.popleft()

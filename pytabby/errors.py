"""Every exception pytabby raises, under one base class.

.. code-block:: text

    PytabbyError
    ├── ClosedError                  the bus, elector or socket was closed
    ├── BufferOverflowError          a stream with overflow="error" filled up
    ├── MalformedEnvelopeError       something on the channel is not a pytabby/purrtabby message
    ├── LeaderElectionUnavailable    no Web Locks API here (old browser, insecure context)
    ├── LockError                    a Web Lock request failed or the lock was taken away
    ├── QueueFullError               SharedSocket.send past queue_limit
    └── RequestError                 the server answered a request with "error"

``publish``/``send`` raise the built-in ``TypeError`` for payloads that cannot
cross tabs, and ``request`` raises the built-in ``TimeoutError``.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BufferOverflowError",
    "ClosedError",
    "LeaderElectionUnavailable",
    "LockError",
    "MalformedEnvelopeError",
    "PytabbyError",
    "QueueFullError",
    "RequestError",
]


class PytabbyError(Exception):
    """Base class of every pytabby error."""


class ClosedError(PytabbyError):
    """The object was closed; it cannot publish, send or start again."""


class BufferOverflowError(PytabbyError):
    """A stream created with ``overflow="error"`` received more than its buffer holds."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"stream buffer of {limit} messages overflowed; the reader fell behind")
        self.limit = limit


class MalformedEnvelopeError(PytabbyError):
    """A message on the channel is not a valid envelope; ``raw`` is what arrived."""

    def __init__(self, reason: str, raw: Any) -> None:
        super().__init__(f"malformed envelope: {reason}")
        self.reason = reason
        self.raw = raw


class LeaderElectionUnavailable(PytabbyError):
    """The Web Locks API (``navigator.locks``) is missing, so no election can run."""


class QueueFullError(PytabbyError):
    """``SharedSocket.send`` would exceed ``queue_limit`` unacknowledged frames."""


class RequestError(PytabbyError):
    """The server answered ``SharedSocket.request`` with an ``error``; ``error`` holds it."""

    def __init__(self, error: Any, request_id: str) -> None:
        super().__init__(f"request {request_id} failed: {error!r}")
        self.error = error
        self.request_id = request_id


class LockError(PytabbyError):
    """A Web Lock request failed or ended without being released; ``__cause__`` is the JS error."""

"""pytabby: cross-tab coordination for Python in the browser (Pyodide).

A tab bus on BroadcastChannel, leader election on Web Locks and one shared
WebSocket for all tabs of an app.

    from pytabby import create_bus
    bus = create_bus("my-app")
    bus.subscribe("hello", lambda msg: print(msg.payload))
    bus.publish("hello", {"from": bus.tab_id})

The distribution is ``pytabby-browser`` (``pip install pytabby-browser``; on PyPI
the name ``pytabby`` belongs to another project); the import package is ``pytabby``.
``Platform`` is the type of ``platform=`` arguments (``pytabby.testing.FakeTab``
satisfies it in unit tests).
"""

from typing import TYPE_CHECKING, Any

from ._core.envelope import Message
from ._core.safe_json import JSONTooDeepError, loads as safe_loads
from ._ports import Platform
from .bus import TabBus, create_bus
from .emitter import Stream
from .errors import (
    BufferOverflowError,
    ClosedError,
    LeaderElectionUnavailable,
    LockError,
    MalformedEnvelopeError,
    PytabbyError,
    QueueFullError,
    RequestError,
)

if TYPE_CHECKING:
    from .leader import LeaderElector, LeaderEvent, create_leader_elector
    from .shared_socket import Heartbeat, SharedSocket, create_shared_socket

__version__ = "0.2.0"

# Imported on first use: a tab that only needs the bus does not compile them at boot.
_LAZY = {
    "LeaderElector": "leader", "LeaderEvent": "leader", "create_leader_elector": "leader",
    "Heartbeat": "shared_socket", "SharedSocket": "shared_socket", "create_shared_socket": "shared_socket",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'pytabby' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "BufferOverflowError",
    "ClosedError",
    "Heartbeat",
    "JSONTooDeepError",
    "LeaderElectionUnavailable",
    "LeaderElector",
    "LockError",
    "LeaderEvent",
    "MalformedEnvelopeError",
    "Message",
    "Platform",
    "PytabbyError",
    "QueueFullError",
    "RequestError",
    "SharedSocket",
    "Stream",
    "TabBus",
    "create_bus",
    "create_leader_elector",
    "create_shared_socket",
    "safe_loads",
]

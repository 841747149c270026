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

from ._core.envelope import Message
from ._core.safe_json import JSONTooDeepError, loads as safe_loads
from ._ports import Platform
from .bus import TabBus, create_bus
from .emitter import Stream
from .leader import LeaderElector, LeaderEvent, create_leader_elector
from .shared_socket import Heartbeat, SharedSocket, create_shared_socket
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

__version__ = "0.2.0"

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

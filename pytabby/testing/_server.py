from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from .._core.link_io import PING_PREFIX
from .._core.link_lead import wire_size
from .._core.requests import answer, confirm_id_of, confirmation, parse_request
from .._loop import current_loop
from .._ports import SocketListener

if TYPE_CHECKING:
    from ._tabs import FakeTab


class FakeServer:
    """The server end of fake WebSockets: a relay like the project's server, inspectable.

    It answers requests and confirms confirmed sends by the same rules as the real
    server (``pytabby._core.requests``): ``echo``, ``delay`` (on the browser's clock), ``ignore``.
    ``stalled`` makes it a stopped process: it reads nothing and sends nothing, sockets stay open.
    ``slow_network`` keeps what tabs send in their sockets' buffers (``bufferedAmount``) until
    ``transmit``; a tab closed meanwhile loses its buffer, as a browser tearing the tab down does.
    ``network_behind`` takes what tabs send out of their buffers but holds it on the way until
    ``transmit``: a tab closed meanwhile loses it too, as a browser whose network process is behind.
    ``received`` is every frame but the shared socket's heartbeat pings (answered, counted in ``pings``).
    """

    def __init__(self) -> None:
        self.connections: list[_FakeSocket] = []
        self.peak_connections = 0
        self.received: list[str | bytes] = []
        self.pings = 0
        self.refusing = False
        self.relay = True
        self.stalled = False
        self.slow_network = False
        self.network_behind = False
        self._held: list[tuple[_FakeSocket, str | bytes]] = []
        self._clients: list[_FakeSocket] = []  # every socket that connected, closed ones too

    def _accept(self, socket: _FakeSocket) -> None:
        self._clients.append(socket)
        if self.refusing:
            current_loop().call_soon(socket._server_closed, 1006, "refused", False)
            return
        self.connections.append(socket)
        self.peak_connections = max(self.peak_connections, len(self.connections))
        current_loop().call_soon(socket._opened)

    def _receive(self, socket: _FakeSocket, data: str | bytes) -> None:
        if self.stalled:
            self._held.append((socket, data))
            return
        request = parse_request(data)
        if request is not None and request.request_id.startswith(PING_PREFIX):
            self.pings += 1
        else:
            self.received.append(data)
        if request is not None:
            reply = answer(request)
            if reply.text is not None:
                self._reply_later(socket, reply.text, reply.delay)
            return
        confirm_id = confirm_id_of(data)
        if self.relay:
            self.broadcast(data)
        if confirm_id is not None:
            socket.push(confirmation(confirm_id))

    def _reply_later(self, socket: _FakeSocket, text: str, delay: float) -> None:
        if delay == 0:
            socket.push(text)
        else:
            socket.tab.browser.clock.call_later(delay, lambda: socket.push(text))

    def resume(self) -> None:
        """End a stall: what the stalled server held back is read now, in order."""
        self.stalled = False
        held, self._held = self._held, []
        for socket, data in held:  # written before any close: a stopped process still reads it
            self._receive(socket, data)

    def broadcast(self, data: str | bytes) -> None:
        """Send ``data`` to every connected fake socket, as the real server's ``/control/broadcast`` does."""
        if self.stalled:
            return
        for socket in list(self.connections):
            socket.push(data)

    def transmit(self) -> None:
        """What waits in the tabs' socket buffers, or on the way, arrives, in order (see ``slow_network``,
        ``network_behind``)."""
        for socket in self._clients:
            socket.transmit()

    def drop_all(self, code: int = 1012) -> None:
        """Close every connection from the server side with ``code`` (1012: a restart), as an outage does."""
        for socket in list(self.connections):
            socket._server_closed(code, "dropped", False)

    def close_all(self, code: int = 1001, handshake: float = 0.1) -> None:
        """Send every connection a close frame: each socket is closing at once (a tab's sends into it
        are discarded, as the browser does) and fires its close event ``handshake`` seconds later."""
        for socket in list(self.connections):
            socket.closing = True
            socket.tab.browser.clock.call_later(handshake, functools.partial(socket._server_closed, code, "closing", True))

    def _forget(self, socket: _FakeSocket) -> None:
        if socket in self.connections:
            self.connections.remove(socket)


class _FakeSocket:
    def __init__(self, tab: FakeTab, url: str, listener: SocketListener) -> None:
        self.tab = tab
        self.url = url
        self.listener = listener
        self.open = False
        self.closing = False  # the server's close frame came; the close event has not yet
        self.closed = False
        self.buffer: list[str | bytes] = []  # sent, not yet left the tab (``slow_network``)
        self.on_the_way: list[str | bytes] = []  # left the tab, not yet at the server (``network_behind``)
        self._buffered = 0
        tab.browser.server._accept(self)

    def _opened(self) -> None:
        if not self.closed:
            self.open = True
            self.tab.run(self.listener.on_open)

    def push(self, data: str | bytes) -> None:
        """The server sends ``data`` to this client."""
        current_loop().call_soon(self._deliver, data)

    def _deliver(self, data: str | bytes) -> None:
        if self.open and not self.closed:
            self.tab.run(self.listener.on_message, data)

    @property
    def buffered_amount(self) -> int:
        return self._buffered

    def send(self, data: str | bytes) -> None:
        if not self.open and not self.closed:
            raise RuntimeError("InvalidStateError: still connecting")
        self._buffered += wire_size(data)
        if self.closed or self.closing:
            return  # the browser discards it, still counted in bufferedAmount
        self.buffer.append(data)
        server = self.tab.browser.server
        if not server.slow_network:
            self._leave()
            if not server.network_behind:
                self.transmit()

    def transmit(self) -> None:
        """What waits in this socket's buffer, or on the way, reaches the server (even once closed:
        a close handshake follows the data)."""
        self._leave()
        sent, self.on_the_way = self.on_the_way, []
        for data in sent:
            self.tab.browser.server._receive(self, data)

    def _leave(self) -> None:
        left, self.buffer = self.buffer, []
        for data in left:
            self._buffered -= wire_size(data)
        self.on_the_way.extend(left)

    def tear_down(self) -> None:
        """The tab is gone: what its buffer still held, or its network had not sent, never arrives."""
        self.buffer = []
        self.on_the_way = []
        self.close()

    def close(self, code: int = 1000, reason: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        self.open = False
        self.tab.browser.server._forget(self)

    def _server_closed(self, code: int, reason: str, clean: bool) -> None:
        if self.closed:
            return
        self.close()
        self.tab.run(self.listener.on_close, code, reason, clean)

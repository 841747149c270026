"""A shared counter: every tab shows it, +1 in any tab updates all, only the leader holds the socket."""

from collections.abc import Callable

from pytabby import Platform, create_shared_socket


class Counter:
    def __init__(self, url: str, show: Callable[[int], None] = print, platform: Platform | None = None) -> None:
        self.value = 0
        self.show = show
        self.sock = create_shared_socket(url, key="counter", platform=platform)
        self.sock.on_message(self._on_frame)

    def _on_frame(self, data: str | bytes) -> None:
        if data == "+1":
            self.value += 1
            self.show(self.value)

    def plus_one(self) -> None:
        self.sock.send("+1")


if __name__ == "__main__":  # in a page
    import js
    from pyodide.ffi import create_proxy

    def show(value: int) -> None:
        js.document.getElementById("count").textContent = str(value)

    counter = Counter(f"ws://{js.location.host}/ws", show)
    js.document.getElementById("plus").addEventListener("click", create_proxy(lambda event: counter.plus_one()))

"""``Closeable``: the three ways every pytabby resource closes.

``close()`` (sync, idempotent), ``with``/``async with``, and a ``ResourceWarning``
from the garbage collector if it was never closed (as anyio's memory streams do).
"""

from __future__ import annotations

import warnings
from typing import Any


class Closeable:
    def close(self) -> None:
        raise NotImplementedError

    def _needs_close(self) -> bool:
        return not getattr(self, "_closed", True)

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> Any:
        return self.__enter__()

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        if self._needs_close():
            warnings.warn(f"unclosed {self!r}; call close() or use it as a context manager", ResourceWarning,
                          stacklevel=2)

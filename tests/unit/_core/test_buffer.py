import pytest

from pytabby import BufferOverflowError
from pytabby._core.buffer import BoundedBuffer


def fill(policy: str, count: int, limit: int = 3) -> BoundedBuffer[int]:
    buffer: BoundedBuffer[int] = BoundedBuffer(limit, policy)  # type: ignore[arg-type]
    for n in range(count):
        buffer.put(n)
    return buffer


def drain(buffer: BoundedBuffer[int]) -> list[int]:
    return [buffer.take() for _ in range(len(buffer))]


def test_oldest_policy_keeps_the_newest_items():
    buffer = fill("oldest", 5)
    assert drain(buffer) == [2, 3, 4] and buffer.dropped == 2


def test_newest_policy_keeps_the_first_items():
    buffer = fill("newest", 5)
    assert drain(buffer) == [0, 1, 2] and buffer.dropped == 2


def test_error_policy_raises_once_then_yields_what_it_kept():
    buffer = fill("error", 4)
    assert buffer.ready()
    with pytest.raises(BufferOverflowError, match="3 messages"):
        buffer.take()
    assert drain(buffer) == [0, 1, 2] and buffer.dropped == 1


def test_under_the_limit_nothing_is_dropped():
    buffer = fill("error", 3)
    assert drain(buffer) == [0, 1, 2] and buffer.dropped == 0


@pytest.mark.parametrize(("limit", "policy"), [(0, "oldest"), (-1, "oldest"), (True, "oldest"), (3, "lifo")])
def test_bad_arguments_are_refused(limit, policy):
    with pytest.raises(ValueError):
        BoundedBuffer(limit, policy)

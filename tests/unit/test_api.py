"""The public surface: the names the issues promise, importable in plain CPython."""

import inspect
import subprocess
import sys

import pytabby


def test_all_lists_exactly_the_public_names_and_each_exists():
    assert sorted(pytabby.__all__) == sorted({
        "BufferOverflowError", "ClosedError", "LeaderElectionUnavailable", "LeaderElector", "LeaderEvent",
        "MalformedEnvelopeError", "Message", "Platform", "PytabbyError", "QueueFullError", "RequestError",
        "SharedSocket", "Stream", "TabBus", "create_bus", "create_leader_elector", "create_shared_socket",
        "JSONTooDeepError", "safe_loads", "Heartbeat", "LockError",
    })
    for name in pytabby.__all__:
        assert getattr(pytabby, name) is not None


def test_factories_take_the_promised_arguments_in_order():
    assert list(inspect.signature(pytabby.create_bus).parameters)[:4] == ["channel", "tab_id", "buffer", "overflow"]
    assert list(inspect.signature(pytabby.create_leader_elector).parameters)[:2] == ["key", "tab_id"]
    assert list(inspect.signature(pytabby.create_shared_socket).parameters)[:5] == [
        "url", "key", "protocols", "reconnect", "queue_limit"]


def test_every_error_derives_from_the_one_base():
    for name in ("BufferOverflowError", "ClosedError", "JSONTooDeepError", "LeaderElectionUnavailable",
                 "MalformedEnvelopeError", "QueueFullError", "RequestError"):
        assert issubclass(getattr(pytabby, name), pytabby.PytabbyError)


def test_importing_pytabby_and_its_fakes_touches_no_browser_module():
    code = "import sys, pytabby, pytabby.testing; print(sorted(m for m in sys.modules if m in ('js', 'pyodide')))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"


def test_outside_a_browser_the_default_platform_says_what_to_do():
    import pytest

    with pytest.raises(RuntimeError, match="platform="):
        pytabby.create_bus("x")


def test_the_package_is_typed():
    from pathlib import Path

    assert (Path(pytabby.__file__).parent / "py.typed").exists()


def test_every_public_name_and_its_public_members_have_a_docstring():
    undocumented = []
    for name in pytabby.__all__:
        obj = getattr(pytabby, name)
        if not inspect.getdoc(obj):
            undocumented.append(name)
        if inspect.isclass(obj):
            for attr, value in vars(obj).items():
                member = value.fget if isinstance(value, property) else value
                if not attr.startswith("_") and callable(member) and not (member.__doc__ or "").strip():
                    undocumented.append(f"{name}.{attr}")
    assert undocumented == []

"""pytabby's test kit for multi-tab tests of Pyodide apps (``pip install "pytabby-browser[testing]"``).

The plugin (``pytabby.pytest.plugin``) gives the fixtures ``tabs``, ``run_py``,
``pytabby_server``, ``pytabby_control``; these helpers work on the tab handles
``tabs(n)`` returns, in every engine::

    from pytabby.pytest import kill_leader, wait_for_leader, wait_py

    def test_hand_over(tabs, run_py):
        pages = tabs(3)
        for page in pages:
            run_py(page, "from pytabby import create_leader_elector\\n"
                         "le = create_leader_elector('k').start()")
        _, rest = kill_leader(pages, "le")
        wait_for_leader(rest, "le")
"""

from .cluster import freeze, kill_leader, wait_for_leader
from .config import Settings, load_settings
from .control import Control, server_stats
from .engines.base import Engine, ScriptError, Tab, TabCrashed, Unsupported
from .pages import BootError, EngineFaultWarning, PyError, TabFactory, run_py, wait_py

__all__ = [
    "BootError",
    "Control",
    "Engine",
    "EngineFaultWarning",
    "PyError",
    "ScriptError",
    "Settings",
    "Tab",
    "TabCrashed",
    "TabFactory",
    "Unsupported",
    "freeze",
    "kill_leader",
    "load_settings",
    "run_py",
    "server_stats",
    "wait_for_leader",
    "wait_py",
]

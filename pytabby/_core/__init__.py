"""The pure core: logic with no ``js``, no ``pyodide`` and no I/O, testable in CPython."""

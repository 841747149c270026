"""pytabby's test kit for multi-tab tests of Pyodide apps."""

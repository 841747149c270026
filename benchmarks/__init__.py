"""pytabby's benchmarks, one module per figure; run them with ``python -m benchmarks``."""

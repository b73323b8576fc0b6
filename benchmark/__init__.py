"""medlt-bench: protocols, training engine, evaluation, run grid, results, statistics, CLI."""

__version__ = "0.1.0"

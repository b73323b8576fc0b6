"""medlt-bench, the benchmark: training (training/), grids of runs (grid/), results as data (results/), their
analysis (analysis/) and the command line (cli.py, commands/). The layout and who imports whom: docs/architecture.md.
"""

__version__ = "0.1.0"

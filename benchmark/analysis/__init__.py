"""Analysis of a results directory: statistics, comparisons, the reproduction check, the paper's tables."""

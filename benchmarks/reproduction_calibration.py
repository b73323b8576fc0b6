"""How often does ``check`` fail an exact reproduction, and how often does it pass a wrong one?

Simulates a reference mean (``n_ref`` seeds, reported as mean ± sample std, like the paper's)
and a reproduction (``n`` seeds) drawn from normal distributions with the same seed-to-seed
standard deviation σ, and applies the rule of :func:`benchmark.analysis.reproduction.allowed_band`
(tolerance 0, so the statistics alone decide):

* false-fail rate: the reproduction's true mean equals the reference's (aim: about 5 %);
* pass rate at 2σ: the reproduction's true mean is 2σ off (lower is better: the power is
  1 − this);

for references with a std (Welch) and without one (the runs' spread stands in for both), next to
the previous rule (the runs' own 95 % t-interval only). Usage::

    python benchmarks/reproduction_calibration.py [--trials 20000] [--seeds 3] [--sigma 1.0]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import stats as sps

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmark.analysis.reproduction import RefCell, allowed_band


def pass_rate(
    shift: float, n: int, n_ref: int, sigma: float, trials: int, with_std: bool, rule: str, rng: np.random.Generator
) -> float:
    """Fraction of simulated cells that pass when the reproduction's true mean is ``shift`` off."""
    passed = 0
    for _ in range(trials):
        ref_seeds = rng.normal(0.0, sigma, n_ref)
        runs = rng.normal(shift, sigma, n)
        ref = RefCell(
            "sim", "m", "d", "all", float(ref_seeds.mean()), float(ref_seeds.std(ddof=1)) if with_std else None, n=n_ref
        )
        if rule == "welch":
            allowed = allowed_band(runs, ref, tolerance=0.0, max_band=float("inf")).allowed
        else:  # the previous rule: the runs' own t-interval half-width
            allowed = float(sps.t.ppf(0.975, n - 1) * runs.std(ddof=1) / np.sqrt(n))
        passed += abs(runs.mean() - ref.value) <= allowed
    return passed / trials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=20000)
    parser.add_argument("--seeds", type=int, default=3, help="seeds of the reproduction (n)")
    parser.add_argument("--reference-seeds", type=int, default=3, help="seeds behind the reference mean (n_ref)")
    parser.add_argument("--sigma", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(
        f"n = {args.seeds} runs, n_ref = {args.reference_seeds} reference seeds, σ = {args.sigma}, "
        f"{args.trials} trials each, tolerance 0"
    )
    print(f"{'rule':<40} {'false-fail (exact)':>18} {'pass (2σ off)':>14}")
    for label, rule, with_std in (
        ("Welch, reference with std (paper All)", "welch", True),
        ("Welch, reference without std", "welch", False),
        ("previous: runs' own t-interval", "own", True),
    ):
        exact = pass_rate(0.0, args.seeds, args.reference_seeds, args.sigma, args.trials, with_std, rule, rng)
        off = pass_rate(2 * args.sigma, args.seeds, args.reference_seeds, args.sigma, args.trials, with_std, rule, rng)
        print(f"{label:<40} {1 - exact:>17.1%} {off:>14.1%}")


if __name__ == "__main__":
    main()

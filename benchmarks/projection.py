"""Projection of the paper grid on one GPU: images trained, FLOPs and hours at a stated sustained throughput.

    python benchmarks/projection.py [--rows paper|all] [--tflops 75 150 250] [--seeds 3]

For every run of the grid (Table 2's 21 rows, or every registered row, × the paper's 5 datasets × seeds,
``paper`` protocol with its per-dataset settings), counted from the protocol and the engine's rules, not
measured on a GPU:

* stage 1 once per *job* (rows of one method share their stage-1 checkpoint, as the grid runs them):
  ``epochs × ⌊N / batch⌋`` steps of ``batch × views`` images (+ ``batch`` for a paired stream: BBN,
  Balanced-MixUp), forward and backward;
* stage 2 of each two-stage row with its schedule (:func:`benchmark.stage2.stage2_plan`: the official ones of LWS
  and MaxNorm under ``paper``): forward only through the frozen extractor; a best-validation-epoch kind
  adds one validation pass per epoch, a τ search one validation pass;
* every run: one test and one validation pass.

FLOPs per image are counted with ``torch.utils.flop_counter.FlopCounterMode`` on the timm backbone at the protocol's
resolution (forward, and forward + backward); heads, projection MLPs and BBN's duplicated last block are left out
(< 2 % of ResNet-50's forward at 224 px). Hours = FLOPs / sustained throughput; the sustained TFLOP/s is an
assumption given on the command line, since no GPU has run the grid yet (``benchmarks/gpu_check.sh`` measures it).
Training-split sizes are the dataset cards' (``docs/datasets/``); Flower-LT's depends on the real files and is
estimated with n_max = 100 (ρ = 10, 102 classes).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from benchmark.protocol import Protocol
    from methods import Method

#: (train, val, test) images per dataset, from the dataset cards (docs/datasets/*.md).
SPLITS = {
    "skin7": (7512, 501, 2002),
    "xray9": (13446, 896, 3586),  # card: train counts 3158 … 83; val / test 5 % / 20 % of patients
    "pathmnist-lt": (21282, 10004, 7180),
    "flower-lt": (sum(round(100 * 10 ** (-i / 101)) for i in range(102)), 510, 2040),  # estimated, n_max = 100
    "dogs-lt": (4698, 600, 8580),
}
#: Hours the whole Table 2 should take on one H100-class GPU.
TARGET_HOURS = 12.0


@dataclass
class Cost:
    """Images through the backbone: trained (forward + backward) and evaluated (forward only)."""

    trained: int = 0
    forward: int = 0

    def add(self, other: Cost) -> None:
        self.trained += other.trained
        self.forward += other.forward

    def flops(self, per_image: tuple[float, float]) -> float:
        forward, train = per_image
        return self.trained * train + self.forward * forward


def flops_per_image(backbone: str, size: int) -> tuple[float, float]:
    """(forward, forward + backward) FLOPs of one image through ``backbone`` at ``size`` px, counted."""
    import timm
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model = timm.create_model(backbone, pretrained=False, num_classes=0)
    x = torch.randn(2, 3, size, size)
    with FlopCounterMode(display=False) as forward:
        model.eval()
        with torch.no_grad():
            model(x)
    model.train()
    with FlopCounterMode(display=False) as train:
        model(x).sum().backward()
    return forward.get_total_flops() / 2, train.get_total_flops() / 2


def stage1_cost(method: Method, protocol: Protocol, train: int) -> Cost:
    """Images of one stage-1 training (the grid's steps: full batches, at most ``max_steps_per_epoch``)."""
    steps = max(1, train // protocol.batch_size)
    if protocol.max_steps_per_epoch:
        steps = min(steps, protocol.max_steps_per_epoch)
    per_step = protocol.batch_size * max(1, method.views) + (protocol.batch_size if method.paired_sampling else 0)
    return Cost(trained=protocol.epochs * steps * per_step)


def run_cost(method: Method, protocol: Protocol, splits: tuple[int, int, int]) -> Cost:
    """Images of one run after its stage 1: its stage 2 (forward only), τ search, and the final evaluation."""
    from benchmark.training.stage2 import stage2_plan

    train, val, test = splits
    cost = Cost(forward=val + test)
    if method.rebalance is None:
        return cost
    kind = method.rebalance.stage2
    if kind.trains:
        plan = stage2_plan(kind, protocol)
        steps = max(1, train // plan.batch_size)
        cost.forward += plan.epochs * steps * plan.batch_size + (plan.epochs * val if plan.best_epoch_on_val else 0)
    if kind.searches:
        cost.forward += val
    return cost


def project(rows: list[str], seeds: int) -> dict[str, dict[str, float]]:
    """Per dataset: jobs, runs, images trained / evaluated and FLOPs of the grid, with stage-1 sharing."""
    from benchmark.grid import expand_grid, group_jobs
    from benchmark.protocol import load_protocol
    from methods import create_method

    protocol = load_protocol("paper")
    methods = [create_method(r) for r in rows]
    out: dict[str, dict[str, float]] = {}
    per_image: dict[tuple[str, int], tuple[float, float]] = {}
    for dataset, splits in SPLITS.items():
        jobs = group_jobs(expand_grid([dataset], methods, [None], list(range(seeds)), protocol))
        total = Cost()
        for job in jobs:
            total.add(stage1_cost(job.stage1_method, job.protocol, splits[0]))
            for run in job.runs:
                total.add(run_cost(run.method, job.protocol, splits))
        key = (jobs[0].backbone, jobs[0].protocol.image_size)
        if key not in per_image:
            per_image[key] = flops_per_image(*key)
        out[dataset] = {
            "jobs": len(jobs),
            "runs": sum(len(j.runs) for j in jobs),
            "trained": total.trained,
            "forward": total.forward,
            "flops": total.flops(per_image[key]),
            "train_flops_per_image": per_image[key][1],
        }
    return out


def markdown(table: dict[str, dict[str, float]], tflops: list[float]) -> str:
    """The projection as a markdown table (hours at each assumed sustained TFLOP/s), a total row and the throughput
    the 12-hour target needs."""
    per_image = next(iter(table.values()))["train_flops_per_image"]
    speeds = " | ".join(f"h at {t:g} TFLOP/s (~{t * 1e12 / per_image:,.0f} img/s)" for t in tflops)
    lines = [
        f"| dataset | stage-1 jobs | runs | images trained (M) | images evaluated (M) | PFLOP | {speeds} |",
        "| --- | ---: | ---: | ---: | ---: | ---: |" + " ---: |" * len(tflops),
    ]
    for name, row in [*table.items(), ("total", _total(table))]:
        hours = " | ".join(f"{row['flops'] / (t * 1e12) / 3600:.1f}" for t in tflops)
        lines.append(
            f"| {name} | {row['jobs']:.0f} | {row['runs']:.0f} | {row['trained'] / 1e6:.2f} | "
            f"{row['forward'] / 1e6:.2f} | {row['flops'] / 1e15:,.0f} | {hours} |"
        )
    needed = _total(table)["flops"] / (TARGET_HOURS * 3600) / 1e12
    lines.append("")
    lines.append(
        f"{TARGET_HOURS:g} h needs a sustained {needed:.0f} TFLOP/s, i.e. about {needed * 1e12 / per_image:,.0f} "
        f"ResNet-50 training images/s at 224 px ({per_image / 1e9:.1f} GFLOP per image, forward + backward)."
    )
    return "\n".join(lines)


def _total(table: dict[str, dict[str, float]]) -> dict[str, float]:
    keys = ("jobs", "runs", "trained", "forward", "flops")
    return {k: sum(row[k] for row in table.values()) for k in keys}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", choices=["paper", "all"], default="paper", help="Table 2's 21 rows, or every row")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--tflops", type=float, nargs="+", default=[75.0, 150.0, 250.0], help="assumed sustained TFLOP/s (several)"
    )
    args = parser.parse_args(argv)
    if args.rows == "paper":
        from table2 import paper_table2_rows

        rows = paper_table2_rows()
    else:
        from methods import method_entries

        rows = [e.id for e in method_entries()]
    print(f"{len(rows)} rows x {len(SPLITS)} datasets x {args.seeds} seeds, paper protocol")
    print(markdown(project(rows, args.seeds), args.tflops))
    return 0


if __name__ == "__main__":
    sys.exit(main())

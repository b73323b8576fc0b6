"""Peak memory of one stage-1 training step, per protocol and per kind of row: the README's memory table.

    python benchmarks/memory.py [--protocols smoke quick paper] [--batches 4 8] [--device cpu|cuda]

Each measurement runs in a fresh process: the protocol's backbone (random initialisation) and the method's model,
then one step of the engine's stage-1 loop (``benchmark.stage1.train_stage1`` with one step: augmentation,
forward, loss, backward, SGD) on random images at the protocol's ``cache_size`` and ``image_size``, in the
protocol's precision. Memory is the peak above what the process held before the step: on the CPU the resident set
(Linux ``VmHWM``, reset through ``/proc/self/clear_refs``), on CUDA ``torch.cuda.max_memory_allocated``. Each row is
measured at two batch sizes; the per-image slope gives the step at the protocol's batch size (activation memory
is linear in the batch), plus the model, gradients and momentum (``3 × parameters``), which the step also holds.
One representative row per shape of step: CE (1 view), CE+SC (2 views, projection head), BBN (a paired
stream, two branches), BCL (3 views, two MLPs).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ROWS = ("ce", "ce+sc", "bbn", "bcl")
NUM_CLASSES = 7


def _rss_peak_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def one_step(method_id: str, protocol_name: str, batch: int, device_name: str) -> dict[str, float]:
    """Peak bytes of one stage-1 step above the bytes held before it, and the model's parameter bytes."""
    import numpy as np
    import torch

    from benchmark.protocol import load_protocol
    from benchmark.training import inputs, precision, stage1
    from benchmark.training.backbones import create_backbone
    from benchmark.training.inputs import ImageBank
    from methods import create_method

    p = dataclasses.replace(
        load_protocol(protocol_name),
        pretrained=False,
        batch_size=batch,
        epochs=1,
        warmup_epochs=0,
        max_steps_per_epoch=1,
    )
    device = torch.device(device_name)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2 * batch, p.cache_size, p.cache_size, 3), dtype=np.uint8)
    labels = np.arange(2 * batch) % NUM_CLASSES
    with precision.numeric_precision(p.precision):
        split = inputs.TrainSplit(
            ImageBank(images, np.arange(2 * batch), device),
            labels,
            torch.tensor(np.bincount(labels, minlength=NUM_CLASSES), dtype=precision.PRECISIONS[p.precision]).to(
                device
            ),
        )
        method = create_method(method_id)
        backbone, dim = create_backbone(p.backbone, False)
        model = method.build(backbone, dim, NUM_CLASSES, split.class_counts.cpu())
        params = sum(q.numel() * q.element_size() for q in model.parameters())
        if device.type == "cuda":
            model.to(device)
            torch.cuda.reset_peak_memory_stats()
            before = torch.cuda.memory_allocated()
        else:
            Path("/proc/self/clear_refs").write_text("5")  # reset the peak resident set to the current one
            before = _rss_peak_kib() * 1024
        stage1.train_stage1(method, model, split, p, device, seed=0)
        peak = torch.cuda.max_memory_allocated() if device.type == "cuda" else _rss_peak_kib() * 1024
    return {"step_bytes": float(peak - before), "param_bytes": float(params)}


def measure(method_id: str, protocol_name: str, batch: int, device: str) -> dict[str, float]:
    """:func:`one_step` in a fresh Python process (a clean allocator and peak)."""
    out = subprocess.run(
        [sys.executable, __file__, "--one", method_id, protocol_name, str(batch), "--device", device],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def table(protocols: list[str], batches: tuple[int, int], device: str) -> str:
    """Markdown: per protocol and row, the measured steps and the step at the protocol's batch size."""
    from benchmark.protocol import load_protocol

    lo, hi = batches
    lines = [
        f"| protocol | row | batch | step at batch {lo} (MiB) | step at batch {hi} (MiB) | "
        "per image (MiB) | step at the protocol's batch (GiB) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in protocols:
        protocol = load_protocol(name)
        for row in ROWS:
            a, b = measure(row, name, lo, device), measure(row, name, hi, device)
            slope = (b["step_bytes"] - a["step_bytes"]) / (hi - lo)
            at_batch = a["step_bytes"] + slope * (protocol.batch_size - lo)
            lines.append(
                f"| {name} | {row} | {protocol.batch_size} | {a['step_bytes'] / 2**20:,.0f} | "
                f"{b['step_bytes'] / 2**20:,.0f} | {slope / 2**20:.1f} | {at_batch / 2**30:.2f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--protocols", nargs="+", default=["smoke", "quick", "paper"])
    parser.add_argument("--batches", nargs=2, type=int, default=[4, 8], metavar=("LOW", "HIGH"))
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--one", nargs=3, metavar=("ROW", "PROTOCOL", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        row, protocol, batch = args.one
        print(json.dumps(one_step(row, protocol, int(batch), args.device)))
        return 0
    print(table(args.protocols, (args.batches[0], args.batches[1]), args.device))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The device and the numbers a training runs in: device choice, float precision, bf16 autocast, memory format."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` -> cuda when available, else cpu."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda: no CUDA device is available")
    return torch.device(name)


def autocast(device: torch.device, precision: str = "float32") -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA (``float32`` or ``bf16``), and on the CPU with ``precision = "bf16"`` (the GPU's
    numerics, testable without a GPU); nothing otherwise (``float32`` on the CPU stays exactly reproducible)
    or in ``float64``."""
    if precision == "bf16" or (device.type == "cuda" and precision != "float64"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


#: Parameter and tensor dtype of each protocol ``precision`` ("bf16": float32 weights under bf16 autocast).
PRECISIONS = {"float32": torch.float32, "float64": torch.float64, "bf16": torch.float32}


def use_channels_last(precision: str) -> bool:
    """Channels-last batches and weights, on CUDA and CPU alike, except in float64.

    On the CPU, oneDNN's channels-last convolutions train the quick protocol's ResNet about 19 %
    faster than NCHW (benchmarks/engine_throughput.py); float64 has no oneDNN kernels, and its
    golden results were recorded in NCHW.
    """
    return precision != "float64"


@contextlib.contextmanager
def numeric_precision(precision: str) -> Iterator[None]:
    """Create every tensor and parameter in the dtype of ``precision`` (:data:`PRECISIONS`) inside the block.

    float64 is the portable reference path: with float32, the summation order of a reduction
    (which depends on the thread count and on the CPU's SIMD kernels) moves a short training
    enough to flip test predictions; in float64 those differences stay ~1e-12 and never do.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; valid: {', '.join(PRECISIONS)}")
    before = torch.get_default_dtype()
    torch.set_default_dtype(PRECISIONS[precision])
    try:
        yield
    finally:
        torch.set_default_dtype(before)

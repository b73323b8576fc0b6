"""Checkpoint files (stage 1 and epoch resume): written atomically with a SHA-256, verified on load.

A file is ``MEDLT-CKPT1 <sha256 of the payload>\\n`` followed by ``torch.save`` bytes, so one
atomic rename publishes the data and its checksum together. A file that fails the check or
does not load (a disk fault, a file truncated outside this tool) is moved aside as
``<name>.corrupt-<UTC time>`` with a one-line warning, and the caller trains again instead of
failing every re-run on torch's unpickling message. Files from before the checksum (plain
``torch.save``) still load.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..files import atomic_write_bytes

MAGIC = b"MEDLT-CKPT1 "
ZIP_MAGIC = b"PK\x03\x04"  # torch.save's archive, as written before checksums
_HEADER = len(MAGIC) + 64 + 1  # magic, hex digest, newline


class CorruptCheckpoint(Exception):
    """A checkpoint whose checksum does not match or whose contents do not load."""


def save_checkpoint(obj: Any, path: Path) -> None:
    """``torch.save(obj)`` to ``path`` atomically, with the payload's SHA-256 in front."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    payload = buf.getvalue()
    atomic_write_bytes(path, MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)


def load_checkpoint(path: Path, map_location: Any = "cpu") -> Any:
    """The object saved at ``path``; raises :class:`CorruptCheckpoint` saying what is wrong."""
    data = Path(path).read_bytes()
    if data.startswith(MAGIC):
        expected, payload = data[len(MAGIC) : _HEADER - 1].decode("ascii", "replace"), data[_HEADER:]
        if hashlib.sha256(payload).hexdigest() != expected:
            raise CorruptCheckpoint("checksum mismatch (truncated or damaged file)")
        data = payload
    elif not data.startswith(ZIP_MAGIC):
        raise CorruptCheckpoint("not a checkpoint file (neither a checksum header nor a torch archive)")
    try:
        return torch.load(io.BytesIO(data), map_location=map_location, weights_only=True)
    except Exception as e:  # torch raises RuntimeError, UnpicklingError, EOFError, ... for a bad file
        # torch's own text for damaged pickle data is a lecture on weights_only: say what it means
        what = (
            "damaged data" if isinstance(e, pickle.UnpicklingError) else " ".join(str(e).split()).split(". ")[0][:120]
        )
        raise CorruptCheckpoint(f"unreadable ({type(e).__name__}: {what})") from None


def set_aside(path: Path, reason: str) -> Path:
    """Rename an unusable checkpoint to ``<name>.corrupt-<UTC time>`` and say so in one line on stderr."""
    path = Path(path)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target, n = path.with_name(f"{path.name}.corrupt-{stamp}"), 1
    while target.exists():  # keep every copy set aside, even two in one second
        target, n = path.with_name(f"{path.name}.corrupt-{stamp}-{n}"), n + 1
    os.replace(path, target)
    print(f"warning: {path}: {reason}; moved aside to {target.name}, training again", file=sys.stderr)
    return target


def load_or_set_aside(path: Path, map_location: Any = "cpu") -> Any | None:
    """The checkpoint's contents, or None when it is absent or was corrupt (and is now set aside)."""
    try:
        return load_checkpoint(path, map_location)
    except FileNotFoundError:
        return None
    except CorruptCheckpoint as e:
        set_aside(path, str(e))
        return None


def state_mismatch(module: nn.Module, state: Any) -> str | None:
    """Why ``state`` cannot be loaded into ``module`` (keys, shapes), or None when it fits.

    Checked before ``load_state_dict``, which would otherwise copy the matching tensors
    before raising and leave a half-loaded model behind.
    """
    if not isinstance(state, dict):
        return f"holds a {type(state).__name__}, not a state dict"
    own = module.state_dict()
    if set(own) != set(state):
        diff = sorted(set(own) ^ set(state))
        return f"does not match the model ({len(diff)} differing keys, e.g. {diff[0]!r})"
    for key, tensor in own.items():
        if not isinstance(state[key], torch.Tensor) or state[key].shape != tensor.shape:
            return f"does not match the model (tensor {key!r})"
    return None

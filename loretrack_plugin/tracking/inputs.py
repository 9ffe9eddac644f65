"""Checking and converting what users hand to a tracker: frames, initial boxes, crops -> tensors; the
network's input normalisation (:func:`normalise`), shared with the training data."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

from ..config import IMAGENET_MEAN, IMAGENET_STD  # noqa: F401 (re-exported: the normalisation's statistics)
from ..formats.images import to_rgb_uint8  # noqa: F401 (frames -> uint8 RGB: one home, re-exported here)


def check_init_box(box: Sequence[float], height: int, width: int) -> list:
    """Validate an initial (x, y, w, h) box against a frame of ``height`` x ``width``; returns floats."""
    try:
        vals = [float(v) for v in np.asarray(box, dtype=np.float64).reshape(-1)]
    except (TypeError, ValueError):
        raise ValueError(f"init box: expected 4 numbers (x, y, w, h), got {box!r}") from None
    if len(vals) != 4:
        raise ValueError(f"init box: expected 4 numbers (x, y, w, h), got {len(vals)}: {vals}")
    if not all(math.isfinite(v) for v in vals):
        raise ValueError(f"init box {vals}: contains NaN or infinity")
    x, y, w, h = vals
    if w <= 0 or h <= 0:
        raise ValueError(f"init box {vals}: width and height must be positive (x, y, w, h format)")
    if x >= width or y >= height or x + w <= 0 or y + h <= 0:
        raise ValueError(f"init box {vals}: entirely outside the {width}x{height} frame")
    return vals


def normalise(x: np.ndarray, axis: int = -1, mean: Sequence[float] = IMAGENET_MEAN,
              std: Sequence[float] = IMAGENET_STD) -> np.ndarray:
    """The network's input normalisation, for tracking and training alike: ``(x - mean) / std`` per
    channel of a float32 RGB array scaled to [0, 1], whose channels lie along ``axis`` (negative:
    -1 for (H, W, 3), -3 for (3, H, W)); ImageNet statistics unless given."""
    shape = (3,) + (1,) * (-axis - 1)
    return (x - np.asarray(mean, np.float32).reshape(shape)) / np.asarray(std, np.float32).reshape(shape)


def normalise_patch(patch: np.ndarray) -> torch.Tensor:
    """(S, S, 3) uint8 RGB crop -> (1, 3, S, S) float32: (x / 255 - mean) / std, ImageNet statistics.

    The tensor is a channels-last view of the (S, S, 3) result, the memory layout the network has
    always been given (it selects the convolution kernels, hence the last bits of the outputs)."""
    x = normalise(np.asarray(patch).astype(np.float32) / 255.0)
    return torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1).unsqueeze(0)

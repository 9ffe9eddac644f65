"""Checking and converting what users hand to a tracker: frames, initial boxes, crops -> tensors."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

# ImageNet statistics of the MAE/ViT backbone (docs/method.md §3.4)
MEAN = torch.tensor([0.485, 0.456, 0.406], dtype=torch.float32).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225], dtype=torch.float32).view(1, 3, 1, 1)


def _uint16_to_uint8(a: np.ndarray) -> np.ndarray:
    # 65535 / 257 = 255 exactly: full 16-bit range onto the full 8-bit range, rounded
    return np.round(a.astype(np.float32) / 257.0).astype(np.uint8)


def _from_pil(image) -> np.ndarray:
    mode = image.mode
    if mode in ("RGB", "RGBA", "L"):
        return np.asarray(image)
    if mode.startswith("I;16") or mode == "I":
        a = np.asarray(image)
        if a.dtype != np.uint16:
            if a.size and (a.min() < 0 or a.max() > 65535):
                raise ValueError(f"frame: 32-bit integer image with values outside 0..65535 "
                                 f"({a.min()}..{a.max()}); convert it to 8-bit RGB")
            a = a.astype(np.uint16)
        return a
    return np.asarray(image.convert("RGB"))


def to_rgb_uint8(frame) -> np.ndarray:
    """Frame -> contiguous (H, W, 3) uint8 RGB.

    Accepted: (H, W, 3) uint8 RGB; grayscale (H, W) or (H, W, 1) (replicated to 3 channels); RGBA
    (H, W, 4) (alpha dropped); 16-bit (uint16) frames of any of these layouts (scaled by 255/65535 and
    rounded); PIL images of any mode. Anything else raises ValueError.
    """
    if hasattr(frame, "mode") and hasattr(frame, "convert"):  # PIL.Image without importing PIL
        frame = _from_pil(frame)
    a = np.asarray(frame)
    if a.dtype == np.uint16:
        a = _uint16_to_uint8(a)
    elif a.dtype != np.uint8:
        raise ValueError(f"frame: unsupported pixel type {a.dtype} (pass uint8 RGB, or uint16)")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    elif a.ndim == 3 and a.shape[2] == 4:
        a = a[:, :, :3]
    elif not (a.ndim == 3 and a.shape[2] == 3):
        raise ValueError(f"frame: expected an (H, W, 3) RGB image, got shape {a.shape}")
    if a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"frame: empty image of shape {a.shape}")
    return np.ascontiguousarray(a)


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


def normalise_patch(patch: np.ndarray) -> torch.Tensor:
    """(S, S, 3) uint8 RGB crop -> (1, 3, S, S) float32: (x / 255 - mean) / std, ImageNet statistics."""
    t = torch.from_numpy(np.ascontiguousarray(patch)).float().permute(2, 0, 1).unsqueeze(0)
    return ((t / 255.0) - MEAN) / STD

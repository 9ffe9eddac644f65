"""The square crop around a box, shared by tracking and training (docs/method.md §3.3, §5.2).

Reproduces the official ``sample_target`` bit for bit: side ``ceil(sqrt(w*h) * factor)``, corner by
Python ``round`` (halves to even), zero padding with one extra pixel on the right/bottom whenever the
crop touches that border (the last image column/row is replaced by padding), ``cv2.resize``
INTER_LINEAR to the output side.

A crop that shares no usable pixel with the frame (wholly outside it, or touching only the last
column/row, which the rule above pads) is all padding of the same shape. The official slicing gets
that case wrong: its empty source is refused by OpenCV 5's ``copyMakeBorder`` and padded by 4.x into
a patch that is not square (thousands of pixels a side for a far box); for a crop wholly left of or
above the frame, numpy reads the negative slice end from the far side, so image content appears where
the crop should be padding.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np


def crop_side(box: Sequence[float], factor: float) -> int:
    """Side in pixels of the square crop for an (x, y, w, h) box."""
    w, h = float(box[2]), float(box[3])
    side = math.ceil(math.sqrt(w * h) * factor)
    if not side >= 1:  # also catches NaN
        raise ValueError(f"box {list(map(float, box))} is too small to crop (side {side})")
    return side


def sample_target(image: np.ndarray, box: Sequence[float], factor: float, output_size: Optional[int] = None
                  ) -> Tuple[np.ndarray, float, np.ndarray]:
    """Crop a square of side ``ceil(sqrt(w*h)*factor)`` centred on ``box`` = (x, y, w, h).

    Returns (patch (out, out, C) uint8, resize_factor = out / side, pad_mask (out, out) bool with True
    on padding). With ``output_size=None`` the patch keeps the crop side and the factor is 1.
    """
    x, y, w, h = (float(v) for v in box)
    side = crop_side(box, factor)
    x1 = round(x + 0.5 * w - side * 0.5)
    y1 = round(y + 0.5 * h - side * 0.5)
    x2, y2 = x1 + side, y1 + side
    H, W = image.shape[:2]
    if not (_overlaps(x1, x2, W) and _overlaps(y1, y2, H)):
        return _all_padding(image, side, output_size)
    x1_pad, y1_pad = max(0, -x1), max(0, -y1)
    x2_pad, y2_pad = max(x2 - W + 1, 0), max(y2 - H + 1, 0)
    # identical slicing to the official code; every crop that gets here keeps an image pixel, so no
    # slice is empty and no slice end negative
    patch = image[y1 + y1_pad:y2 - y2_pad, x1 + x1_pad:x2 - x2_pad]
    patch = cv2.copyMakeBorder(patch, y1_pad, y2_pad, x1_pad, x2_pad, cv2.BORDER_CONSTANT)
    ph, pw = patch.shape[:2]
    mask = np.ones((ph, pw))
    mask[y1_pad:(-y2_pad if y2_pad else None), x1_pad:(-x2_pad if x2_pad else None)] = 0
    if output_size is None:
        return patch, 1.0, mask.astype(bool)
    patch = cv2.resize(patch, (output_size, output_size))
    mask = cv2.resize(mask, (output_size, output_size)).astype(bool)
    return patch, output_size / side, mask


def _overlaps(lo: int, hi: int, n: int) -> bool:
    """Does the crop span [lo, hi) keep any of the pixels [0, n - 1) that the padding rule leaves?"""
    return min(hi, n - 1) > max(lo, 0)


def _all_padding(image: np.ndarray, side: int, output_size: Optional[int]) -> Tuple[np.ndarray, float, np.ndarray]:
    """What :func:`sample_target` returns for a crop with no image pixel in it."""
    out = side if output_size is None else output_size
    patch = np.zeros((out, out) + image.shape[2:], dtype=image.dtype)
    return patch, out / side, np.ones((out, out), dtype=bool)


def box_to_crop(box: Sequence[float], crop_box: Sequence[float], resize_factor: float, output_size: int,
                normalize: bool = True) -> np.ndarray:
    """Map an image (x, y, w, h) box into the crop taken around ``crop_box`` (training labels).

    Uses the official ``(out - 1) / 2`` centre convention of ``transform_image_to_crop`` (the tracker
    maps back with ``side / 2``: a half-pixel inconsistency inherited from OSTrack, docs/method.md, pitfall P8).
    """
    b = np.asarray(box, dtype=np.float64)
    c = np.asarray(crop_box, dtype=np.float64)
    center = (output_size - 1) / 2 + ((b[:2] + 0.5 * b[2:]) - (c[:2] + 0.5 * c[2:])) * resize_factor
    wh = b[2:] * resize_factor
    out = np.concatenate([center - 0.5 * wh, wh])
    return out / output_size if normalize else out

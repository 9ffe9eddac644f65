"""From the network's maps to an image box, as the official tracker does it (docs/method.md §3.2).

All map arithmetic stays in float32 torch, in the official order of operations, so that boxes agree
with the reference implementation to float32 rounding; only the map-back and the clip run on Python
floats (float64), also as in the reference.
"""
from __future__ import annotations

import math
from typing import List, Sequence, Tuple

import torch

from ..models.head import decode_cells, peak_index


def hann1d(n: int) -> torch.Tensor:
    """Raised-cosine window of length n that is never zero at its ends (float32, shape (n,)).

    w[k] = 0.5 * (1 - cos(2*pi*k / (n + 1)))  for k = 1..n.
    For n = 6: 0.1883, 0.6113, 0.9505, 0.9505, 0.6113, 0.1883.
    """
    if n < 1:
        raise ValueError(f"window length must be >= 1, got {n}")
    k = torch.arange(1, n + 1, dtype=torch.float32)
    return 0.5 * (1 - torch.cos((2 * math.pi / (n + 1)) * k))


def hann2d(n: int) -> torch.Tensor:
    """Outer product of two :func:`hann1d` windows, shape (1, 1, n, n): w2[i, j] = w[i] * w[j]."""
    w = hann1d(n)
    return w.reshape(1, 1, n, 1) * w.reshape(1, 1, 1, n)


def peak_cell(response: torch.Tensor) -> Tuple[int, int]:
    """(row, col) of the maximum of a (1, 1, F, F) map; ties go to the first row-major index
    (:func:`~loretrack_plugin.models.head.peak_index`)."""
    F = response.shape[-1]
    idx = int(peak_index(response.reshape(1, 1, -1, F)))
    return idx // F, idx % F


def decode_at(cell: Tuple[int, int], size_map: torch.Tensor, offset_map: torch.Tensor) -> torch.Tensor:
    """Normalised (cx, cy, w, h) of the box at ``cell`` = (iy, ix) of batch item 0, float32 shape (4,)
    (:func:`~loretrack_plugin.models.head.decode_cells`).

    cx = (ix + offset_x[iy, ix]) / F,  cy = (iy + offset_y[iy, ix]) / F,  (w, h) = size[:, iy, ix].
    """
    iy, ix = cell
    F = size_map.shape[-1]
    index = torch.tensor([[iy * F + ix]])
    return decode_cells(index, size_map[:1].float(), offset_map[:1].float())[0]


def crop_box_to_pixels(box_norm: torch.Tensor, search_size: int, resize_factor: float) -> List[float]:
    """Normalised crop box -> pixels of the original image, still relative to the crop (float32 math).

    ``search_size / resize_factor`` is the crop side in original pixels.
    """
    return (box_norm * search_size / resize_factor).tolist()


def map_box_back(box_cxcywh: Sequence[float], prev_box_xywh: Sequence[float], search_size: int,
                 resize_factor: float) -> List[float]:
    """Crop-relative (cx, cy, w, h) in pixels -> image (x, y, w, h).

    The crop was centred on the previous box, so
    cx_img = cx + (cx_prev - side/2),  cy_img = cy + (cy_prev - side/2),  side/2 = 0.5 * S / resize_factor.
    """
    cx_prev = prev_box_xywh[0] + 0.5 * prev_box_xywh[2]
    cy_prev = prev_box_xywh[1] + 0.5 * prev_box_xywh[3]
    cx, cy, w, h = box_cxcywh
    half_side = 0.5 * search_size / resize_factor
    cx_img = cx + (cx_prev - half_side)
    cy_img = cy + (cy_prev - half_side)
    return [cx_img - 0.5 * w, cy_img - 0.5 * h, w, h]


def clip_box(box_xywh: Sequence[float], height: int, width: int, margin: float = 10) -> List[float]:
    """Keep a box inside the image with at least ``margin`` pixels of it visible.

    x1 = min(max(0, x1), W - m),  x2 = min(max(m, x2), W)   (same for y),
    w = max(m, x2 - x1),  h = max(m, y2 - y1).
    """
    x1, y1, w, h = box_xywh
    x2, y2 = x1 + w, y1 + h
    x1 = min(max(0, x1), width - margin)
    x2 = min(max(margin, x2), width)
    y1 = min(max(0, y1), height - margin)
    y2 = min(max(margin, y2), height)
    return [x1, y1, max(margin, x2 - x1), max(margin, y2 - y1)]

"""Training labels: the CenterNet Gaussian heatmap of the search box (method.md §4.4).

The heatmap lives on the student's F x F grid; the box it is drawn from is the normalised
(x, y, w, h) of the search crop, the same at every resolution (pitfall P4: never rescale it).
"""
from __future__ import annotations

import numpy as np
import torch


def gaussian_radius(w: torch.Tensor, h: torch.Tensor, min_overlap: float = 0.7) -> torch.Tensor:
    """CornerNet radius in cells, the version OSTrack uses (each root divided by 2, not by 2a).

    r1 = (b1 + sqrt(b1^2 - 4 c1)) / 2 with b1 = w+h, c1 = wh(1-o)/(1+o);
    r2 = (b2 + sqrt(b2^2 - 16 c2)) / 2 with b2 = 2(w+h), c2 = (1-o)wh;
    r3 = (b3 + sqrt(b3^2 - 16 o c3)) / 2 with b3 = -2o(w+h), c3 = (o-1)wh;
    radius = min(r1, r2, r3).
    """
    o = min_overlap
    b1 = h + w
    c1 = w * h * (1 - o) / (1 + o)
    r1 = (b1 + torch.sqrt(b1 ** 2 - 4 * c1)) / 2
    b2 = 2 * (h + w)
    c2 = (1 - o) * w * h
    r2 = (b2 + torch.sqrt(b2 ** 2 - 16 * c2)) / 2
    b3 = -2 * o * (h + w)
    c3 = (o - 1) * w * h
    r3 = (b3 + torch.sqrt(b3 ** 2 - 16 * o * c3)) / 2
    return torch.minimum(r1, torch.minimum(r2, r3))


def gaussian_kernel(radius: int) -> torch.Tensor:
    """(2r+1, 2r+1) Gaussian with peak 1 and sigma = (2r+1)/6; values below eps * max are set to 0."""
    sigma = (2 * radius + 1) / 6
    y, x = np.ogrid[-radius:radius + 1, -radius:radius + 1]
    g = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    g[g < np.finfo(g.dtype).eps * g.max()] = 0
    return torch.from_numpy(g).float()


def gaussian_heatmap(boxes: torch.Tensor, grid: int, min_overlap: float = 0.7) -> torch.Tensor:
    """Heatmap (B, grid, grid) for normalised (x, y, w, h) boxes (B, 4).

    Box in cells: b = box * grid; peak cell = round(centre) (halves to even, like torch.round);
    radius = int(max(gaussian_radius(w, h), 0)); the Gaussian is pasted with max() and clipped at the
    borders. A centre outside the grid gives an all-zero map (no positive for the focal loss).
    """
    boxes = boxes.detach().float().cpu()
    B = boxes.shape[0]
    out = torch.zeros(B, grid, grid)
    cells = boxes * grid
    wh = cells[:, 2:]
    centres = (cells[:, :2] + wh / 2).round()
    radii = gaussian_radius(wh[:, 0], wh[:, 1], min_overlap).clamp_min(0).to(torch.int64)
    for i in range(B):
        if not torch.isfinite(centres[i]).all():
            continue
        x, y, r = int(centres[i, 0]), int(centres[i, 1]), int(radii[i])
        if not (0 <= x < grid and 0 <= y < grid):
            continue
        g = gaussian_kernel(r)
        left, right = min(x, r), min(grid - x, r + 1)
        top, bottom = min(y, r), min(grid - y, r + 1)
        patch = out[i, y - top:y + bottom, x - left:x + right]
        out[i, y - top:y + bottom, x - left:x + right] = torch.maximum(
            patch, g[r - top:r + bottom, r - left:r + right])
    return out

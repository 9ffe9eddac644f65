"""Training labels: the CenterNet Gaussian heatmap of the search box (docs/method.md §4.4).

The heatmap lives on the student's F x F grid; the box it is drawn from is the normalised
(x, y, w, h) of the search crop, the same at every resolution (docs/method.md, pitfall P4: never rescale it).
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
    """Heatmap (B, grid, grid) for normalised (x, y, w, h) boxes (B, 4), on the boxes' device.

    Box in cells: b = box * grid; peak cell c = round(centre) (halves to even, like torch.round);
    r = int(max(gaussian_radius(w, h), 0)), sigma = (2r + 1) / 6. Cell (i, j) (row i, column j) gets

        H[i, j] = exp(-((j - cx)^2 + (i - cy)^2) / (2 sigma^2))   if |j - cx| <= r and |i - cy| <= r,

    0 elsewhere and wherever the value is below float64 eps (the kernel of :func:`gaussian_kernel`
    pasted at the peak and clipped at the borders). A centre outside the grid or not finite gives
    an all-zero map (no positive for the focal loss).

    Built with tensor operations only (no per-sample Python loop, no host synchronisation), so the
    labels of a batch already on the GPU stay there; the exponent is evaluated in float64 like the
    kernel, then stored as float32.
    """
    boxes = boxes.detach().float()
    dev = boxes.device
    cells = boxes * grid
    wh = cells[:, 2:]
    centres = (cells[:, :2] + wh / 2).round()                                            # (B, 2) x, y
    radii = gaussian_radius(wh[:, 0], wh[:, 1], min_overlap).clamp_min(0).to(torch.int64)  # (B,)
    inside = (torch.isfinite(centres).all(dim=1) & (centres >= 0).all(dim=1) & (centres < grid).all(dim=1))
    c = torch.where(inside[:, None], centres, torch.zeros_like(centres)).to(torch.int64)   # (B, 2)
    r = torch.where(inside, radii, torch.zeros_like(radii))
    idx = torch.arange(grid, device=dev)
    dx = idx[None, :] - c[:, :1]                                                          # (B, grid) columns
    dy = idx[None, :] - c[:, 1:]                                                          # (B, grid) rows
    two_sigma2 = 2.0 * ((2 * r + 1).double() / 6) ** 2                                    # (B,)
    d2 = (dx[:, None, :] ** 2 + dy[:, :, None] ** 2).double()                             # (B, grid, grid)
    g = torch.exp(-d2 / two_sigma2[:, None, None])
    window = (dx.abs() <= r[:, None])[:, None, :] & (dy.abs() <= r[:, None])[:, :, None]
    keep = window & (g >= torch.finfo(torch.float64).eps) & inside[:, None, None]
    return torch.where(keep, g, torch.zeros_like(g)).float()

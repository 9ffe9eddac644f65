"""Optional training augmentations beyond the official pipeline (all off by default).

The official processing (:mod:`.processing`) jitters the crop box, flips, converts to grayscale now
and then and scales brightness. That is enough for four large datasets; trained on a few dozen
videos, a network learns the videos themselves (the miniature teacher reached pair IoU 0.59 on its
training pairs and 0.40 on held-out videos). These augmentations make the pairs harder in the ways
tracking fails on unseen footage:

* ``distractor_prob``: paste the annotated target of *another* sequence into the search crop, away
  from the target, with a feathered elliptical edge (no rectangle seam to recognise it by). The
  network has to tell the target from another object, not just find "an object".
* ``occlusion_prob``: cover part of the search target (``occlusion`` = the largest covered fraction
  of its area) with a patch of the same crop's background.
* ``blur_prob``: Gaussian blur of a crop (sigma U[0.3, 1.5] px of the output crop), each crop drawn
  on its own: motion and defocus blur of real video.
* ``color``: contrast and saturation factors U[1 - color, 1 + color], each crop drawn on its own.

The labels never change: the target stays where it is, pastes and occluders never cover its centre.
Each augmentation draws from the sample's generator only when its probability is above zero, so
with the defaults every sample is bit for bit the official one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Mapping, Optional, Tuple

import cv2
import numpy as np


@dataclass(frozen=True)
class Augment:
    """Probabilities and strengths of the optional augmentations (see the module docstring)."""
    distractor_prob: float = 0.0
    occlusion_prob: float = 0.0
    occlusion: float = 0.4
    blur_prob: float = 0.0
    color: float = 0.0

    def __post_init__(self):
        for f in fields(self):
            v = getattr(self, f.name)
            if not (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)):
                raise ValueError(f"data.augment.{f.name}={v!r} must be a number")
        for name in ("distractor_prob", "occlusion_prob", "blur_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"data.augment.{name}={getattr(self, name)!r} must be in [0, 1]")
        if not 0.0 < self.occlusion < 1.0:
            raise ValueError(f"data.augment.occlusion={self.occlusion!r} must be in (0, 1)")
        if not 0.0 <= self.color < 1.0:
            raise ValueError(f"data.augment.color={self.color!r} must be in [0, 1)")

    @classmethod
    def from_config(cls, section: Optional[Mapping]) -> "Augment":
        section = dict(section or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(section) - known)
        if unknown:
            raise ValueError(f"data.augment: unknown key(s) {unknown} (known: {sorted(known)})")
        return cls(**section)

    @property
    def active(self) -> bool:
        return any(getattr(self, n) > 0 for n in ("distractor_prob", "occlusion_prob", "blur_prob", "color"))


def _overlaps(a: Tuple[float, float, float, float], b: Tuple[float, float, float, float]) -> bool:
    """Do two (x, y, w, h) boxes share area?"""
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def paste_distractor(rng: np.random.Generator, patch: np.ndarray, target_px: np.ndarray, source: np.ndarray,
                     source_box: np.ndarray, tries: int = 10) -> bool:
    """Paste ``source``'s ``source_box`` object into ``patch`` (in place) at the target's size x
    exp(U[-0.3, 0.3]), somewhere it does not touch the target box ``target_px`` (x, y, w, h in
    crop pixels). Returns False (patch untouched) when no such place is found."""
    size = patch.shape[0]
    sx, sy, sw, sh = (float(v) for v in source_box)
    tw, th = max(float(target_px[2]), 1.0), max(float(target_px[3]), 1.0)
    if not (sw >= 2 and sh >= 2):
        return False
    scale = math.sqrt(tw * th / (sw * sh)) * math.exp(rng.uniform(-0.3, 0.3))
    dw, dh = int(round(sw * scale)), int(round(sh * scale))
    if dw < 4 or dh < 4 or dw > size // 2 or dh > size // 2:
        return False
    x0, y0 = int(math.floor(sx)), int(math.floor(sy))
    x1, y1 = int(math.ceil(sx + sw)), int(math.ceil(sy + sh))
    H, W = source.shape[:2]
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, W), min(y1, H)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return False
    obj = cv2.resize(source[y0:y1, x0:x1], (dw, dh), interpolation=cv2.INTER_LINEAR)
    target = tuple(float(v) for v in target_px)
    for _ in range(tries):
        px, py = int(rng.integers(0, size - dw + 1)), int(rng.integers(0, size - dh + 1))
        if _overlaps((px, py, dw, dh), target):
            continue
        mask = np.zeros((dh, dw), np.float32)
        cv2.ellipse(mask, (dw // 2, dh // 2), (max(dw // 2 - 1, 1), max(dh // 2 - 1, 1)), 0, 0, 360, 1.0, -1)
        sigma = 0.12 * min(dw, dh)
        mask = cv2.GaussianBlur(mask, (0, 0), sigma)[:, :, None]
        region = patch[py:py + dh, px:px + dw].astype(np.float32)
        patch[py:py + dh, px:px + dw] = np.clip(region * (1 - mask) + obj.astype(np.float32) * mask + 0.5,
                                                0, 255).astype(patch.dtype)
        return True
    return False


def occlude(rng: np.random.Generator, patch: np.ndarray, target_px: np.ndarray, max_fraction: float) -> bool:
    """Cover up to ``max_fraction`` of the target box (crop pixels) with a copy of another part of
    ``patch`` (in place); the target's centre stays visible. Returns False when nothing was done."""
    size = patch.shape[0]
    tx, ty, tw, th = (float(v) for v in target_px)
    if tw < 4 or th < 4:
        return False
    frac = rng.uniform(0.1, max_fraction)
    aspect = math.exp(rng.uniform(-0.5, 0.5))
    rw = int(min(tw, max(2.0, tw * math.sqrt(frac) * aspect)))
    rh = int(min(th, max(2.0, th * math.sqrt(frac) / aspect)))
    # from one side of the target inwards, never past its centre
    side = int(rng.integers(4))
    cx, cy = tx + tw / 2, ty + th / 2
    if side == 0:    # left
        x, y = tx, rng.uniform(ty, ty + th - rh)
        rw = min(rw, int(cx - tx))
    elif side == 1:  # right
        rw = min(rw, int(tx + tw - cx))
        x, y = tx + tw - rw, rng.uniform(ty, ty + th - rh)
    elif side == 2:  # top
        x, y = rng.uniform(tx, tx + tw - rw), ty
        rh = min(rh, int(cy - ty))
    else:            # bottom
        rh = min(rh, int(ty + th - cy))
        x, y = rng.uniform(tx, tx + tw - rw), ty + th - rh
    x, y = int(round(x)), int(round(y))
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + rw, size), min(y + rh, size)
    w, h = x1 - x0, y1 - y0
    if w < 2 or h < 2:
        return False
    sx, sy = int(rng.integers(0, size - w + 1)), int(rng.integers(0, size - h + 1))
    patch[y0:y1, x0:x1] = patch[sy:sy + h, sx:sx + w].copy()
    return True


def blur(rng: np.random.Generator, patch: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(patch, (0, 0), rng.uniform(0.3, 1.5))


def color_jitter(rng: np.random.Generator, img: np.ndarray, strength: float) -> np.ndarray:
    """Contrast then saturation of a (3, H, W) float image in [0, 1] (not clamped here)."""
    contrast, saturation = rng.uniform(1 - strength, 1 + strength, size=2)
    img = img.mean() + contrast * (img - img.mean())
    gray = (0.299 * img[0] + 0.587 * img[1] + 0.114 * img[2])[None]
    return gray + saturation * (img - gray)

"""Synthetic tracking sequences that look like tracking: textured targets on textured backgrounds.

One sequence is a panning camera over a large textured background (smooth multi-octave noise plus
blobs and bars), a textured target (coloured noise with stripes, elliptic or rounded-box silhouette)
moving with smooth random acceleration while its scale and aspect ratio drift, one or two
distractors drawn with the same texture family, a moving occluder bar that passes over the target
(partial occlusion), and optionally absent spans where the target is hidden by a wall patch (full
occlusion) or leaves the frame (out of view).

Everything is drawn at integer pixel positions and the ground truth is exactly the drawn extent of
the target clipped to the image, so a perfect tracker gets IoU 1 on every visible frame.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Tuple

import cv2
import numpy as np


@dataclass
class SyntheticSequence:
    """Rendered frames and per-frame annotations of one sequence.

    Attributes:
        frames: list of N RGB uint8 images (H, W, 3).
        boxes: (N, 4) float ``[x, y, w, h]`` of the target clipped to the image; rows of absent
            frames hold the last visible box (layouts decide how to write absence).
        visible: (N,) bool, target at least partly visible.
        visible_ratio: (N,) float in [0, 1], visible target pixels / target pixels.
        full_occlusion: (N,) bool, hidden behind an occluder (absent).
        out_of_view: (N,) bool, outside the image (absent).
        cut_by_image: (N,) bool, target partly outside the image.
        size: (W, H) of the frames.
        object_class: a made-up class name (``blob`` / ``box``) for meta files.
    """
    frames: List[np.ndarray]
    boxes: np.ndarray
    visible: np.ndarray
    visible_ratio: np.ndarray
    full_occlusion: np.ndarray
    out_of_view: np.ndarray
    cut_by_image: np.ndarray
    size: Tuple[int, int]
    object_class: str = "blob"
    motion: List[str] = field(default_factory=list)

    @property
    def absent(self) -> np.ndarray:
        return ~self.visible


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: int, channels: int = 3) -> np.ndarray:
    """Value noise in [0, 1]: random values on a coarse grid of ``cell`` px, cubic-upsampled."""
    gh, gw = max(2, h // cell + 2), max(2, w // cell + 2)
    small = rng.random((gh, gw, channels), dtype=np.float32)
    big = cv2.resize(small, (gw * cell, gh * cell), interpolation=cv2.INTER_CUBIC)
    return np.clip(big[:h, :w], 0.0, 1.0).reshape(h, w, channels)


def _palette(rng: np.random.Generator, n: int, saturation: float, value: float) -> np.ndarray:
    """``n`` RGB colours in [0, 1] around a random hue."""
    hue = rng.uniform(0, 180)
    hsv = np.zeros((1, n, 3), np.float32)
    hsv[0, :, 0] = (hue + rng.normal(0, 12, n)) % 180
    hsv[0, :, 1] = np.clip(saturation + rng.normal(0, 0.1, n), 0, 1) * 255
    hsv[0, :, 2] = np.clip(value + rng.normal(0, 0.15, n), 0.1, 1) * 255
    rgb = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)
    return rgb[0].astype(np.float32) / 255.0


def _colourise(noise: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """Map scalar noise (H, W) in [0, 1] onto a colour ramp (K, 3)."""
    k = len(colours)
    t = np.clip(noise, 0, 1) * (k - 1)
    i = np.minimum(t.astype(np.int32), k - 2)
    f = (t - i)[..., None]
    return colours[i] * (1 - f) + colours[i + 1] * f


def make_background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A cluttered float RGB background (h, w, 3) in [0, 1]: noise octaves, blobs and bars."""
    n = 0.55 * _smooth_noise(rng, h, w, 48, 1)[..., 0] + 0.3 * _smooth_noise(rng, h, w, 12, 1)[..., 0] \
        + 0.15 * _smooth_noise(rng, h, w, 3, 1)[..., 0]
    bg = _colourise(n, _palette(rng, 4, saturation=0.35, value=0.55))
    for _ in range(int(rng.integers(8, 16))):
        c = _palette(rng, 1, 0.3, 0.5)[0]
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        if rng.random() < 0.5:
            ax = (int(rng.integers(8, max(9, w // 8))), int(rng.integers(8, max(9, h // 8))))
            cv2.ellipse(bg, (cx, cy), ax, float(rng.uniform(0, 180)), 0, 360, c.tolist(), -1, cv2.LINE_AA)
        else:
            x2, y2 = cx + int(rng.integers(10, max(11, w // 6))), cy + int(rng.integers(4, max(5, h // 10)))
            cv2.rectangle(bg, (cx, cy), (x2, y2), c.tolist(), -1)
    bg += (_smooth_noise(rng, h, w, 2, 3) - 0.5) * 0.08
    return np.clip(bg, 0, 1)


def make_object_texture(rng: np.random.Generator, size: int = 96, base_hue_rgb=None) -> np.ndarray:
    """A saturated, striped, noisy texture (size, size, 3) in [0, 1] for targets and distractors."""
    colours = _palette(rng, 3, saturation=0.85, value=0.8) if base_hue_rgb is None else base_hue_rgb
    n = 0.6 * _smooth_noise(rng, size, size, 16, 1)[..., 0] + 0.4 * _smooth_noise(rng, size, size, 4, 1)[..., 0]
    tex = _colourise(n, colours)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    ang, freq = rng.uniform(0, np.pi), rng.uniform(0.15, 0.35)
    stripes = 0.5 + 0.5 * np.sin(freq * (np.cos(ang) * xx + np.sin(ang) * yy))
    tex = tex * (0.7 + 0.3 * stripes[..., None])
    return np.clip(tex, 0, 1)


def make_mask(rng: np.random.Generator, size: int = 96) -> Tuple[np.ndarray, str]:
    """A filled silhouette (size, size) float in {0, 1} touching all four borders, and its kind."""
    m = np.zeros((size, size), np.float32)
    if rng.random() < 0.5:
        cv2.ellipse(m, (size // 2, size // 2), (size // 2, size // 2), 0, 0, 360, 1.0, -1)
        kind = "blob"
    else:
        r = int(size * rng.uniform(0.1, 0.3))
        m[r:size - r, :] = 1
        m[:, r:size - r] = 1
        for cx, cy in ((r, r), (size - 1 - r, r), (r, size - 1 - r), (size - 1 - r, size - 1 - r)):
            cv2.circle(m, (cx, cy), r, 1.0, -1)
        kind = "box"
    return m, kind


class _Mover:
    """A box centre moving with smooth random acceleration, bouncing inside [lo, hi]."""

    def __init__(self, rng, pos, speed, lo, hi):
        self.rng, self.p = rng, np.asarray(pos, np.float64)
        a = rng.uniform(0, 2 * np.pi)
        self.v = speed * np.array([np.cos(a), np.sin(a)])
        self.speed, self.lo, self.hi = speed, np.asarray(lo, float), np.asarray(hi, float)

    def step(self):
        self.v += self.rng.normal(0, 0.25 * self.speed, 2)
        n = np.linalg.norm(self.v)
        if n > 1.8 * self.speed:
            self.v *= 1.8 * self.speed / n
        self.p += self.v
        for k in range(2):
            if self.p[k] < self.lo[k] or self.p[k] > self.hi[k]:
                self.v[k] = -self.v[k]
                self.p[k] = np.clip(self.p[k], self.lo[k], self.hi[k])
        return self.p.copy()


def _paste(canvas: np.ndarray, tex: np.ndarray, mask: np.ndarray, x: int, y: int, w: int, h: int) -> np.ndarray:
    """Alpha-blend ``tex`` resized to (w, h) at (x, y); returns the drawn mask in canvas coordinates."""
    H, W = canvas.shape[:2]
    drawn = np.zeros((H, W), bool)
    if w < 1 or h < 1:
        return drawn
    t = cv2.resize(tex, (w, h), interpolation=cv2.INTER_LINEAR)
    m = cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST)
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if x1 <= x0 or y1 <= y0:
        return drawn
    tt, mm = t[y0 - y:y1 - y, x0 - x:x1 - x], m[y0 - y:y1 - y, x0 - x:x1 - x, None]
    canvas[y0:y1, x0:x1] = canvas[y0:y1, x0:x1] * (1 - mm) + tt * mm
    drawn[y0:y1, x0:x1] = mm[..., 0] > 0.5
    return drawn


def render_sequence(rng: np.random.Generator, n_frames: int, size: Tuple[int, int] = (320, 240),
                    absent_spans: bool = True, distractors: int = 2, occluder: bool = True) -> SyntheticSequence:
    """Render one sequence of ``n_frames`` frames of ``size`` = (W, H).

    The target's base side is 12-25 % of the shorter image side; per frame its scale follows a slow
    random walk in [0.6, 1.6] and its aspect ratio (w/h) in [0.5, 2]. With ``absent_spans`` and at
    least 20 frames, one span of 3..max(3, N/8) frames after the first quarter has the target fully
    occluded by a wall patch or moved out of view.
    """
    W, H = int(size[0]), int(size[1])
    if n_frames < 1:
        raise ValueError(f"a sequence needs at least 1 frame, got {n_frames}")
    pad = max(W, H) // 4
    world = make_background(rng, H + 2 * pad, W + 2 * pad)
    cam = _Mover(rng, (pad, pad), rng.uniform(0.3, 1.5), (0, 0), (2 * pad, 2 * pad))

    side = min(W, H) * rng.uniform(0.12, 0.25)
    tex = make_object_texture(rng)
    mask, kind = make_mask(rng)
    aspect0 = rng.uniform(0.6, 1.7)
    tgt = _Mover(rng, (rng.uniform(0.3, 0.7) * W, rng.uniform(0.3, 0.7) * H), rng.uniform(1.0, 4.0),
                 (0.1 * W, 0.1 * H), (0.9 * W, 0.9 * H))
    log_s, log_a = 0.0, np.log(aspect0)

    dis = []
    for _ in range(distractors):
        # same palette family as the target: the hard case for appearance-only matching
        d_tex = np.clip(make_object_texture(rng) * 0.4 + tex * 0.6, 0, 1)
        d_mask, _ = make_mask(rng)
        d_side = side * rng.uniform(0.7, 1.2)
        dis.append((d_tex, d_mask, d_side, _Mover(rng, (rng.uniform(0, W), rng.uniform(0, H)),
                                                  rng.uniform(1.0, 3.5), (0, 0), (W, H))))
    occ_tex = make_object_texture(rng, 64, _palette(rng, 3, 0.15, 0.35))
    occ_w = int(max(4, side * rng.uniform(0.3, 0.6)))
    occ_speed = rng.uniform(2.0, 5.0) * (1 if rng.random() < 0.5 else -1)
    occ_x = float(rng.uniform(0, W))

    absent_kind, span = None, (n_frames, n_frames)
    if absent_spans and n_frames >= 20:
        length = int(rng.integers(3, max(4, n_frames // 8 + 1)))
        start = int(rng.integers(n_frames // 4, max(n_frames // 4 + 1, n_frames - length - 2)))
        span = (start, start + length)
        absent_kind = "occlusion" if rng.random() < 0.5 else "out_of_view"

    frames, boxes = [], np.zeros((n_frames, 4))
    vis = np.zeros(n_frames, bool)
    ratio = np.zeros(n_frames)
    full_occ = np.zeros(n_frames, bool)
    oov = np.zeros(n_frames, bool)
    cut = np.zeros(n_frames, bool)
    last_box = None
    for f in range(n_frames):
        cx0, cy0 = (int(round(v)) for v in (cam.step() if f else cam.p))
        canvas = world[cy0:cy0 + H, cx0:cx0 + W].copy()
        canvas *= rng.uniform(0.92, 1.08)  # flicker / exposure change

        if f:
            log_s = float(np.clip(log_s + rng.normal(0, 0.03), np.log(0.6), np.log(1.6)))
            log_a = float(np.clip(log_a + rng.normal(0, 0.03), np.log(0.5), np.log(2.0)))
        c = tgt.step() if f else tgt.p.copy()
        a = np.exp(log_a)
        w = max(4, int(round(side * np.exp(log_s) * np.sqrt(a))))
        h = max(4, int(round(side * np.exp(log_s) / np.sqrt(a))))
        x, y = int(round(c[0] - w / 2)), int(round(c[1] - h / 2))
        in_span = span[0] <= f < span[1]
        if in_span and absent_kind == "out_of_view":
            x = W + 5  # the target left the frame

        for d_tex, d_mask, d_side, mover in dis[:1]:
            p = mover.step()
            _paste(canvas, d_tex, d_mask, int(p[0] - d_side / 2), int(p[1] - d_side / 2), int(d_side), int(d_side))
        seen = np.zeros((H, W), bool)
        target_px = 0
        if not (in_span and absent_kind == "out_of_view"):
            seen = _paste(canvas, tex, mask, x, y, w, h)
            target_px = max(1, int(cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST).sum()))
        for d_tex, d_mask, d_side, mover in dis[1:]:  # a distractor may pass in front of the target
            p = mover.step()
            d = _paste(canvas, d_tex, d_mask, int(p[0] - d_side / 2), int(p[1] - d_side / 2),
                       int(d_side), int(d_side))
            seen &= ~d
        if in_span and absent_kind == "occlusion":
            ow, oh = int(w * 1.6) + 8, int(h * 1.6) + 8
            _paste(canvas, occ_tex, np.ones((8, 8), np.float32), x - (ow - w) // 2, y - (oh - h) // 2, ow, oh)
            seen[:] = False  # the wall patch is larger than the target: nothing of it shows
        if occluder:
            occ_x = (occ_x + occ_speed) % (W + occ_w) - occ_w
            seen &= ~_paste(canvas, occ_tex, np.ones((8, 8), np.float32), int(occ_x), 0, occ_w, H)

        canvas += rng.normal(0, 0.015, canvas.shape).astype(np.float32)
        frames.append((np.clip(canvas, 0, 1) * 255 + 0.5).astype(np.uint8))

        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
        ratio[f] = seen.sum() / target_px if target_px else 0.0
        vis[f] = ratio[f] > 0 and x1 > x0 and y1 > y0
        if f == 0:  # the init frame must show the target
            vis[f], ratio[f] = True, max(ratio[f], 1e-3)
        if vis[f]:
            last_box = np.array([x0, y0, x1 - x0, y1 - y0], float)
            cut[f] = (x0, y0, x1, y1) != (x, y, x + w, y + h)
        else:
            # hidden by the wall patch, the occluder bar or a distractor, unless it left the frame
            oov[f] = absent_kind == "out_of_view" and in_span
            full_occ[f] = not oov[f]
        boxes[f] = last_box
    motion = ["scale_change", "aspect_change", "camera_motion"] + (["partial_occlusion"] if occluder else []) \
        + (["distractors"] if distractors else []) + ([absent_kind] if absent_kind else [])
    return SyntheticSequence(frames=frames, boxes=boxes, visible=vis, visible_ratio=np.clip(ratio, 0, 1),
                             full_occlusion=full_occ, out_of_view=oov, cut_by_image=cut, size=(W, H),
                             object_class=kind, motion=motion)

"""Per-sample processing of a (template frame, search frame) pair, STARK/OSTrack style (docs/method.md §5.2).

Order of operations, as the official pipeline runs it:

1. **joint** (one decision for both frames): grayscale with p = ``grayscale_prob`` (0.05), horizontal
   flip of frame and box with p = ``flip_prob`` (0.5);
2. for template, then search: **box jitter** ``wh' = wh * exp(n * scale_jitter)`` (n ~ N(0, 1) per
   axis), ``centre' = centre + sqrt(w'h') * centre_jitter * (u - 0.5)`` (u ~ U[0, 1) per axis); the
   crop (:func:`loretrack_plugin.tracking.crop.sample_target`, zero padding) is taken around the
   jittered box; the ground-truth box is mapped into it and normalised by the crop size;
3. **per crop** (independent draws; training only): brightness factor U[1 - b, 1 + b] (b = 0.2) on
   x/255, clamped to [0, 1]; a second horizontal flip with p = ``crop_flip_prob`` (0.5) in normalised
   coordinates (x' = 1 - x - w); then ImageNet mean/std normalisation. Validation keeps step 1 and 2
   but only normalises in step 3;
4. **validity**: the sample is rejected if a crop is all padding (every crop that lies wholly
   outside the frame is), or if its nearest-neighbour down-sample to the token grid (every 16th
   pixel) is all padding.

Optional, off by default (``augment``, :mod:`.augment`): after step 2, a distractor pasted into the
search crop and an occluder over part of its target, a blur of each crop; in step 3, contrast and
saturation after the brightness factor.

All randomness comes from the ``numpy.random.Generator`` passed in, so a sample is a pure function
of its seed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import cv2
import numpy as np

from ..config import PATCH
from . import augment as aug
from ..tracking.crop import box_to_crop, sample_target
from ..tracking.inputs import IMAGENET_MEAN, IMAGENET_STD, normalise


@dataclass(frozen=True)
class CropSpec:
    """One crop: output side (px), search-area factor and the jitter of the box it is placed on."""
    size: int
    factor: float
    center_jitter: float = 0.0
    scale_jitter: float = 0.0


def jitter_box(box: np.ndarray, spec: CropSpec, rng: np.random.Generator) -> np.ndarray:
    """Jittered (x, y, w, h): see the module docstring, step 2."""
    box = np.asarray(box, dtype=np.float64)
    wh = box[2:] * np.exp(rng.standard_normal(2) * spec.scale_jitter)
    max_offset = math.sqrt(max(wh[0] * wh[1], 0.0)) * spec.center_jitter
    centre = box[:2] + 0.5 * box[2:] + max_offset * (rng.random(2) - 0.5)
    return np.concatenate([centre - 0.5 * wh, wh])


def hflip_box_pixels(box: np.ndarray, width: int) -> np.ndarray:
    """Box after a horizontal flip of a ``width``-pixel image (pixel corners x and x+w map to W-1-.)."""
    x, y, w, h = box
    return np.array([width - 1 - (x + w), y, w, h], dtype=np.float64)


class PairProcessing:
    """``processing(rng, template_frame, template_box, search_frame, search_box) -> dict | None``.

    Returns ``None`` for a rejected sample, else a dict of float32 arrays:
    ``template`` (3, Sz, Sz) and ``search`` (3, Sx, Sx), normalised; ``template_box`` and
    ``search_box`` (4,), normalised (x, y, w, h) in the crop.

    ``augment``: an :class:`~.augment.Augment` (training only; None = the official pipeline). With
    ``distractor_prob`` > 0 the sampler passes ``distractor=(frame, box)``, an object of another
    sequence to paste into the search crop.
    """

    def __init__(self, template: CropSpec, search: CropSpec, train: bool = True, grayscale_prob: float = 0.05,
                 flip_prob: float = 0.5, crop_flip_prob: float = 0.5, brightness_jitter: float = 0.2,
                 mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD, stride: int = PATCH,
                 augment: Optional[aug.Augment] = None):
        self.template, self.search = template, search
        self.augment = augment if augment is not None and augment.active else None
        self.train = train
        self.grayscale_prob, self.flip_prob = grayscale_prob, flip_prob
        self.crop_flip_prob, self.brightness_jitter = crop_flip_prob, brightness_jitter
        self.mean, self.std = tuple(mean), tuple(std)
        self.stride = stride

    def __call__(self, rng: np.random.Generator, template_frame: np.ndarray, template_box: np.ndarray,
                 search_frame: np.ndarray, search_box: np.ndarray, distractor=None) -> Optional[dict]:
        frames = [template_frame, search_frame]
        boxes = [np.asarray(template_box, np.float64), np.asarray(search_box, np.float64)]
        if rng.random() < self.grayscale_prob:
            frames = [np.repeat(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2) for f in frames]
        if rng.random() < self.flip_prob:
            boxes = [hflip_box_pixels(b, f.shape[1]) for b, f in zip(boxes, frames)]
            frames = [np.ascontiguousarray(f[:, ::-1]) for f in frames]
        out = {}
        for key, spec, frame, box in (("template", self.template, frames[0], boxes[0]),
                                      ("search", self.search, frames[1], boxes[1])):
            crop = self._crop(rng, spec, frame, box, distractor if key == "search" else None, key == "search")
            if crop is None:
                return None
            out[key], out[key + "_box"] = crop
        return out

    @property
    def wants_distractor(self) -> bool:
        return self.train and self.augment is not None and self.augment.distractor_prob > 0

    def _augment_patch(self, rng, patch, gt, distractor, search: bool):
        """The optional augmentations on the uint8 crop (see :mod:`.augment`); labels unchanged."""
        a = self.augment
        target_px = gt * patch.shape[0]
        if search and distractor is not None:
            aug.paste_distractor(rng, patch, target_px, *distractor)
        if search and a.occlusion_prob > 0 and rng.random() < a.occlusion_prob:
            aug.occlude(rng, patch, target_px, a.occlusion)
        if a.blur_prob > 0 and rng.random() < a.blur_prob:
            patch = aug.blur(rng, patch)
        return patch

    def _crop(self, rng, spec: CropSpec, frame, box, distractor=None, search: bool = False):
        jittered = jitter_box(box, spec, rng)
        side = math.sqrt(jittered[2] * jittered[3]) * spec.factor if (jittered[2:] > 0).all() else float("nan")
        if not (math.isfinite(side) and math.ceil(side) >= 1):
            return None
        patch, resize_factor, pad = sample_target(frame, jittered, spec.factor, spec.size)
        gt = box_to_crop(box, jittered, resize_factor, spec.size, normalize=True)
        if self.train and self.augment is not None:
            patch = self._augment_patch(rng, np.array(patch), gt, distractor, search)
        img = patch.astype(np.float32).transpose(2, 0, 1)
        if self.train:
            lo = max(0.0, 1.0 - self.brightness_jitter)
            img = img * (rng.uniform(lo, 1.0 + self.brightness_jitter) / 255.0)
            if self.augment is not None and self.augment.color > 0:
                img = aug.color_jitter(rng, img, self.augment.color)
            img = np.clip(img, 0.0, 1.0)
            if rng.random() < self.crop_flip_prob:
                img = img[:, :, ::-1]
                pad = pad[:, ::-1]
                gt = np.array([1.0 - gt[0] - gt[2], gt[1], gt[2], gt[3]])
        else:
            img = img / 255.0
        if pad.all() or pad[::self.stride, ::self.stride].all():
            return None
        img = normalise(img, axis=-3, mean=self.mean, std=self.std)
        return np.ascontiguousarray(img, dtype=np.float32), gt.astype(np.float32)

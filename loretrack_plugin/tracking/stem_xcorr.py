"""The reference row under every trained model: a pretrained stem's features correlated, with no
training at all.

SiamFC's tracking recipe on top of a frozen stem (``models/stems.py``): the template is the stem's
feature map of a context crop around the first box, and each frame's response map is its plain
cross-correlation with the features of a larger search crop at three scales. Whatever a trained
LoReTrack model scores above this tracker is what training on top of the stem adds.

The recipe, per frame:

* template crop side ``s_z = sqrt((w + p)(h + p))`` with ``p = (w + h) / 2``, resized to 127 px;
  search crop side ``s_x = s_z * 255 / 127``, resized to 255 px, at scales ``step ** (-1, 0, 1)``;
  outside the frame, crops are padded with the first frame's mean colour;
* stride-16 features: 8x8 for the template, 16x16 for the search crop, correlated to 9x9, upsampled
  16x (bicubic) to 144x144;
* ``exemplar``/``instance`` change the two crop sizes (127/255 by default); 63/127 shows the stem at the
  pixel density of a 128/64 px LoReTrack student (4x4 and 8x8 features, a 5x5 map);
* ``zoom`` > 1 feeds the stem each crop up-sampled that many times and average-pools its map back to the
  crop's stride-16 grid, as a network with ``stem_zoom`` does: at 63/127 px with zoom 2 the stem sees
  the target at the pixel scale of 127/255 px crops, from the student's pixels;
* the two side scales' maps are multiplied by ``scale_penalty``; the best map is shifted to a minimum
  of 0, scaled to sum 1, and mixed with a Hann window (``window_influence``);
* the peak's offset from the map's centre, in search-crop pixels, moves the box; its size follows the
  chosen scale at the rate ``scale_lr``.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..checkpoint import load_pretrained_stem
from ..models.stems import STEMS, ConvStem
from .inputs import check_init_box, normalise_patch, to_rgb_uint8

EXEMPLAR, INSTANCE, STRIDE = 127, 255, 16


def crop_around(image: np.ndarray, center: Sequence[float], side: float, out: int, fill: Sequence[float]) -> np.ndarray:
    """The square of ``side`` pixels centred on ``center`` (x, y), resized to ``out`` (bilinear), with
    ``fill`` wherever the square leaves the frame."""
    scale = out / side
    # pixel centres: the crop's corner (cx - side/2, cy - side/2) maps to -0.5 of the output grid
    tx = -(center[0] - side / 2) * scale + 0.5 * scale - 0.5
    ty = -(center[1] - side / 2) * scale + 0.5 * scale - 0.5
    m = np.array([[scale, 0.0, tx], [0.0, scale, ty]])
    return cv2.warpAffine(image, m, (out, out), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=tuple(float(v) for v in fill))


class StemCorrelationTracker:
    """``init(frame, box)`` / ``update(frame) -> ((x, y, w, h), score)`` over RGB uint8 frames, like
    :class:`~loretrack_plugin.tracking.core.TrackerCore`. No training: the stem's shipped weights."""

    def __init__(self, stem: str = "nanotrack-v3", upsample: int = 16, window_influence: float = 0.176,
                 scale_step: float = 1.0375, scale_penalty: float = 0.9745, scale_lr: float = 0.59,
                 threads: Optional[int] = None, weights: Optional[str] = None,
                 exemplar: int = EXEMPLAR, instance: int = INSTANCE, zoom: int = 1):
        if stem not in STEMS:
            raise ValueError(f"stem={stem!r}: expected one of {sorted(STEMS)}")
        for name, v in (("exemplar", exemplar), ("instance", instance)):
            if isinstance(v, bool) or not isinstance(v, int) or v < STRIDE:
                raise ValueError(f"{name}: expected an integer crop size of at least {STRIDE} px, got {v!r}")
        if instance <= exemplar:
            raise ValueError(f"instance: the search crop ({instance} px) must be larger than the template crop "
                             f"(exemplar={exemplar} px)")
        self.stem = ConvStem(stem, embed_dim=8, zoom=zoom).eval()  # checks zoom
        self.exemplar, self.instance, self.zoom = exemplar, instance, zoom
        load_pretrained_stem(self.stem, weights)
        self.threads = threads
        self.upsample, self.window_influence = int(upsample), float(window_influence)
        self.scales = scale_step ** np.array([-1.0, 0.0, 1.0])
        self.scale_penalty, self.scale_lr = float(scale_penalty), float(scale_lr)
        grid = (instance // STRIDE + 1) - (exemplar // STRIDE + 1) + 1
        size = grid * self.upsample
        hann = np.outer(np.hanning(size), np.hanning(size))
        self.window = hann / hann.sum()
        self.kernel: Optional[torch.Tensor] = None

    def _features(self, patches: Sequence[np.ndarray]) -> torch.Tensor:
        x = torch.cat([normalise_patch(p) for p in patches])
        if self.threads:
            torch.set_num_threads(int(self.threads))
        with torch.inference_mode():
            return self.stem.features(x)

    def init(self, frame, box: Sequence[float]) -> None:
        image = to_rgb_uint8(frame)
        x, y, w, h = check_init_box(box, *image.shape[:2])
        self.center = np.array([x + w / 2, y + h / 2])
        self.size = np.array([w, h])
        self.fill = image.reshape(-1, image.shape[2]).mean(0)
        p = (w + h) / 2
        self.z_side = math.sqrt((w + p) * (h + p))
        self.x_side = self.z_side * self.instance / self.exemplar
        self.kernel = self._features([crop_around(image, self.center, self.z_side, self.exemplar, self.fill)])

    def update(self, frame) -> Tuple[Tuple[float, float, float, float], float]:
        if self.kernel is None:
            raise RuntimeError("update() before init()")
        image = to_rgb_uint8(frame)
        sides = self.x_side * self.scales
        feats = self._features([crop_around(image, self.center, s, self.instance, self.fill) for s in sides])
        maps = F.conv2d(feats, self.kernel).squeeze(1).numpy()
        size = self.window.shape[0]
        up = np.stack([cv2.resize(m, (size, size), interpolation=cv2.INTER_CUBIC) for m in maps])
        peaks = up.reshape(len(up), -1).max(1)
        peaks[[0, 2]] *= self.scale_penalty
        best = int(np.argmax(peaks))
        resp = up[best] - up[best].min()
        resp = resp / (resp.sum() + 1e-12)
        resp = (1 - self.window_influence) * resp + self.window_influence * self.window
        iy, ix = np.unravel_index(int(np.argmax(resp)), resp.shape)
        shift = (np.array([ix, iy]) - (size - 1) / 2) * STRIDE / self.upsample  # search-crop pixels
        self.center = self.center + shift * sides[best] / self.instance
        rate = (1 - self.scale_lr) + self.scale_lr * self.scales[best]
        self.size, self.z_side, self.x_side = self.size * rate, self.z_side * rate, self.x_side * rate
        H, W = image.shape[:2]
        self.center = np.clip(self.center, 0, [W, H])
        x, y = self.center - self.size / 2
        return (float(x), float(y), float(self.size[0]), float(self.size[1])), float(peaks[best])

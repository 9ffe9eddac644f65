"""The tracking core: the official OSTrack/LoReTrack test-time loop (docs/method.md §3), toolkit-free.

Frame 0 (``init``): template = crop(frame, box, template_factor, Sz), normalised, kept for the whole
sequence; state = box.

Frame t (``update``):

1. search = crop(frame, state, search_factor, Sx) with ``resize_factor`` = Sx / crop side;
2. (score (1,1,F,F), size (1,2,F,F), offset (1,2,F,F)) = network(template, search);
3. response = hann2d(F) * score (multiplicative window, n+1 in the cosine);
4. peak (iy, ix) = argmax(response); box = ((ix + off_x)/F, (iy + off_y)/F, w, h) * Sx / resize_factor;
5. map back around the previous centre (crop side / 2) and clip to the frame with a 10 px margin;
6. state = that box, which is also the output. No scale/aspect penalty, no template update.

Three opt-in departures, all off by default (None is the official loop):

* ``max_size_change = k``: the decoded width and height are each clamped to [1/k, k] times the
  previous state's before step 5. It is for networks whose size head is unreliable (the miniature
  demo models: their predicted size follows the crop instead of the target, and a small bias
  compounds frame after frame; see experiments/diagnostics/README.md); the centre is never limited.
* ``size_lr = a`` (0 < a <= 1): the new width and height move only the fraction ``a`` of the way from
  the previous state's to the decoded ones (a running average of the size, as Siamese trackers damp
  their scale); ``a = 1`` is the official loop. Applied before ``max_size_change``; the centre is
  never damped. For networks whose size head is noisy from frame to frame (the miniature stem models:
  experiments/diagnostics/README.md).
* ``max_frame_side = m``: a frame whose longer side exceeds ``m`` pixels is scaled down to it
  (``cv2.INTER_AREA``) before step 1, and the loop runs in the scaled frame: the state, the crops and
  the clipping margin are in its pixels, while ``init`` takes and ``update`` returns boxes in the
  frame's own pixels. It is for networks trained on frames of at most ``m`` pixels (the miniature
  recipe's videos are scaled to at most 480): the crops of a large frame then have the detail the
  network was trained on instead of a sharper, aliased one.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Optional, Tuple

import cv2
import numpy as np
import torch
import torch.nn as nn

from .backends import (EXACT_TOL, AUTO_ORDER, INT8_BACKENDS, Backend, EagerBackend, check_backend_name,
                       check_tracker_backend, choose_backend, create_backend, max_abs_diff)
from .crop import sample_target
from .inputs import check_init_box, normalise_patch, to_rgb_uint8
from .postprocess import clip_box, crop_box_to_pixels, decode_at, hann2d, map_box_back, peak_cell

log = logging.getLogger("loretrack")

CLIP_MARGIN = 10
# safety factor on the warm-up difference to eager when deciding that a frame needs eager (see _needs_eager)
GUARD_FACTOR = 2.0
# the same for reduced-precision backends (bf16, int8), whose score error is measured on a few warm-up
# crops only and varies more from frame to frame (about x3.5 between the warm-up and the worst frame
# of the shipped real sequences)
TIE_GUARD_FACTOR = 4.0


@dataclass
class FrameInfo:
    """What the last ``update`` computed (for debugging, benchmarks and the VOT confidence)."""
    peak: Tuple[int, int]            # (row, col) of the windowed peak
    score: float                     # raw (un-windowed) score at the peak
    resize_factor: float
    search_box: Tuple[float, ...]    # the state the search crop was centred on (working-frame pixels)
    score_map: torch.Tensor          # (1, 1, F, F) raw score


class TrackerCore:
    """``init(frame, box)`` / ``update(frame) -> (box, score)`` on RGB uint8 frames, (x, y, w, h) boxes.

    Args:
        net: a :class:`loretrack_plugin.models.TrackerNet` (eval mode; its config gives the crop sizes).
        search_factor, template_factor: crop side = ceil(sqrt(w*h) * factor).
        backend: ``auto`` (default), ``eager``, ``openvino``, ``onnxruntime``, ``onednn`` or a bf16
            backend (``bf16``, ``bf16-autocast``, ``bf16-weights``); see
            :mod:`loretrack_plugin.tracking.backends`. The int8 ones (``int8``, ``int8-ort``,
            ``int8-ov``, ``int8-torch``) are refused unless ``measure_only``. ``auto`` is resolved on the first
            ``init``: the first of AUTO_ORDER whose maps equal eager within 1e-5 on that frame.
        threads: CPU threads for inference (None = the engine's default).
        name: tracker name used in log messages.
        guard: with a fast exact backend, recompute with eager the frames where the backend's ~1e-6
            difference could change a discrete decision (peak cell, next crop side or corner), so
            the boxes follow eager's trajectory (see ``_needs_eager``; ``stats`` counts the re-runs).
            With a reduced-precision backend (bf16, int8), recompute the near-tie frames whose two
            best windowed scores are closer than the backend's score error could bridge, so it picks
            eager's peak cell (its boxes still differ by its size/offset error).
        fp32_recheck: reduced precision only (default on): recheck those frames with the fastest
            exact fp32 engine (``auto``'s choice, within 1e-5 of eager; about half of eager's time,
            built next to the reduced-precision one) and fall back to eager only where that engine's
            own top two are within its ~1e-6 of each other (``stats``: ``exact_reruns``,
            ``eager_reruns``). False: recheck with eager, and build no second engine.
        max_size_change: None (default: the official loop) or a factor k > 1: width and height may
            change by at most x k (or x 1/k) from one frame to the next.
        max_frame_side: None (default: the official loop) or a length in pixels (>= 16): larger frames
            are tracked scaled down to that longer side (boxes in and out stay in frame pixels).
        size_lr: None (default: the official loop) or a fraction in (0, 1]: width and height move that
            fraction of the way from the previous state's to the decoded ones.
        measure_only: also accept the int8 backends, which do not ship for tracking (``loretrack
            bench`` and the diagnostics measure them).

    The backend is built and run once (warm-up) inside ``init``, never on the first ``update``.
    """

    def __init__(self, net: nn.Module, search_factor: float, template_factor: float, backend: Optional[str] = "auto",
                 threads: Optional[int] = None, name: str = "tracker", guard: bool = True,
                 fp32_recheck: bool = True, max_size_change: Optional[float] = None,
                 max_frame_side: Optional[int] = None, size_lr: Optional[float] = None,
                 measure_only: bool = False):
        if not (search_factor > 0 and template_factor > 0):
            raise ValueError(f"{name}: crop factors must be positive (search {search_factor}, "
                             f"template {template_factor})")
        if not valid_size_limit(max_size_change):
            raise ValueError(f"{name}: max_size_change={max_size_change!r} must be a number > 1 (or None)")
        if not valid_frame_side(max_frame_side):
            raise ValueError(f"{name}: max_frame_side={max_frame_side!r} must be an integer >= {MIN_FRAME_SIDE} "
                             "(or None)")
        if not valid_size_lr(size_lr):
            raise ValueError(f"{name}: size_lr={size_lr!r} must be a number in (0, 1] (or None)")
        if threads is not None and int(threads) < 1:
            raise ValueError(f"{name}: threads={threads} must be >= 1")
        self.net = net.eval()
        self.cfg = net.cfg
        self.search_factor = float(search_factor)
        self.template_factor = float(template_factor)
        self.max_size_change = None if max_size_change is None else float(max_size_change)
        self.max_frame_side = None if max_frame_side is None else int(max_frame_side)
        self.size_lr = None if size_lr is None else float(size_lr)
        self.frame_scale = (1.0, 1.0)  # (x, y): working-frame pixels per frame pixel (max_frame_side)
        self.requested_backend = check_backend_name(backend) if measure_only else check_tracker_backend(backend)
        self.threads = None if threads is None else int(threads)
        self.name = name
        self.window = hann2d(self.cfg.feat_size)
        self.backend: Optional[Backend] = None
        self.backend_reason = ""
        self.backend_diff = 0.0  # max |map diff| to eager on the warm-up input
        self.backend_score_diff = 0.0  # max |score diff| to eager on the warm-up crops (reduced precision)
        self._eager: Optional[EagerBackend] = None
        self._exact: Optional[Backend] = None  # reduced precision: the fp32 engine of the first recheck
        self._exact_diff = 0.0
        self.guard = bool(guard)
        self.fp32_recheck = bool(fp32_recheck)
        self.stats = {"frames": 0, "eager_reruns": 0, "exact_reruns": 0}
        self.template: Optional[torch.Tensor] = None
        self.state: Optional[list] = None
        self.last: Optional[FrameInfo] = None

    # ---- backend ---------------------------------------------------------------------------------
    @property
    def backend_name(self) -> Optional[str]:
        return None if self.backend is None else self.backend.name

    def _prepare_backend(self, template: torch.Tensor, search: torch.Tensor) -> None:
        """Build (first call only) and warm up the backend on the real first crops."""
        t0 = time.perf_counter()
        if self.backend is None:
            eager = self._eager = EagerBackend(self.net, threads=self.threads)
            want = self.requested_backend
            if want == "eager":
                self.backend, self.backend_reason = eager, "eager (requested)"
            elif want == "auto":
                reference = eager(template, search)
                self.backend, self.backend_reason, self.backend_diff = choose_backend(
                    self.net, template, search, reference, threads=self.threads, order=AUTO_ORDER, tol=EXACT_TOL)
            else:
                if want in INT8_BACKENDS:
                    log.warning("%s: backend %s is built for measurement only: trackers refuse it, because its "
                                "tracking AUC on real video left the 0.5-point bar around eager's (experiments/bench_results/README.md)",
                                self.name, want)
                self.backend = create_backend(want, self.net, threads=self.threads)
                self.backend_diff = diff = max_abs_diff(self.backend(template, search), eager(template, search))
                self.backend_reason = f"{want} (requested; max |diff| vs eager {diff:.1e} on the warm-up input)"
                if not self.backend.exact:
                    self.backend_score_diff = _score_error(self.backend, eager, template, search)
                    if self.guard and self.fp32_recheck:
                        self._exact, why, self._exact_diff = choose_backend(
                            self.net, template, search, eager(template, search), threads=self.threads,
                            order=AUTO_ORDER, tol=EXACT_TOL)
                        if isinstance(self._exact, EagerBackend):
                            self._exact = eager
                        log.info("%s: near-tie frames are rechecked with %s", self.name, why)
            log.info("%s: backend %s, built in %.1f s", self.name, self.backend_reason, time.perf_counter() - t0)
        self.backend(template, search)  # warm-up: first calls allocate and tune kernels

    def share_backend(self, other: "TrackerCore") -> None:
        """Use ``other``'s built backend (same network) instead of building another engine."""
        if other.net is not self.net:
            raise ValueError("share_backend: the trackers run different networks")
        self.backend, self.backend_reason, self.backend_diff = other.backend, other.backend_reason, other.backend_diff
        self.backend_score_diff = other.backend_score_diff
        self._eager, self._exact, self._exact_diff = other._eager, other._exact, other._exact_diff

    # ---- tracking --------------------------------------------------------------------------------
    def _search_input(self, image: np.ndarray, box) -> Tuple[torch.Tensor, float]:
        patch, resize_factor, _ = sample_target(image, box, self.search_factor, self.cfg.search_size)
        return normalise_patch(patch), resize_factor

    def working_frame(self, frame) -> np.ndarray:
        """``frame`` as the loop sees it: RGB uint8, scaled down to ``max_frame_side`` when larger.

        Sets ``frame_scale``; a state kept from a frame of another size is carried over to this one.
        """
        image, scale = scale_frame(to_rgb_uint8(frame), self.max_frame_side)
        if self.state is not None and scale != self.frame_scale:
            self.state = scale_box(scale_box(self.state, self.frame_scale, inverse=True), scale)
        self.frame_scale = scale
        return image

    def to_frame(self, box) -> list:
        """A box of the working frame in the pixels of the frame it came from."""
        return scale_box(box, self.frame_scale, inverse=True)

    def to_working(self, box) -> list:
        """A box in frame pixels in the pixels of the working frame (the last one seen)."""
        return scale_box(box, self.frame_scale)

    def init(self, frame, box_xywh) -> None:
        """Start a sequence on ``frame`` with the target at ``box_xywh`` = (x, y, w, h) pixels."""
        image = to_rgb_uint8(frame)
        H, W = image.shape[:2]
        box = check_init_box(box_xywh, H, W)
        self.state = None
        image = self.working_frame(image)
        box = self.to_working(box)
        patch, _, _ = sample_target(image, box, self.template_factor, self.cfg.template_size)
        self.template = normalise_patch(patch)
        search, _ = self._search_input(image, box)
        self._prepare_backend(self.template, search)
        self.state = box
        self.last = None

    def forward(self, search: torch.Tensor):
        """The network maps for a search crop against the stored template (the backend call alone)."""
        return self.backend(self.template, search)

    def search_crop(self, image: np.ndarray) -> Tuple[torch.Tensor, float]:
        """Normalised search crop (1, 3, Sx, Sx) around the current state, and its resize factor.

        ``image`` is a working frame (:meth:`working_frame`; the frame itself without ``max_frame_side``).
        """
        if self.state is None:
            raise RuntimeError(f"{self.name}: update() called before init()")
        return self._search_input(image, self.state)

    def _next_state(self, image_hw: Tuple[int, int], maps, resize_factor: float):
        """Steps 3-5 of the loop: (clipped new state, peak cell) from the maps of the current crop."""
        score, size, offset = maps
        peak = peak_cell(self.window * score)
        pred = crop_box_to_pixels(decode_at(peak, size, offset), self.cfg.search_size, resize_factor)
        if self.size_lr is not None:
            pred = damp_size(pred, self.state, self.size_lr)
        if self.max_size_change is not None:
            pred = limit_size_change(pred, self.state, self.max_size_change)
        box = map_box_back(pred, self.state, self.cfg.search_size, resize_factor)
        return clip_box(box, image_hw[0], image_hw[1], CLIP_MARGIN), peak

    def update_from_maps(self, image_hw: Tuple[int, int], maps, resize_factor: float) -> Tuple[np.ndarray, float]:
        """Steps 3-6 of the loop on given maps (from :meth:`forward` on :meth:`search_crop`).

        ``image_hw`` is the working frame's size; the returned box is in the frame's own pixels.
        """
        state, peak = self._next_state(image_hw, maps, resize_factor)
        score = maps[0]
        raw = float(score[0, 0, peak[0], peak[1]])
        self.last = FrameInfo(peak=peak, score=raw, resize_factor=resize_factor, search_box=tuple(self.state),
                              score_map=score)
        self.state = state
        return np.asarray(self.to_frame(state), dtype=np.float64), raw

    def update(self, frame) -> Tuple[np.ndarray, float]:
        """Track into ``frame``: returns ((x, y, w, h) float64 array, raw score at the chosen peak)."""
        if self.state is None:
            raise RuntimeError(f"{self.name}: update() called before init()")
        image = self.working_frame(frame)
        search, resize_factor = self._search_input(image, self.state)
        maps, rerun = self.guarded_forward(search, image.shape[:2], resize_factor)
        self.stats["frames"] += 1
        if rerun:
            self.stats[f"{rerun}_reruns"] += 1
        return self.update_from_maps(image.shape[:2], maps, resize_factor)

    def guarded_forward(self, search: torch.Tensor, image_hw: Tuple[int, int], resize_factor: float):
        """The backend's maps for ``search`` (centred on the current state), or recomputed ones where
        the guard asks for them: returns (maps, ``None`` | ``"exact"`` | ``"eager"``: which engine
        recomputed them)."""
        maps = self.backend(self.template, search)
        if not self._needs_eager(image_hw, maps, resize_factor):
            return maps, None
        return self.recheck(search)

    def recheck(self, search: torch.Tensor):
        """Maps that pick eager's peak cell for a frame the guard flagged: (maps, engine)."""
        exact = self._exact
        if exact is not None and exact is not self._eager and not self.backend.exact:
            maps = exact(self.template, search)
            if not _near_tie(self.window * maps[0], GUARD_FACTOR * max(self._exact_diff, 1e-6)):
                return maps, "exact"
        return self._eager(self.template, search), "eager"

    def _needs_eager(self, image_hw: Tuple[int, int], maps, resize_factor: float) -> bool:
        """Could eager's maps, which differ from ``maps`` by about ``backend_diff``, lead to a different
        discrete decision: another peak cell, or (through the new state) another crop side or corner?

        An exact fp32 backend differs from eager by ~1e-6, which moves boxes by ~1e-3 px. That matters
        only where the loop is discontinuous: the arg-max, ``ceil`` of the next crop side and ``round``
        of its corner. Such frames are recomputed with eager, so the fast path follows eager's
        trajectory instead of drifting away from it after a one-pixel crop shift.
        """
        if not self.guard or self._eager is None or self.backend is self._eager:
            return False
        resp = self.window * maps[0]
        if not self.backend.exact:
            # reduced precision: only the arg-max is guarded (its boxes differ continuously anyway)
            return _near_tie(resp, TIE_GUARD_FACTOR * max(self.backend_score_diff, 1e-6))
        eps = GUARD_FACTOR * max(self.backend_diff, 1e-6)
        if _near_tie(resp, eps):
            return True
        # a map error e moves the box by at most about e * crop side (sizes are fractions of the crop,
        # offsets are in cells of crop / F)
        px = eps * (self.cfg.search_size / resize_factor) * 1.5
        (x, y, w, h), _ = self._next_state(image_hw, maps, resize_factor)
        side_f = math.sqrt(w * h) * self.search_factor
        if abs(side_f - round(side_f)) <= self.search_factor * px:
            return True
        side = math.ceil(side_f)
        # round() jumps at .5; half the side error reaches the corner as well
        tol = px * (1 + 0.5 * self.search_factor)
        return any(abs((c - math.floor(c)) - 0.5) <= tol for c in (x + 0.5 * w - 0.5 * side, y + 0.5 * h - 0.5 * side))

    def __repr__(self) -> str:
        limit = "" if self.max_size_change is None else f", max_size_change={self.max_size_change:g}"
        if self.max_frame_side is not None:
            limit += f", max_frame_side={self.max_frame_side}"
        if self.size_lr is not None:
            limit += f", size_lr={self.size_lr:g}"
        return (f"TrackerCore(name={self.name!r}, search={self.cfg.search_size}x{self.search_factor:g}, "
                f"template={self.cfg.template_size}x{self.template_factor:g}, "
                f"backend={self.backend_name or self.requested_backend}{limit})")


def valid_size_limit(k) -> bool:
    """Is ``k`` a usable ``max_size_change``: None, or a finite number > 1 (not a bool)?"""
    return k is None or (isinstance(k, (int, float)) and not isinstance(k, bool) and math.isfinite(k) and k > 1)


MIN_FRAME_SIDE = 16
# the loop options of TrackerCore (keyword arguments; None = the official loop)
LOOP_OPTIONS = ("max_size_change", "max_frame_side", "size_lr")


def valid_size_lr(a) -> bool:
    """Is ``a`` a usable ``size_lr``: None, or a finite number in (0, 1] (not a bool)?"""
    return a is None or (isinstance(a, (int, float)) and not isinstance(a, bool) and math.isfinite(a) and 0 < a <= 1)


def parse_size_lr(text: str, flag: str = "--size-lr") -> Optional[float]:
    """A command-line ``size_lr``: ``"none"`` -> None (the official loop), else a number in (0, 1];
    ValueError naming ``flag`` and the text otherwise."""
    if text.strip().lower() == "none":
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not valid_size_lr(value):
        raise ValueError(f"{flag}: {text.strip()!r} is neither 'none' nor a number in (0, 1]")
    return value


def valid_frame_side(m) -> bool:
    """Is ``m`` a usable ``max_frame_side``: None, or an integer >= MIN_FRAME_SIDE (not a bool)?"""
    return m is None or (isinstance(m, (int, np.integer)) and not isinstance(m, bool) and m >= MIN_FRAME_SIDE)


def scale_frame(image: np.ndarray, max_side: Optional[int]) -> Tuple[np.ndarray, Tuple[float, float]]:
    """``image`` scaled down (``cv2.INTER_AREA``) so that its longer side is ``max_side``, and the
    (x, y) scale of that; the image itself and (1, 1) when it is not larger (or ``max_side`` is None)."""
    H, W = image.shape[:2]
    if max_side is None or max(H, W) <= max_side:
        return image, (1.0, 1.0)
    f = max_side / max(H, W)
    w, h = max(1, round(W * f)), max(1, round(H * f))
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA), (w / W, h / H)


def scale_box(box, scale: Tuple[float, float], inverse: bool = False) -> list:
    """(x, y, w, h) multiplied by the (x, y) ``scale`` (divided with ``inverse``)."""
    sx, sy = (1 / scale[0], 1 / scale[1]) if inverse else scale
    x, y, w, h = (float(v) for v in box)
    return [x * sx, y * sy, w * sx, h * sy]


def limit_size_change(box_cxcywh, prev_box_xywh, k: float) -> list:
    """``box_cxcywh`` with its width and height each clamped to [1/k, k] times the previous box's."""
    cx, cy, w, h = box_cxcywh
    pw, ph = float(prev_box_xywh[2]), float(prev_box_xywh[3])
    return [cx, cy, min(max(w, pw / k), pw * k), min(max(h, ph / k), ph * k)]


def damp_size(box_cxcywh, prev_box_xywh, a: float) -> list:
    """``box_cxcywh`` with its width and height moved only the fraction ``a`` from the previous box's."""
    cx, cy, w, h = box_cxcywh
    pw, ph = float(prev_box_xywh[2]), float(prev_box_xywh[3])
    return [cx, cy, pw + a * (w - pw), ph + a * (h - ph)]


def _near_tie(response: torch.Tensor, eps: float) -> bool:
    """Are the two best cells of ``response`` within ``2 * eps`` (errors of ``eps`` each could swap them)?"""
    flat = response.flatten()
    if flat.numel() < 2:
        return False
    top2 = torch.topk(flat, 2).values
    return float(top2[0] - top2[1]) <= 2 * eps


def _score_error(backend: Backend, eager: Backend, template: torch.Tensor, search: torch.Tensor) -> float:
    """Largest |score map difference| between ``backend`` and eager over the warm-up search crop and
    three variants of it (shifted by 1/8 of its side both ways, mirrored): more than one sample of the
    error of a reduced-precision engine, which varies from frame to frame."""
    s = search.shape[-1] // 8
    crops = [search, torch.roll(search, (s, s), (-2, -1)), torch.roll(search, (-s, -s), (-2, -1)),
             torch.flip(search, (-1,))]
    return max(float((backend(template, c)[0] - eager(template, c)[0]).abs().max()) for c in crops)

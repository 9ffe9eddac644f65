"""got10k toolkit adapter: a ``got10k.trackers.Tracker`` around :class:`TrackerCore` (or, for an
OpenCV peer such as ``opencv-nano``, around its :class:`~.opencv_peers.OpenCVPeer`, which has the
same interface).

got10k hands ``init``/``update`` a PIL image already converted to RGB and an (x, y, w, h) box; the
core accepts PIL images directly. Deterministic, so ExperimentGOT10k runs one repetition (OpenCV's MIL
is not: it gets got10k's three).
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from got10k.trackers import Tracker

from . import get_spec, make_tracker


class GOT10kTracker(Tracker):
    """``GOT10kTracker('loretrack-128')`` or ``GOT10kTracker('opencv-nano')``: the named tracker as a got10k
    Tracker (``.name`` = its name)."""

    def __init__(self, name_or_spec, checkpoint: Optional[str] = None, backend: Optional[str] = None,
                 threads: Optional[int] = None, net=None):
        spec = get_spec(name_or_spec)
        super().__init__(name=spec.name, is_deterministic=getattr(spec, "deterministic", True))
        self.spec = spec
        self.core = make_tracker(spec, checkpoint=checkpoint, backend=backend, threads=threads, net=net)

    def init(self, image, box):
        self.core.init(image, box)

    def update(self, image):
        box, _ = self.core.update(image)
        return np.asarray(box, dtype=np.float64)

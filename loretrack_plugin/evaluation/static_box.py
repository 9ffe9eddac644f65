"""The built-in ``static-box`` tracker: the floor every comparison is measured against.

It reports the first frame's box on every frame. Any model that does not score above it on a
benchmark is not tracking there (it would do as well by not moving). Its results are a pure
function of the ground truth (the first box repeated), so it costs nothing to run: it overrides
``track`` and never opens a frame. Its per-frame times are written as 0 (no speed measured: got10k
and :mod:`.metrics` report no fps for it).

``static-box`` is a reserved tracker name: ``loretrack eval --trackers static-box`` and
``resolve_tracker("static-box")`` give this tracker, never a tracker file of that name (its
:class:`~.runner.TrackerRef` is :func:`~.runner.static_box_ref`). It goes
through the same result files, got10k report and metrics.json as every other tracker.
"""
from __future__ import annotations

import numpy as np
from got10k.trackers import Tracker

#: the reserved tracker name (also its result folder and its key in metrics.json / report.json)
STATIC_BOX = "static-box"
#: ``module:callable`` that builds it (a got10k factory reference, so worker processes can rebuild it)
FACTORY = "loretrack_plugin.evaluation.static_box:StaticBoxTracker"


class StaticBoxTracker(Tracker):
    """The first frame's box, kept on every frame (deterministic: one repetition on GOT-10k)."""

    def __init__(self):
        super().__init__(name=STATIC_BOX, is_deterministic=True)
        self.box = None

    def init(self, image, box):
        self.box = np.asarray(box, dtype=np.float64).copy()

    def update(self, image):
        return self.box.copy()

    def track(self, img_files, box, visualize=False):
        """``(boxes, times)`` without decoding a frame: every row is ``box``, every time 0."""
        n = len(img_files)
        self.init(None, box)
        return np.tile(self.box, (n, 1)), np.zeros(n)


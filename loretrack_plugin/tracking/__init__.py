"""Tracking: the official test-time loop (crop, forward, Hann window, decode, map back, clip) and the
CPU inference backends. Toolkit-independent: nothing here imports got10k or trax.

Named trackers (network + factors + checkpoint) are built by :func:`loretrack_plugin.trackers.make_tracker`.
"""
from .backends import ALL_BACKENDS, AUTO_ORDER, FP32_BACKENDS, BackendError, create_backend
from .core import TrackerCore
from .crop import sample_target
from .postprocess import clip_box, hann1d, hann2d, map_box_back

__all__ = ["TrackerCore", "sample_target", "hann1d", "hann2d", "map_box_back", "clip_box", "create_backend",
           "BackendError", "ALL_BACKENDS", "FP32_BACKENDS", "AUTO_ORDER"]

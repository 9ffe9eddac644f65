"""Synthetic benchmarks in the real on-disk layouts (LaSOT, GOT-10k, OTB, VOT, TrackingNet).

``make_dataset(layout, out, sequences, frames, seed)`` renders textured targets over textured,
panning backgrounds (scale/aspect change, distractors, partial occlusion, absent spans) and writes
them exactly as the toolkits expect; see :mod:`loretrack_plugin.datasets.layouts`.
"""
from .layouts import LAYOUTS, make_dataset
from .names import lasot_names, otb_plain_names
from .synthetic import SyntheticSequence, render_sequence

__all__ = ["make_dataset", "LAYOUTS", "render_sequence", "SyntheticSequence", "lasot_names", "otb_plain_names"]

"""Synthetic tracking data in the real on-disk layouts (LaSOT, GOT-10k, OTB, VOT, TrackingNet).

``make_dataset(layout, out, sequences, frames, seed)`` renders textured targets over textured,
panning backgrounds (scale/aspect change, distractors, partial occlusion, absent spans;
:mod:`.render`) and writes them exactly as the toolkits expect (:mod:`.layouts`).
"""
from .layouts import LAYOUTS, make_dataset
from .render import SyntheticSequence, render_sequence

__all__ = ["make_dataset", "LAYOUTS", "render_sequence", "SyntheticSequence"]

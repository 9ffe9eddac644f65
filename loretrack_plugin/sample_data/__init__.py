"""Small real footage that ships with the package, so tests, CI and the demo need nothing beside it.

``real/`` holds four short real single-object sequences in the OTB layout (``<seq>/img/0001.jpg``,
``groundtruth_rect.txt`` with one x,y,w,h row per frame, ``meta.json`` with the provenance): Biker,
Crossing (OTB), MountainBike6 (UAV123@10fps) and vot15_bag (VOT2015), 539 frames, down-scaled to a
longer side of at most 480 px. No model that ships with the package was trained on them. They are
frames of academic benchmarks, for research and evaluation use only; they show that a pipeline
works on real images, they are not a benchmark. ``experiments/sample/make_real_sample.py`` rebuilds
them from the source sequences.
"""
from __future__ import annotations

import os

SAMPLE_DIR = os.path.dirname(os.path.abspath(__file__))
REAL_SEQUENCES = ("Biker", "Crossing", "MountainBike6", "vot15_bag")


def real_sample_root() -> str:
    """Folder of the embedded real OTB-layout sequences."""
    return os.path.join(SAMPLE_DIR, "real")

"""Per-frame annotation files: the one box-file reader of the package, and per-frame flag files.

Box files (``groundtruth.txt``, ``groundtruth_rect.txt``, TrackingNet ``anno/<seq>.txt``...) hold one
``x, y, w, h`` row per frame, in pixels:

* numbers separated by commas, tabs, spaces or semicolons; empty lines and ``#`` comments are skipped;
* ``NaN`` is kept: such a row is an invalid frame (no box; LaSOT and UAV123 mark them so), and so is
  a row with a width or height <= 0 (``0,0,0,0`` for an absent target);
* a row that is not 4 numbers, a file that is not text and an empty file are errors (``ValueError``
  naming the file, and the line where there is one).
"""
from __future__ import annotations

import os
import re
from typing import Optional

import numpy as np

_SEPARATORS = re.compile(r"[,;\s]+")


def read_boxes(path: str) -> np.ndarray:
    """(N, 4) float64 x, y, w, h rows of a box file (see the module docstring for the format)."""
    path = os.fspath(path)
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not a box file (not text: {e.reason} at byte {e.start})") from None
    rows = []
    for ln, line in enumerate(lines, 1):
        values = [v for v in _SEPARATORS.split(line.split("#", 1)[0]) if v]
        if not values:
            continue
        if len(values) != 4:
            raise ValueError(f"{path}:{ln}: expected 4 numbers per line (x,y,w,h), got {len(values)}")
        try:
            rows.append([float(v) for v in values])
        except ValueError as e:
            raise ValueError(f"{path}:{ln}: not a box file ({e})") from None
    if not rows:
        raise ValueError(f"{path}: empty box file")
    return np.asarray(rows, dtype=np.float64)


def read_flags(path: str) -> Optional[np.ndarray]:
    """Per-frame flags (``absence.label``, ``full_occlusion.txt``...: small numbers, on one line or one
    per line) as a float64 array; None when the file does not exist."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        values = [v for v in _SEPARATORS.split(f.read()) if v]
    try:
        return np.asarray([float(v) for v in values], dtype=np.float64)
    except ValueError as e:
        raise ValueError(f"{path}: not a flag file ({e})") from None

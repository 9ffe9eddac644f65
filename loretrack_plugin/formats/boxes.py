"""Per-frame annotation files: the one box-file reader of the package, and per-frame flag files.

Box files (``groundtruth.txt``, ``groundtruth_rect.txt``, TrackingNet ``anno/<seq>.txt``...) hold one
row per frame, in pixels, either ``x, y, w, h`` or a VOT polygon of 4 corners ``x1, y1, ..., x4, y4``:

* numbers separated by commas, tabs, spaces or semicolons; empty lines and ``#`` comments are skipped;
* a polygon row is read as its axis-aligned bounding box (x = min of the xs, y = min of the ys,
  w = max - min of the xs, h = max - min of the ys), the rectangle the VOT toolkit converts a
  polygon to; a file holds one kind of row: rows of 4 and rows of 8 in one file are an error
  naming the first row of the other kind;
* ``NaN`` is kept: such a row is an invalid frame (no box; LaSOT and UAV123 mark them so), and so is
  a row with a width or height <= 0 (``0,0,0,0`` for an absent target);
* a row that is neither 4 nor 8 numbers, a file that is not text and an empty file are errors
  (``ValueError`` naming the file, and the line where there is one).
"""
from __future__ import annotations

import os
import re
from typing import List, Optional, Tuple

import numpy as np

_SEPARATORS = re.compile(r"[,;\s]+")


#: numbers per row -> what that row is, for messages
_ROW_KINDS = {4: "x,y,w,h", 8: "a 4-corner polygon x1,y1,...,x4,y4"}


def polygon_bounds(corners: np.ndarray) -> np.ndarray:
    """(N, 8) corner rows -> (N, 4) x, y, w, h of their axis-aligned bounding boxes (NaN stays NaN)."""
    xs, ys = corners[:, 0::2], corners[:, 1::2]
    x0, y0 = xs.min(axis=1), ys.min(axis=1)
    return np.stack([x0, y0, xs.max(axis=1) - x0, ys.max(axis=1) - y0], axis=1)


def _parse_rows(path: str, lines: List[str]) -> Tuple[List[List[float]], Optional[int]]:
    """(rows as float lists, their common length); errors name ``path`` and the line."""
    rows, width, first_line = [], None, 0
    for ln, line in enumerate(lines, 1):
        values = [v for v in _SEPARATORS.split(line.split("#", 1)[0]) if v]
        if not values:
            continue
        if len(values) not in _ROW_KINDS:
            raise ValueError(f"{path}:{ln}: expected 4 numbers per line (x,y,w,h) or 8 (a 4-corner polygon), "
                             f"got {len(values)}")
        if width is not None and len(values) != width:
            # a file that mixes the two kinds was put together from different sources: no row can be trusted
            raise ValueError(f"{path}:{ln}: {len(values)} numbers ({_ROW_KINDS[len(values)]}) after rows of "
                             f"{width} from line {first_line}; a box file holds one kind of row")
        if width is None:
            width, first_line = len(values), ln
        try:
            rows.append([float(v) for v in values])
        except ValueError as e:
            raise ValueError(f"{path}:{ln}: not a box file ({e})") from None
    return rows, width


def read_boxes(path: str) -> np.ndarray:
    """(N, 4) float64 x, y, w, h rows of a box file (see the module docstring for the format)."""
    path = os.fspath(path)
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not a box file (not text: {e.reason} at byte {e.start})") from None
    rows, width = _parse_rows(path, lines)
    if not rows:
        raise ValueError(f"{path}: empty box file")
    boxes = np.asarray(rows, dtype=np.float64)
    return polygon_bounds(boxes) if width == 8 else boxes


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

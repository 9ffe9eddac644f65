"""Reading an OTB-layout sequence folder (``img/0001.jpg ...`` + ``groundtruth_rect.txt``) for checks
and benchmarks that must run on real frames without a toolkit."""
from __future__ import annotations

import glob
import os
import re
from typing import List, Tuple

import cv2
import numpy as np


def read_rgb(path: str) -> np.ndarray:
    """Decode an image file to (H, W, 3) uint8 RGB (OpenCV decoding, as the official tracker does)."""
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"{path}: cannot decode image")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def read_boxes(path: str) -> np.ndarray:
    """(N, 4) float64 x, y, w, h from a text file separated by commas, tabs or spaces."""
    rows = []
    with open(path) as f:
        for ln, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            vals = [v for v in re.split(r"[,\s]+", line) if v]
            if len(vals) != 4:
                raise ValueError(f"{path}:{ln}: expected 4 values x,y,w,h, got {len(vals)}")
            try:
                rows.append([float(v) for v in vals])
            except ValueError:
                raise ValueError(f"{path}:{ln}: not numbers: {line!r}") from None
    if not rows:
        raise ValueError(f"{path}: no boxes")
    return np.asarray(rows, dtype=np.float64)


def load_otb_sequence(seq_dir: str) -> Tuple[List[str], np.ndarray]:
    """(frame paths, ground-truth boxes) of one OTB-layout folder, truncated to the shorter of the two."""
    frames = sorted(glob.glob(os.path.join(seq_dir, "img", "*.jpg")) + glob.glob(os.path.join(seq_dir, "img", "*.png")))
    gt = os.path.join(seq_dir, "groundtruth_rect.txt")
    if not frames:
        raise FileNotFoundError(f"{seq_dir}: no frames in img/ (OTB layout: img/0001.jpg, groundtruth_rect.txt)")
    if not os.path.isfile(gt):
        raise FileNotFoundError(f"{seq_dir}: groundtruth_rect.txt not found")
    boxes = read_boxes(gt)
    n = min(len(frames), len(boxes))
    return frames[:n], boxes[:n]


def list_otb_sequences(root: str) -> List[str]:
    """Sequence folders under ``root`` (those with ``img/`` and ``groundtruth_rect.txt``), sorted; ``root``
    itself if it is one."""
    if not os.path.isdir(root):
        raise FileNotFoundError(f"sequence folder not found: {root}")
    if os.path.isfile(os.path.join(root, "groundtruth_rect.txt")):
        return [root]
    seqs = sorted(os.path.join(root, d) for d in os.listdir(root)
                  if os.path.isfile(os.path.join(root, d, "groundtruth_rect.txt")) and os.path.isdir(os.path.join(root, d, "img")))
    if not seqs:
        raise FileNotFoundError(f"{root}: no OTB-layout sequences (<seq>/img/*.jpg + <seq>/groundtruth_rect.txt)")
    return seqs

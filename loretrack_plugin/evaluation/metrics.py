"""Tracking metrics, as got10k (GitHub master) and pytracking/OSTrack define them.

Boxes are ``[x, y, w, h]`` rows (N, 4), top-left corner, float64.

The got10k formulas live in :mod:`loretrack_plugin.got10k_metrics` (the bench's agreement check
scores with them too) and are re-exported here, so ``loretrack_plugin.evaluation.metrics`` offers
both protocols. This module adds the pytracking protocol:

**pytracking / OSTrack (``lib/test/analysis/extract_results.py``)**, per sequence:

* predictions with NaN or negative w/h and (except UAV) ground truth with NaN are errors
  (:class:`ProtocolError`); a prediction with w or h = 0 is replaced by the previous prediction;
* length mismatch: longer predictions are cut; shorter ones are zero-padded (LaSOT: error);
* the first prediction is replaced by the ground truth;
* valid frame = gt w > 0 and h > 0 (and, when given, ``target_visible`` = not full_occlusion and
  not out_of_view);
* IoU with inclusive pixels: tl = max(tl_p, tl_g), br = min(tl_p + wh_p − 1, tl_g + wh_g − 1),
  I = Π clamp(br − tl + 1, 0), IoU = I / (w_p h_p + w_g h_g − I); centre c = xy + (wh − 1)/2,
  e = ‖c_p − c_g‖, e_n = ‖c_p / wh_g − c_g / wh_g‖;
* invalid frames: IoU = −1, e = ∞ (UAV: −1), e_n = −1; for LaSOT frames with the target not
  visible get e = e_n = ∞. (So on non-LaSOT data an invalid frame counts as a *hit* of the
  normalised precision curve: that is what the code does.);
* curves: S(t) = #[IoU > t] / L for t = 0, 0.05, ..., 1 (21 points), P(t) = #[e ≤ t] / L for
  t = 0..50, N(t) = #[e_n ≤ t] / L for t = 0, 0.01, ..., 0.5, with L = number of frames, or the number
  of valid frames with ``exclude_invalid_frames``;
* benchmark: curves averaged over sequences; AUC = mean_t S(t); OP50 = S(0.5); OP75 = S(0.75);
  Precision = P(20); Norm Precision = N(0.20). Reported here as fractions (pytracking prints ×100).

pytracking keeps its per-sequence curves in float32; here everything is float64. Its thresholds
come from ``torch.arange(0, 1.05, 0.05)``, whose rounding differs between torch versions (torch 2.x
gives 0.7500000000000001, so pytracking's own ``threshold == 0.75`` lookup of OP75 finds nothing);
here the thresholds are ``i * 0.05`` and OP50/OP75 are read at indices 10 and 15.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Sequence

import numpy as np

from ..got10k_metrics import (CE_THRESHOLDS, GOT10K_IOU_THRESHOLDS, IOU_THRESHOLDS, NCE_THRESHOLDS,
                              SequenceScores, got10k_ao_sr, got10k_errors, got10k_overall, got10k_overall_speed,
                              got10k_sequence, got10k_speed, normalized_center_error)

__all__ = ["IOU_THRESHOLDS", "CE_THRESHOLDS", "NCE_THRESHOLDS", "GOT10K_IOU_THRESHOLDS", "SequenceScores",
           "normalized_center_error", "got10k_errors", "got10k_sequence", "got10k_overall", "got10k_speed",
           "got10k_overall_speed", "got10k_ao_sr",
           "PYT_OVERLAP_THRESHOLDS", "PYT_CENTER_THRESHOLDS", "PYT_NORM_THRESHOLDS", "PYT_OP50", "PYT_OP75",
           "PYT_PREC_INDEX", "ProtocolError", "pytracking_errors", "PytrackingCurves", "pytracking_sequence",
           "pytracking_overall"]

#: pytracking thresholds
PYT_OVERLAP_THRESHOLDS = np.arange(21) * 0.05
PYT_CENTER_THRESHOLDS = np.arange(0, 51, dtype=np.float64)
PYT_NORM_THRESHOLDS = np.arange(0, 51, dtype=np.float64) / 100.0
PYT_OP50, PYT_OP75, PYT_PREC_INDEX = 10, 15, 20


class ProtocolError(ValueError):
    """Input that the pytracking protocol rejects (NaN predictions or ground truth, bad lengths)."""


# -------------------------------------------------------------------------------------- pytracking

def _pyt_center(pred: np.ndarray, anno: np.ndarray, normalized: bool) -> np.ndarray:
    cp = pred[:, :2] + 0.5 * (pred[:, 2:] - 1.0)
    ca = anno[:, :2] + 0.5 * (anno[:, 2:] - 1.0)
    if normalized:
        cp, ca = cp / anno[:, 2:], ca / anno[:, 2:]
    return np.sqrt(((cp - ca) ** 2).sum(1))


def _pyt_iou(pred: np.ndarray, anno: np.ndarray) -> np.ndarray:
    tl = np.maximum(pred[:, :2], anno[:, :2])
    br = np.minimum(pred[:, :2] + pred[:, 2:] - 1.0, anno[:, :2] + anno[:, 2:] - 1.0)
    sz = np.maximum(br - tl + 1.0, 0)
    inter = sz.prod(axis=1)
    union = pred[:, 2:].prod(axis=1) + anno[:, 2:].prod(axis=1) - inter
    return inter / union


def pytracking_errors(pred: np.ndarray, anno: np.ndarray, kind: str = "otb",
                      target_visible: Optional[np.ndarray] = None):
    """Per-frame (overlap, centre error, normalised centre error, valid) of the pytracking protocol.

    ``kind`` is pytracking's dataset tag: ``lasot`` and ``uav`` have special rules, anything else
    (``otb``, ``nfs``, ``got10k``, ``lasot_extension_subset``...) the generic ones.
    """
    pred = np.array(pred, dtype=np.float64, copy=True).reshape(-1, 4)
    anno = np.array(anno, dtype=np.float64, copy=True).reshape(-1, 4)
    if np.isnan(pred).any() or (pred[:, 2:] < 0.0).any():
        raise ProtocolError("predictions contain NaN or a negative width/height")
    if np.isnan(anno).any() and kind != "uav":
        raise ProtocolError("ground truth contains NaN")
    if (pred[:, 2:] == 0.0).any():
        for i in range(1, len(pred)):
            if (pred[i, 2:] == 0.0).any() and not np.isnan(anno[i]).any():
                pred[i] = pred[i - 1]
    if len(pred) != len(anno):
        if len(pred) > len(anno):
            pred = pred[:len(anno)]
        elif kind == "lasot":
            raise ProtocolError(f"{len(pred)} predictions for {len(anno)} ground-truth frames")
        else:
            pred = np.concatenate([pred, np.zeros((len(anno) - len(pred), 4))])
    pred[0] = anno[0]
    with np.errstate(invalid="ignore"):
        valid = (anno[:, 2:] > 0.0).sum(1) == 2
    if target_visible is not None:
        target_visible = np.asarray(target_visible, dtype=bool).ravel()
        if len(target_visible) != len(anno):
            raise ProtocolError(f"{len(target_visible)} visibility flags for {len(anno)} frames")
        valid &= target_visible
    with np.errstate(divide="ignore", invalid="ignore"):
        center = _pyt_center(pred, anno, False)
        center_norm = _pyt_center(pred, anno, True)
        overlap = _pyt_iou(pred, anno)
    center[~valid] = -1.0 if kind == "uav" else np.inf
    center_norm[~valid] = -1.0
    overlap[~valid] = -1.0
    if kind == "lasot":
        tv = np.ones(len(anno), bool) if target_visible is None else target_visible
        center_norm[~tv] = np.inf
        center[~tv] = np.inf
    if np.isnan(overlap).any():
        raise ProtocolError("NaN overlap")
    return overlap, center, center_norm, valid


@dataclass
class PytrackingCurves:
    """pytracking curves (fractions): success (21), precision (51, px), normalised precision (51)."""
    success: np.ndarray
    precision: np.ndarray
    norm_precision: np.ndarray

    def scores(self) -> Dict[str, float]:
        return {"auc": float(np.mean(self.success)), "precision": float(self.precision[PYT_PREC_INDEX]),
                "norm_precision": float(self.norm_precision[PYT_PREC_INDEX]),
                "op50": float(self.success[PYT_OP50]), "op75": float(self.success[PYT_OP75])}

    def to_dict(self) -> dict:
        d = self.scores()
        d.update(success_curve=self.success.tolist(), precision_curve=self.precision.tolist(),
                 norm_precision_curve=self.norm_precision.tolist())
        return d


def pytracking_sequence(pred: np.ndarray, anno: np.ndarray, kind: str = "otb",
                        target_visible: Optional[np.ndarray] = None,
                        exclude_invalid_frames: bool = False) -> PytrackingCurves:
    """One sequence's pytracking curves; L = all frames, or valid frames with ``exclude_invalid_frames``."""
    overlap, center, center_norm, valid = pytracking_errors(pred, anno, kind, target_visible)
    length = int(valid.sum()) if exclude_invalid_frames else len(overlap)
    if length <= 0:
        raise ProtocolError("no valid frame in the sequence")
    return PytrackingCurves((overlap[:, None] > PYT_OVERLAP_THRESHOLDS[None, :]).sum(0) / length,
                            (center[:, None] <= PYT_CENTER_THRESHOLDS[None, :]).sum(0) / length,
                            (center_norm[:, None] <= PYT_NORM_THRESHOLDS[None, :]).sum(0) / length)


def pytracking_overall(seqs: Sequence[PytrackingCurves]) -> PytrackingCurves:
    """Benchmark curves: per-sequence curves averaged over sequences."""
    if not seqs:
        raise ValueError("no sequences to average")
    return PytrackingCurves(np.mean([s.success for s in seqs], axis=0), np.mean([s.precision for s in seqs], axis=0),
                            np.mean([s.norm_precision for s in seqs], axis=0))

"""Tracking metrics as got10k (GitHub master) defines them: the scoring shared by the evaluation
(:mod:`loretrack_plugin.evaluation.metrics` adds the pytracking protocol and re-exports these) and by
the backends' agreement check of ``loretrack bench`` (:mod:`loretrack_plugin.tracking.backend_comparison`).

Boxes are ``[x, y, w, h]`` rows (N, 4), top-left corner, float64.

**got10k (master ``ExperimentLaSOT``; ``ExperimentOTB`` for success/precision)**, per sequence:

* the first prediction is replaced by the ground truth (and counted);
* prediction and ground truth are cut to the shorter length (master warns; PyPI asserts);
* ``drop_nan_gt``: rows whose ground truth has a NaN are removed (LaSOT, UAV123); otherwise they
  stay and count as failures (OTB, NfS). ``0,0,0,0`` rows (LaSOT absence) always stay: IoU 0 and a
  centre error measured to (-0.5, -0.5), so they are failures for every tracker;
* IoU = area(A ∩ B) / (area(A ∪ B) + eps) clipped to [0, 1] (``got10k.utils.metrics.rect_iou``);
  centre c = (x + (w - 1)/2, y + (h - 1)/2); centre error e = ‖c_pred − c_gt‖;
  normalised centre error e_n = ‖(c_pred − c_gt) / max(1, (w_gt, h_gt))‖;
* success curve S(t) = mean_f [IoU_f > t] for t in linspace(0, 1, 21); precision curve
  P(t) = mean_f [e_f ≤ t] for t = 0..50 px; normalised precision curve N(t) = mean_f [e_n,f ≤ t]
  for t in linspace(0, 0.5, 51);
* ``success_score`` = mean_t S(t) (the "AUC"); ``precision_score`` = P(20); ``success_rate`` = S(0.5);
  ``normalized_precision_score`` = mean_t N(t) (master's definition: mean of the whole curve);
* over a benchmark: curves are averaged over sequences (each sequence weighs the same) and the
  scores are taken from the averaged curves;
* speed: per sequence mean_f 1/t_f over frames with t_f > 0 (init frame included; -1 if none);
  overall = mean over sequences with a speed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Sequence

import numpy as np
from got10k.utils.metrics import center_error, rect_iou

#: got10k thresholds
IOU_THRESHOLDS = np.linspace(0, 1, 21)
CE_THRESHOLDS = np.arange(0, 51)
NCE_THRESHOLDS = np.linspace(0, 0.5, 51)
GOT10K_IOU_THRESHOLDS = np.linspace(0, 1, 101)


def normalized_center_error(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """e_n = ‖(c_pred − c_gt) / max(1, (w_gt, h_gt))‖ with c = xy + (wh − 1)/2 (got10k master). (N,)"""
    c1 = pred[..., :2] + (pred[..., 2:] - 1) / 2
    c2 = gt[..., :2] + (gt[..., 2:] - 1) / 2
    return np.sqrt(np.sum(((c1 - c2) / np.maximum(1.0, gt[..., 2:])) ** 2, axis=-1))


@dataclass
class SequenceScores:
    """got10k-protocol curves and scores of one sequence (see the module docstring)."""
    success_curve: np.ndarray
    precision_curve: np.ndarray
    normalized_precision_curve: np.ndarray

    @property
    def success_score(self) -> float:
        return float(np.mean(self.success_curve))

    @property
    def precision_score(self) -> float:
        return float(self.precision_curve[20])

    @property
    def normalized_precision_score(self) -> float:
        return float(np.mean(self.normalized_precision_curve))

    @property
    def success_rate(self) -> float:
        return float(self.success_curve[len(IOU_THRESHOLDS) // 2])

    def scalars(self) -> Dict[str, float]:
        return {"success_score": self.success_score, "precision_score": self.precision_score,
                "normalized_precision_score": self.normalized_precision_score, "success_rate": self.success_rate}

    def to_dict(self) -> dict:
        d = {"success_curve": self.success_curve.tolist(), "precision_curve": self.precision_curve.tolist(),
             "normalized_precision_curve": self.normalized_precision_curve.tolist()}
        d.update(self.scalars())
        return d


def got10k_errors(boxes: np.ndarray, anno: np.ndarray, drop_nan_gt: bool = True):
    """Per-frame (IoU, centre error, normalised centre error) after the got10k preprocessing."""
    boxes = np.array(boxes, dtype=np.float64, copy=True).reshape(-1, 4)
    anno = np.array(anno, dtype=np.float64, copy=True).reshape(-1, 4)
    boxes[0] = anno[0]
    n = min(len(boxes), len(anno))
    boxes, anno = boxes[:n], anno[:n]
    if drop_nan_gt:
        keep = ~np.any(np.isnan(anno), axis=1)
        boxes, anno = boxes[keep], anno[keep]
    with np.errstate(invalid="ignore"):
        ious = rect_iou(boxes, anno)
        return ious, center_error(boxes, anno), normalized_center_error(boxes, anno)


def got10k_sequence(boxes: np.ndarray, anno: np.ndarray, drop_nan_gt: bool = True) -> SequenceScores:
    """got10k curves of one sequence: S over 21 IoU thresholds, P over 0..50 px, N over 0..0.5."""
    ious, ce, nce = got10k_errors(boxes, anno, drop_nan_gt)
    with np.errstate(invalid="ignore"):
        succ = np.mean(ious[:, None] > IOU_THRESHOLDS[None, :], axis=0)
        prec = np.mean(ce[:, None] <= CE_THRESHOLDS[None, :], axis=0)
        nprec = np.mean(nce[:, None] <= NCE_THRESHOLDS[None, :], axis=0)
    return SequenceScores(succ, prec, nprec)


def got10k_overall(seqs: Sequence[SequenceScores]) -> SequenceScores:
    """Benchmark curves: the per-sequence curves averaged over sequences."""
    if not seqs:
        raise ValueError("no sequences to average")
    return SequenceScores(np.mean([s.success_curve for s in seqs], axis=0),
                          np.mean([s.precision_curve for s in seqs], axis=0),
                          np.mean([s.normalized_precision_curve for s in seqs], axis=0))


def got10k_speed(times: Optional[np.ndarray]) -> float:
    """mean_f 1/t_f over frames with t_f > 0; 0.0 when there is none (got10k writes that as -1)."""
    if times is None:
        return 0.0
    t = np.asarray(times, dtype=np.float64).ravel()
    t = t[np.isfinite(t) & (t > 0)]
    return float(np.mean(1.0 / t)) if len(t) else 0.0


def got10k_overall_speed(speeds: Sequence[float]) -> float:
    """Mean of the per-sequence speeds that are > 0; -1 when none is."""
    s = np.asarray(speeds, dtype=np.float64)
    nz = np.count_nonzero(s > 0)
    return float(np.sum(s[s > 0]) / nz) if nz else -1.0


def got10k_ao_sr(ious: np.ndarray):
    """GOT-10k (frame-pooled): AO = mean IoU, SR = mean [IoU > 0.5], curve over 101 thresholds."""
    ious = np.asarray(ious, dtype=np.float64)
    return (float(np.mean(ious)), float(np.mean(ious > 0.5)),
            np.mean(ious[:, None] > GOT10K_IOU_THRESHOLDS[None, :], axis=0))

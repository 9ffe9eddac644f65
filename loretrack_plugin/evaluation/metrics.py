"""Tracking metrics, as got10k (GitHub master) and pytracking/OSTrack define them.

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
from got10k.utils.metrics import center_error, rect_iou

#: got10k thresholds
IOU_THRESHOLDS = np.linspace(0, 1, 21)
CE_THRESHOLDS = np.arange(0, 51)
NCE_THRESHOLDS = np.linspace(0, 0.5, 51)
GOT10K_IOU_THRESHOLDS = np.linspace(0, 1, 101)

#: pytracking thresholds
PYT_OVERLAP_THRESHOLDS = np.arange(21) * 0.05
PYT_CENTER_THRESHOLDS = np.arange(0, 51, dtype=np.float64)
PYT_NORM_THRESHOLDS = np.arange(0, 51, dtype=np.float64) / 100.0
PYT_OP50, PYT_OP75, PYT_PREC_INDEX = 10, 15, 20


class ProtocolError(ValueError):
    """Input that the pytracking protocol rejects (NaN predictions or ground truth, bad lengths)."""


# ----------------------------------------------------------------------------------------- got10k

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

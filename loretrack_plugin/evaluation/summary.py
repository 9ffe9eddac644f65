"""``<report_dir>/<benchmark>/metrics.json``: got10k and pytracking numbers side by side.

Shape (fractions everywhere, never x100)::

    {"benchmark", "dataset_root", "sequences": [evaluated names], "dataset_missing_sequences": [...],
     "attributes": {seq: [names]} (LaSOT / LaSOT-ext, derived from the annotations; else {}),
     "protocol": {...},
     "trackers": {name: {
        "overall": {"success_score", "precision_score", "normalized_precision_score", "success_rate",
                    "speed_fps", "success_curve", "precision_curve", "normalized_precision_curve",
                    "pytracking": {"auc", "precision", "norm_precision", "op50", "op75", <curves>} | null,
                    GOT-10k only: "ao", "sr", "succ_curve"},
        "seq_wise": {seq: {the same scalars, "pytracking": {...} | null, "length": frames}},
        "missing_sequences": [...], "info": <tracker_info.json> | null}}}

Test splits (no public ground truth) only carry ``speed_fps``, ``length`` and ``submission``.
"""
from __future__ import annotations

import json
import logging
import os
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..utils.files import write_json
from . import metrics as M
from .benchmarks import Benchmark
from .runner import result_paths

log = logging.getLogger("loretrack")

#: LaSOT attributes that follow from the annotations alone (definitions of the LaSOT paper); the
#: visual ones (illumination, blur, deformation, rotation, clutter, viewpoint, camera motion,
#: partial occlusion) need the official attribute table, which the sequence folders do not carry.
ANNOTATION_ATTRIBUTES = ("Full Occlusion", "Out-of-View", "Scale Variation", "Aspect Ratio Change",
                         "Fast Motion", "Low Resolution")


def lasot_attributes(anno: np.ndarray, full_occlusion: Optional[np.ndarray],
                     out_of_view: Optional[np.ndarray]) -> List[str]:
    """Attributes computable from a LaSOT sequence's annotations.

    With b_t = (x, y, w, h) over frames with w, h > 0 and b_0 the first such box:
    Scale Variation: sqrt(w_t h_t / (w_0 h_0)) outside [0.5, 2]; Aspect Ratio Change:
    (w_t/h_t) / (w_0/h_0) outside [0.5, 2]; Fast Motion: centre displacement between consecutive
    annotated frames > sqrt(w h) of the earlier box; Low Resolution: w_t h_t < 1000 px in some frame;
    Full Occlusion / Out-of-View: any flagged frame.
    """
    out = []
    if full_occlusion is not None and np.any(full_occlusion):
        out.append("Full Occlusion")
    if out_of_view is not None and np.any(out_of_view):
        out.append("Out-of-View")
    a = np.asarray(anno, np.float64)
    valid = np.all(np.isfinite(a), axis=1) & (a[:, 2] > 0) & (a[:, 3] > 0)
    b = a[valid]
    if len(b):
        area = b[:, 2] * b[:, 3]
        scale = np.sqrt(area / area[0])
        if np.any((scale < 0.5) | (scale > 2)):
            out.append("Scale Variation")
        ar = (b[:, 2] / b[:, 3]) / (b[0, 2] / b[0, 3])
        if np.any((ar < 0.5) | (ar > 2)):
            out.append("Aspect Ratio Change")
        c = b[:, :2] + b[:, 2:] / 2
        if len(b) > 1 and np.any(np.linalg.norm(np.diff(c, axis=0), axis=1) > np.sqrt(area[:-1])):
            out.append("Fast Motion")
        if np.any(area < 1000):
            out.append("Low Resolution")
    return out


def _load_info(exp_result_dir: str, name: str) -> Optional[dict]:
    p = os.path.join(exp_result_dir, name, "tracker_info.json")
    if not os.path.isfile(p):
        return None
    with open(p) as f:
        return json.load(f)


def _times(layout: str, time_file: str) -> Optional[np.ndarray]:
    if not os.path.isfile(time_file):
        return None
    t = np.loadtxt(time_file, delimiter="," if layout == "got10k" else None, ndmin=1)
    return t[~np.isnan(t)] if t.size else t


def build_metrics(bench: Benchmark, exp, root: str, trackers: Sequence[str], evaluated: Sequence[str],
                  missing: Dict[str, List[str]], dataset_missing: Sequence[str],
                  performance: Optional[dict] = None, exclude_invalid_frames: bool = False,
                  submissions: Optional[Dict[str, str]] = None) -> dict:
    """Compute the metrics.json content from the result files of ``trackers`` on ``evaluated``.

    ``exp.dataset`` must still contain every name in ``evaluated``; ``performance`` is got10k's
    GOT-10k report (for ``ao``/``sr``), ignored elsewhere.
    """
    ds = exp.dataset
    annos, vis, attrs = {}, {}, {}
    for seq in evaluated:
        img_files, anno = ds[ds.index(seq)]
        annos[seq] = (len(img_files), anno)
        vis[seq] = ds.visibility(seq) if hasattr(ds, "visibility") else None
        if bench.name in ("lasot", "lasot_ext"):
            fl = ds.flags(seq)
            attrs[seq] = lasot_attributes(anno, fl["full_occlusion"], fl["out_of_view"])
    out = {"benchmark": bench.name, "dataset_root": os.path.abspath(root), "sequences": list(evaluated),
           "dataset_missing_sequences": list(dataset_missing), "attributes": attrs,
           "protocol": {"got10k": "got10k master (ExperimentLaSOT formulas; NaN ground truth "
                                  + ("dropped" if bench.drop_nan_gt else "counted as failure") + ")",
                        "pytracking": {"dataset": bench.kind, "exclude_invalid_frames": bool(exclude_invalid_frames)},
                        "has_ground_truth": bench.has_ground_truth},
           "trackers": {}}
    for name in trackers:
        seq_wise, g_seqs, p_seqs, speeds = {}, [], [], []
        pyt_error = None
        for seq in evaluated:
            n_frames, anno = annos[seq]
            records, time_file = result_paths(bench.layout, exp.result_dir, name, seq)
            speed = M.got10k_speed(_times(bench.layout, time_file))
            speeds.append(speed)
            entry = {"speed_fps": speed if speed > 0 else -1, "length": n_frames}
            if bench.has_ground_truth:
                boxes = np.loadtxt(records[0], delimiter=",", ndmin=2)
                g = M.got10k_sequence(boxes, anno, drop_nan_gt=bench.drop_nan_gt)
                g_seqs.append(g)
                entry.update(g.scalars())
                try:
                    p = M.pytracking_sequence(boxes, anno, bench.kind, vis[seq], exclude_invalid_frames)
                    p_seqs.append(p)
                    entry["pytracking"] = p.scores()
                except M.ProtocolError as e:
                    entry["pytracking"] = None
                    pyt_error = pyt_error or f"{seq}: {e}"
                if performance is not None and name in performance:
                    sw = performance[name]["seq_wise"].get(seq, {})
                    entry.update({k: sw[k] for k in ("ao", "sr") if k in sw})
                    if "speed_fps" in sw:
                        entry["speed_fps"] = sw["speed_fps"]
            seq_wise[seq] = entry
        overall: dict = {"speed_fps": M.got10k_overall_speed(speeds)}
        if bench.has_ground_truth and g_seqs:
            overall.update(M.got10k_overall(g_seqs).to_dict())
            if pyt_error is None:
                overall["pytracking"] = M.pytracking_overall(p_seqs).to_dict()
            else:
                log.warning("%s: the pytracking protocol rejects %s -- pytracking numbers left out", name, pyt_error)
                overall["pytracking"] = None
            if performance is not None and name in performance:
                po = performance[name]["overall"]
                overall.update(ao=po["ao"], sr=po["sr"], succ_curve=po["succ_curve"], speed_fps=po["speed_fps"])
        tr = {"overall": overall, "seq_wise": seq_wise, "missing_sequences": list(missing.get(name, [])),
              "info": _load_info(exp.result_dir, name)}
        if submissions and name in submissions:
            tr["submission"] = submissions[name]
        out["trackers"][name] = tr
    return out


def write_metrics(report_dir: str, benchmark: str, metrics: dict) -> str:
    path = os.path.join(report_dir, benchmark, "metrics.json")
    write_json(path, metrics)
    return path

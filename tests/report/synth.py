"""Synthetic benchmark results for the report tests.

Ground truth and predictions are random; got10k's own ``report()`` (the real ExperimentOTB /
ExperimentGOT10k code, fed a dataset object instead of a downloaded benchmark) computes
performance.json, and metrics.json follows the ``loretrack eval`` contract: got10k's numbers plus
normalised precision and the pytracking-protocol numbers computed here.
"""
from __future__ import annotations

import json
import os
from typing import Dict, List, Optional

import numpy as np
from got10k.utils.metrics import rect_iou

IMG_W, IMG_H = 640, 480


def synth_gt(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 4) x,y,w,h: a box drifting smoothly inside a 640x480 frame."""
    w, h = rng.uniform(30, 120), rng.uniform(30, 120)
    c = np.array([rng.uniform(w, IMG_W - w), rng.uniform(h, IMG_H - h)])
    out = []
    for _ in range(n):
        c = np.clip(c + rng.normal(0, 4, 2), [w, h], [IMG_W - w, IMG_H - h])
        s = 1 + rng.normal(0, 0.01)
        w, h = np.clip(w * s, 20, 150), np.clip(h * s, 20, 150)
        out.append([c[0] - w / 2, c[1] - h / 2, w, h])
    return np.array(out)


def synth_pred(rng: np.random.Generator, gt: np.ndarray, quality: float) -> np.ndarray:
    """Noisy copy of ``gt``: offset noise shrinks with ``quality`` in (0, 1); poor trackers drift away."""
    pred = gt.copy()
    sd = (1 - quality) * 0.6
    pred[:, :2] += rng.normal(0, sd, (len(gt), 2)) * gt[:, 2:]
    pred[:, 2:] *= np.exp(rng.normal(0, sd * 0.5, (len(gt), 2)))
    if rng.uniform() > quality:  # lose the target for the last part of the sequence
        k = int(len(gt) * rng.uniform(0.4, 0.9))
        pred[k:, :2] = pred[k, :2] + rng.normal(0, 60, 2)
    pred[0] = gt[0]
    return pred


def iou_xywh(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of (N, 4) x,y,w,h boxes, written out here (not got10k's rect_iou), clipped to [0, 1]."""
    x1, y1 = np.maximum(a[:, 0], b[:, 0]), np.maximum(a[:, 1], b[:, 1])
    x2 = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2])
    y2 = np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    return np.clip(inter / (a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter), 0.0, 1.0)  # 1 + 1 ulp is 1


def static_box_auc(gts) -> float:
    """Success AUC (21 thresholds, IoU > t, mean over sequences) of the first box kept on every frame,
    as written to disk (%.3f), computed by hand from the ground truths ``gts`` ((N, 4) arrays)."""
    per_seq = []
    for gt in gts:
        gt = np.asarray(gt, np.float64)
        pred = np.tile(np.round(gt[0], 3), (len(gt), 1))
        pred[0] = gt[0]  # the protocol scores the first frame against the ground truth itself
        iou = iou_xywh(pred, gt)
        per_seq.append(np.mean([(iou > t).mean() for t in np.linspace(0, 1, 21)]))
    return float(np.mean(per_seq))


def _centers(b):
    return b[:, :2] + (b[:, 2:] - 1) / 2


def seq_metrics(pred: np.ndarray, gt: np.ndarray) -> dict:
    """Normalised precision (got10k master) and pytracking numbers of one sequence."""
    pred = pred.copy()
    pred[0] = gt[0]
    iou = rect_iou(pred, gt)
    err_n = np.linalg.norm((_centers(pred) - _centers(gt)) / np.maximum(1, gt[:, 2:]), axis=1)
    err = np.linalg.norm(_centers(pred) - _centers(gt), axis=1)
    succ = np.array([(iou > t).mean() for t in np.linspace(0, 1, 21)])
    prec = np.array([(err <= t).mean() for t in np.linspace(0, 50, 51)])
    nprec = np.array([(err_n <= t).mean() for t in np.linspace(0, 0.5, 51)])
    return {"normalized_precision_curve": nprec, "normalized_precision_score": float(nprec.mean()),
            "pytracking": {"auc": float(succ.mean()), "precision": float(prec[20]),
                           "norm_precision": float(nprec[20]), "op50": float(succ[10]), "op75": float(succ[15])}}


class FakeOTB:
    """What ExperimentOTB.report needs of a dataset: names, length, (img_files, anno) per index."""

    def __init__(self, gts: Dict[str, np.ndarray]):
        self.gts = gts
        self.seq_names = list(gts)

    def __len__(self):
        return len(self.seq_names)

    def __getitem__(self, i):
        name = self.seq_names[i] if isinstance(i, int) else i
        gt = self.gts[name]
        return [f"{k:04d}.jpg" for k in range(1, len(gt) + 1)], gt


class FakeGOT(FakeOTB):
    """GOT-10k val: also (img_files, anno, meta) with cover labels when ``return_meta``."""

    def __init__(self, gts, covers):
        super().__init__(gts)
        self.covers = covers
        self.return_meta = False

    def __getitem__(self, i):
        img, gt = super().__getitem__(i)
        if not self.return_meta:
            return img, gt
        name = self.seq_names[i] if isinstance(i, int) else i
        return img, gt, {"resolution": f"({IMG_W}, {IMG_H})", "cover": self.covers[name]}


def tiny_network(search: int) -> dict:
    from loretrack_plugin import make_config
    return make_config(search, embed_dim=64, depth=2, num_heads=4, head_channels=32).to_dict()


def _info(name: str, search: Optional[int]) -> Optional[dict]:
    if search is None:
        return None
    return {"name": name, "network": tiny_network(search), "search_factor": 5.0, "template_factor": 2.0,
            "checkpoint": f"/nowhere/{name}.pth.tar", "backend": "eager"}


def make_benchmark(root: str, trackers: Dict[str, dict], n_seqs: int = 6, frames=(40, 90), seed: int = 0,
                   benchmark: str = "lasot", got_folder: str = "LaSOT", attributes: Optional[List[str]] = None,
                   write_info: bool = True, floor: bool = False) -> dict:
    """OTB-protocol synthetic benchmark.

    ``trackers``: name -> {"quality", "fps", "search" (resolution or None), "missing": [seq indices]}, or
    {"static": True} (the first box kept, no times) / {"away": True, "fps"} (the target lost after frame 1).
    ``floor``: also the static box (``static-box``: first ground-truth box on every frame, times 0),
    scored like the others, as ``loretrack eval`` writes it.
    Writes ``root/results/<got_folder>/<tracker>/...``, got10k's performance.json (one file for the
    complete trackers, one per incomplete tracker, as separate got10k reports would) and
    ``root/reports/<benchmark>/metrics.json``. Returns paths and the generated data.
    """
    from got10k.experiments import ExperimentOTB
    rng = np.random.default_rng(seed)
    seqs = [f"seq-{i:02d}" for i in range(n_seqs)]
    gts = {s: synth_gt(rng, int(rng.integers(*frames))) for s in seqs}
    attrs = {}
    if attributes:
        for i, s in enumerate(seqs):  # every attribute on at least one sequence
            chosen = {attributes[i % len(attributes)]} | {a for a in attributes if rng.uniform() < 0.3}
            attrs[s] = sorted(chosen)
    result_dir, report_dir = os.path.join(root, "results"), os.path.join(root, "reports")
    preds = {}
    if floor:
        trackers = dict(trackers, **{"static-box": {"static": True}})
    for name, spec in trackers.items():
        have = [s for i, s in enumerate(seqs) if i not in spec.get("missing", ())]
        tdir = os.path.join(result_dir, got_folder, name)
        os.makedirs(os.path.join(tdir, "times"), exist_ok=True)
        for s in have:
            if spec.get("static"):  # the first box kept
                p = np.tile(gts[s][0], (len(gts[s]), 1))
            elif spec.get("away"):  # the target lost after the first frame: IoU 0 on every other frame
                p = gts[s] + [1000.0, 0.0, 0.0, 0.0]
                p[0] = gts[s][0]
            else:
                p = synth_pred(rng, gts[s], spec["quality"])
            preds[name, s] = p
            np.savetxt(os.path.join(tdir, f"{s}.txt"), p, fmt="%.3f", delimiter=",")
            times = np.zeros(len(p)) if spec.get("static") else \
                1.0 / (spec["fps"] * np.exp(rng.normal(0, 0.05, len(p))))
            np.savetxt(os.path.join(tdir, "times", f"{s}_time.txt"), times, fmt="%.8f")
        if write_info and spec.get("search"):
            with open(os.path.join(tdir, "tracker_info.json"), "w") as f:
                json.dump(_info(name, spec["search"]), f)

    def report(names, dataset):
        e = ExperimentOTB.__new__(ExperimentOTB)
        e.dataset, e.nbins_iou, e.nbins_ce = dataset, 21, 51
        e.result_dir = os.path.join(result_dir, got_folder)
        e.report_dir = os.path.join(report_dir, got_folder)
        e.plot_curves = lambda *a, **k: None  # got10k's own PNGs are not under test and slow to draw
        return e.report(names)

    complete = [n for n, s in trackers.items() if not s.get("missing")]
    perf, perf_files = {}, []
    if complete:
        perf.update(report(complete, FakeOTB(gts)))
        perf_files.append(os.path.join(report_dir, got_folder, complete[0], "performance.json"))
    for n, s in trackers.items():
        if s.get("missing"):
            keep = {q: g for i, (q, g) in enumerate(gts.items()) if i not in s["missing"]}
            perf.update(report([n], FakeOTB(keep)))
            perf_files.append(os.path.join(report_dir, got_folder, n, "performance.json"))
    perf = json.loads(json.dumps(perf))  # numpy scalars -> floats, as read back from disk

    mtr = {}
    for name, spec in trackers.items():
        p = perf[name]
        seq_wise, ncurves, pyts = {}, [], []
        for s, e in p["seq_wise"].items():
            m = seq_metrics(preds[name, s], gts[s])
            ncurves.append(m["normalized_precision_curve"])
            pyts.append(m["pytracking"])
            seq_wise[s] = {k: e[k] for k in ("success_score", "precision_score", "success_rate", "speed_fps")}
            seq_wise[s].update(normalized_precision_score=m["normalized_precision_score"],
                               pytracking=m["pytracking"], length=len(gts[s]))
        ncurve = np.mean(ncurves, axis=0)
        overall = dict(p["overall"])
        overall.update(normalized_precision_curve=ncurve.tolist(), normalized_precision_score=float(ncurve.mean()),
                       pytracking={k: float(np.mean([q[k] for q in pyts])) for k in pyts[0]})
        mtr[name] = {"overall": overall, "seq_wise": seq_wise,
                     "missing_sequences": [seqs[i] for i in spec.get("missing", ())],
                     "info": _info(name, spec.get("search")) if spec.get("info_in_metrics", True) else None}
    metrics = {"benchmark": benchmark, "dataset_root": os.path.join(root, "data"), "sequences": seqs,
               "attributes": attrs, "trackers": mtr}
    mpath = os.path.join(report_dir, benchmark, "metrics.json")
    os.makedirs(os.path.dirname(mpath), exist_ok=True)
    with open(mpath, "w") as f:
        json.dump(metrics, f)
    return {"result_dir": result_dir, "report_dir": report_dir, "metrics": metrics, "metrics_path": mpath,
            "performance": perf, "performance_files": perf_files, "sequences": seqs, "gts": gts}


def make_got10k_benchmark(root: str, trackers: Dict[str, dict], n_seqs: int = 5, seed: int = 1) -> dict:
    """GOT-10k val protocol through got10k's ExperimentGOT10k.report (AO, SR, 101-point curve)."""
    from got10k.experiments import ExperimentGOT10k
    rng = np.random.default_rng(seed)
    seqs = [f"GOT-10k_Val_{i + 1:06d}" for i in range(n_seqs)]
    gts = {s: synth_gt(rng, int(rng.integers(30, 70))) for s in seqs}
    covers = {}
    for s, g in gts.items():
        c = np.full(len(g), 8)
        c[rng.uniform(size=len(g)) < 0.1] = 0  # some invisible frames, excluded by the protocol
        covers[s] = c
    result_dir, report_dir = os.path.join(root, "results"), os.path.join(root, "reports")
    for name, spec in trackers.items():
        for s in seqs:
            d = os.path.join(result_dir, "GOT-10k", name, s)
            os.makedirs(d, exist_ok=True)
            np.savetxt(os.path.join(d, f"{s}_001.txt"), synth_pred(rng, gts[s], spec["quality"]), fmt="%.3f",
                       delimiter=",")
            np.savetxt(os.path.join(d, f"{s}_time.txt"), np.full(len(gts[s]), 1.0 / spec["fps"]), fmt="%.8f")
    e = ExperimentGOT10k.__new__(ExperimentGOT10k)
    e.subset, e.dataset, e.nbins_iou, e.repetitions = "val", FakeGOT(gts, covers), 101, 3
    e.result_dir, e.report_dir = os.path.join(result_dir, "GOT-10k"), os.path.join(report_dir, "GOT-10k")
    e.plot_curves = lambda *a, **k: None
    perf = json.loads(json.dumps(e.report(list(trackers))))
    mtr = {}
    for name, spec in trackers.items():
        o = perf[name]["overall"]
        mtr[name] = {"overall": {"ao": o["ao"], "sr": o["sr"], "speed_fps": o["speed_fps"],
                                 "success_curve": o["succ_curve"]},
                     "seq_wise": perf[name]["seq_wise"], "missing_sequences": [],
                     "info": _info(name, spec.get("search"))}
    metrics = {"benchmark": "got10k_val", "dataset_root": os.path.join(root, "data"), "sequences": seqs,
               "attributes": {}, "trackers": mtr}
    mpath = os.path.join(report_dir, "got10k_val", "metrics.json")
    os.makedirs(os.path.dirname(mpath), exist_ok=True)
    with open(mpath, "w") as f:
        json.dump(metrics, f)
    return {"result_dir": result_dir, "report_dir": report_dir, "metrics": metrics, "performance": perf}

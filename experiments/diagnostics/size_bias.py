"""Does a tracker's size head over- or under-estimate the target on real frames?

For every k-th frame of each OTB-layout sequence, the search crop is cut around the ground-truth box
(search factor of the tracker, no jitter: what the tracking loop sees when it is on target), the
network is run against the template of frame 0, and the box decoded at the windowed peak is
compared with the ground truth: log2(predicted / true) of the width, the height and sqrt(w*h), and
the centre error in units of sqrt(w*h). A calibrated tracker has a median size log-ratio near 0.
A positive median makes the loop's box (and with it the next crop) grow frame after frame.

``--scales 0.7,1,1.4`` also cuts the crop around the ground-truth box scaled by each factor (the
state a drifting loop would have): a network that measures the target predicts the same size
whatever the crop (slope 0 of log2(predicted size) against log2(scale)); one that only repeats its
prior of "the target fills 1/factor of the crop" follows the crop (slope 1), so any bias compounds.

    python experiments/diagnostics/size_bias.py --tracker demo-teacher-256 --root DIR [--root DIR2] [--every 5]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys

import numpy as np
import torch


def run(tracker, roots, every: int = 5, sequences=None, checkpoint=None, scales=(1.0,)):
    """``tracker``: a tracker name or file, or a built TrackerCore (used as it is)."""
    from loretrack_plugin.formats import load_otb_sequence, read_rgb
    from loretrack_plugin.tracking import TrackerCore
    from loretrack_plugin.tracking.postprocess import crop_box_to_pixels, decode_at, peak_cell
    from loretrack_plugin.trackers import make_tracker
    core: TrackerCore = tracker if isinstance(tracker, TrackerCore) else make_tracker(tracker, checkpoint=checkpoint,
                                                                                      backend="eager")
    rows = {}
    for root in roots:
        for name in sorted(os.listdir(root)):
            if sequences and name not in sequences:
                continue
            seq = os.path.join(root, name)
            if not os.path.isdir(os.path.join(seq, "img")):
                continue
            paths, gt = load_otb_sequence(seq)
            core.init(read_rgb(paths[0]), gt[0])
            ratios, centre, by_scale = [], [], {sc: [] for sc in scales}
            for k in range(1, len(paths), every):
                box = gt[k]
                if not (np.all(np.isfinite(box)) and box[2] > 1 and box[3] > 1):
                    continue
                image = core.working_frame(read_rgb(paths[k]))  # scaled down if the loop says so
                box = core.to_working(box)
                tw, th = float(box[2]), float(box[3])
                for sc in scales:
                    cx0, cy0 = box[0] + 0.5 * tw, box[1] + 0.5 * th
                    core.state = [cx0 - 0.5 * sc * tw, cy0 - 0.5 * sc * th, sc * tw, sc * th]
                    search, rf = core.search_crop(image)
                    with torch.inference_mode():
                        score, size, offset = core.forward(search)
                    peak = peak_cell(core.window * score)
                    cx, cy, w, h = crop_box_to_pixels(decode_at(peak, size, offset), core.cfg.search_size, rf)
                    by_scale[sc].append(0.5 * math.log2(w * h / (tw * th)))
                    if sc == 1.0:
                        side = core.cfg.search_size / rf
                        ratios.append((math.log2(w / tw), math.log2(h / th), 0.5 * math.log2(w * h / (tw * th))))
                        centre.append(math.hypot(cx - side / 2, cy - side / 2) / math.sqrt(tw * th))
            if ratios:
                r = np.array(ratios)
                rows[name] = {"frames": len(r), "log2_w": float(np.median(r[:, 0])), "log2_h": float(np.median(r[:, 1])),
                              "log2_size": float(np.median(r[:, 2])), "centre_err": float(np.median(centre)),
                              "log2_size_by_scale": {str(sc): float(np.median(v)) for sc, v in by_scale.items()}}
    allr = np.array([v["log2_size"] for v in rows.values()])
    summary = {"tracker": getattr(tracker, "name", tracker), "sequences": len(rows), "median_log2_size": float(np.median(allr)) if len(allr) else None,
               "mean_log2_size": float(allr.mean()) if len(allr) else None, "per_sequence": rows}
    if len(scales) > 1 and rows:
        xs = np.log2(np.array(scales, dtype=float))
        ys = np.array([[v["log2_size_by_scale"][str(sc)] for sc in scales] for v in rows.values()]).mean(0)
        summary["log2_size_by_scale"] = {str(sc): float(y) for sc, y in zip(scales, ys)}
        summary["scale_slope"] = float(np.polyfit(xs, ys, 1)[0])
    return summary


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tracker", required=True)
    p.add_argument("--checkpoint")
    p.add_argument("--root", action="append", required=True)
    p.add_argument("--sequences", help="comma-separated names (default: all)")
    p.add_argument("--every", type=int, default=5)
    p.add_argument("--scales", default="1", help="comma-separated crop scales around the true box [1]")
    p.add_argument("--json")
    a = p.parse_args(argv)
    scales = tuple(float(v) for v in a.scales.split(","))
    if 1.0 not in scales:
        scales = (1.0,) + scales
    s = run(a.tracker, a.root, a.every, a.sequences.split(",") if a.sequences else None, a.checkpoint, scales)
    for n, v in s["per_sequence"].items():
        print(f"{n:18s} frames {v['frames']:4d}  log2(pred/true) w {v['log2_w']:+.2f} h {v['log2_h']:+.2f} "
              f"size {v['log2_size']:+.2f}  centre err {v['centre_err']:.2f}")
    print(f"median over sequences of the median log2 size ratio: {s['median_log2_size']:+.3f} "
          f"(x{2 ** s['median_log2_size']:.2f})")
    if "scale_slope" in s:
        print("mean log2(pred/true) size when the crop is cut for a box scaled by: "
              + ", ".join(f"{k}: {v:+.2f}" for k, v in s["log2_size_by_scale"].items())
              + f"; slope {s['scale_slope']:.2f} (0 = measures the target, 1 = follows the crop)")
    if a.json:
        from loretrack_plugin.utils.files import write_json
        write_json(a.json, s)


if __name__ == "__main__":
    sys.exit(main())

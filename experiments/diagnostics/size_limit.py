"""How much does limiting or damping the per-frame size change help a tracker? (``max_size_change``,
``size_lr``)

Runs a tracker over OTB-layout sequences once per (limit, damping) pair (``none`` = the official
loop) and scores every run with the got10k success AUC. To get more than one trajectory per video,
each sequence is also restarted from later frames (``--starts 0,0.25,0.5,0.75``: initialised on the
ground truth of the frame at that fraction of its length and tracked to its end, OTB's
temporal-robustness idea), and the AUC is the mean over all (sequence, start) runs. The static box
(the start box held on every frame) is scored on the same runs, as the floor.

    python experiments/diagnostics/size_limit.py --tracker demo-teacher-256 --root DIR \
        [--limits none,1.01,1.02,1.03] [--size-lrs none,0.3,0.5,0.7] [--starts 0,0.25,0.5,0.75] \
        [--json out.json]

Choose a limit or a damping on videos no model trained on and that are not an evaluation set (the
miniature recipe keeps six real-train videos for that: experiments/mini/README.md).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np


def parse_limits(text: str):
    """``"none,1.02"`` -> [None, 1.02]; every number must be > 1."""
    out = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if part.lower() == "none":
            out.append(None)
            continue
        try:
            value = float(part)
        except ValueError:
            value = float("nan")
        if not value > 1:
            raise ValueError(f"--limits: {part!r} is neither 'none' nor a number > 1")
        out.append(value)
    if not out:
        raise ValueError("--limits: no limit given")
    return out


def parse_size_lrs(text: str):
    """``"none,0.5"`` -> [None, 0.5]; every number must be in (0, 1]."""
    from loretrack_plugin.tracking.core import parse_size_lr
    out = [parse_size_lr(part, "--size-lrs") for part in text.split(",") if part.strip()]
    if not out:
        raise ValueError("--size-lrs: no value given")
    return out


def parse_starts(text: str):
    starts = []
    for part in (p.strip() for p in text.split(",")):
        if part:
            try:
                s = float(part)
            except ValueError:
                s = float("nan")
            if not 0 <= s < 1:
                raise ValueError(f"--starts: {part!r} is not a fraction in [0, 1)")
            starts.append(s)
    if not starts:
        raise ValueError("--starts: no start given")
    return starts


def load_sequences(roots, sequences=None):
    """[(name, RGB frames, (N, 4) boxes)] of every OTB-layout sequence under ``roots``."""
    from loretrack_plugin.formats import find_otb_sequences, read_rgb
    out = []
    for root in roots:
        for seq in find_otb_sequences(root):
            if sequences and seq.name not in sequences:
                continue
            paths, gt = seq.load()
            out.append((seq.name, [read_rgb(p) for p in paths], np.asarray(gt, dtype=np.float64)))
    if not out:
        raise ValueError(f"no sequence found under {', '.join(roots)}"
                         + (f" named {', '.join(sequences)}" if sequences else ""))
    return out


def run(tracker, data, limits, starts=(0.0,), checkpoint=None, progress: bool = True, size_lrs=(None,)):
    """``tracker``: a tracker name or file, or a built TrackerCore (its ``max_size_change`` and
    ``size_lr`` are set for each pair of ``limits`` x ``size_lrs`` in turn and restored afterwards).
    Returns a dict with one row per pair and the static-box floor: ``auc`` (%, mean success curve of
    all runs) and ``per_sequence`` (mean over starts).
    """
    from tqdm import tqdm

    from loretrack_plugin.evaluation.metrics import got10k_overall, got10k_sequence
    from loretrack_plugin.tracking import TrackerCore
    from loretrack_plugin.trackers import make_tracker
    core: TrackerCore = tracker if isinstance(tracker, TrackerCore) else make_tracker(tracker, checkpoint=checkpoint,
                                                                                      backend="eager")
    runs = []  # (name, first frame index)
    for name, frames, gt in data:
        for s in starts:
            k = int(s * len(frames))
            if k < len(frames) - 1 and np.all(np.isfinite(gt[k])) and gt[k][2] > 0 and gt[k][3] > 0:
                runs.append((name, k))
    by_name = {name: (frames, gt) for name, frames, gt in data}

    def summarise(scores):
        per = {}
        for (name, _), sc in zip(runs, scores):
            per.setdefault(name, []).append(100 * sc.success_score)
        return {"auc": 100 * got10k_overall(scores).success_score,
                "per_sequence": {n: float(np.mean(v)) for n, v in per.items()}}

    floor = [got10k_sequence(np.repeat(by_name[n][1][k][None], len(by_name[n][1]) - k, axis=0), by_name[n][1][k:])
             for n, k in runs]
    rows = []
    saved = core.max_size_change, core.size_lr
    pairs = [(limit, lr) for limit in limits for lr in size_lrs]
    bar = tqdm(total=len(pairs) * len(runs), desc="size_limit", unit="run", disable=not progress)
    try:
        for limit, lr in pairs:
            core.max_size_change, core.size_lr = limit, lr
            scores = []
            for name, k in runs:
                frames, gt = by_name[name]
                core.init(frames[k], gt[k])
                boxes = [gt[k]] + [core.update(f)[0] for f in frames[k + 1:]]
                scores.append(got10k_sequence(np.asarray(boxes), gt[k:]))
                bar.update(1)
            rows.append({"max_size_change": limit, "size_lr": lr, **summarise(scores)})
    finally:
        core.max_size_change, core.size_lr = saved
        bar.close()
    return {"tracker": getattr(core, "name", str(tracker)), "runs": len(runs), "starts": list(starts),
            "static_box": summarise(floor), "rows": rows}


def row_label(row) -> str:
    """``none (official loop)``, ``1.02``, ``size_lr 0.5`` or ``1.02, size_lr 0.5``."""
    limit, lr = row["max_size_change"], row.get("size_lr")
    if limit is None and lr is None:
        return "none (official loop)"
    return ", ".join(([] if limit is None else [f"{limit:g}"]) + ([] if lr is None else [f"size_lr {lr:g}"]))


def format_table(result) -> str:
    names = list(result["static_box"]["per_sequence"])
    head = "| loop | AUC (%) | " + " | ".join(names) + " |\n|---|---|" + "---|" * len(names) + "\n"
    lines = []
    for label, row in [("static box (floor)", result["static_box"])] + [(row_label(r), r) for r in result["rows"]]:
        lines.append(f"| {label} | {row['auc']:.1f} | " + " | ".join(f"{row['per_sequence'][n]:.1f}" for n in names)
                     + " |")
    return head + "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracker", required=True, help="tracker name or tracker .yaml file")
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--root", action="append", required=True, help="folder of OTB-layout sequences (repeatable)")
    ap.add_argument("--sequences", default="", help="comma-separated subset")
    ap.add_argument("--limits", default="none,1.01,1.02,1.03")
    ap.add_argument("--size-lrs", default="none", help="size damping values (size_lr), e.g. none,0.3,0.5")
    ap.add_argument("--starts", default="0,0.25,0.5,0.75")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None, help="write the result here (atomically)")
    args = ap.parse_args(argv)
    try:
        limits, starts = parse_limits(args.limits), parse_starts(args.starts)
        size_lrs = parse_size_lrs(args.size_lrs)
        for root in args.root:
            if not os.path.isdir(root):
                raise ValueError(f"--root: folder not found: {root}")
        import torch
        torch.set_num_threads(args.threads)
        data = load_sequences(args.root, [s for s in args.sequences.split(",") if s.strip()] or None)
        result = run(args.tracker, data, limits, starts, checkpoint=args.checkpoint, size_lrs=size_lrs)
    except (ValueError, FileNotFoundError) as e:
        print(f"size_limit: {e}", file=sys.stderr)
        return 2
    print(f"{result['tracker']}: {result['runs']} runs (starts {', '.join(f'{s:g}' for s in starts)})")
    print(format_table(result))
    if args.json:
        from loretrack_plugin.utils.files import write_json
        write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

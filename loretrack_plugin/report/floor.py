"""The floor of a report: the built-in ``static-box`` tracker (the first frame's box kept on every frame).

Where its numbers come from, in order:

1. the results the report reads (``loretrack eval`` runs the static box beside the requested
   trackers unless ``--no-floor``): its ``static-box`` entry in metrics.json / performance.json;
2. otherwise the ground truth, when the dataset named in metrics.json (``dataset_root``) is there:
   the static box is run and scored by :func:`loretrack_plugin.evaluation.evaluate` -- the same
   result files, got10k report and metrics.json code as every tracker -- into a temporary folder,
   on exactly the report's sequences (its results are a pure function of the ground truth, and no
   frame is decoded, so this is cheap);
3. otherwise it is unknown, and the report says why.

A tracker whose primary score (AUC, or AO on GOT-10k) is not above the floor's on the same
sequences is **not tracking** there.
"""
from __future__ import annotations

import logging
import os
import tempfile
from typing import Optional, Sequence, Tuple

from ..evaluation.static_box import STATIC_BOX
from .data import BenchmarkResults, TrackerResult, load_metrics, subset_scores

log = logging.getLogger(__name__)

FLOOR_NAME = STATIC_BOX
FLOOR_LABEL = "static box"
#: a tracker tracks when its score exceeds the floor's by more than this (float noise, not a margin)
TOLERANCE = 1e-9


def take_floor(bench: BenchmarkResults) -> None:
    """Move the ``static-box`` results (if any) out of the compared trackers into ``bench.floor``."""
    t = bench.trackers.pop(FLOOR_NAME, None)
    if t is not None and bench.floor is None:
        bench.floor = t
        bench.floor_source = "metrics.json" if "metrics" in bench.sources else "performance.json"


def compute_floor(bench: BenchmarkResults) -> Tuple[Optional[TrackerResult], Optional[str]]:
    """Score the static box from the ground truth: ``(result, None)`` or ``(None, why not)``."""
    if not bench.has_ground_truth:
        return None, "no ground truth in this split"
    from ..evaluation import evaluate, get_benchmark, static_box_ref
    try:
        get_benchmark(bench.benchmark)
    except ValueError:
        return None, (f"no static-box results, and {bench.benchmark!r} is not a benchmark `loretrack eval` knows, "
                      "so its ground truth cannot be read")
    root = bench.dataset_root
    if not root or not os.path.isdir(root):
        return None, ("no static-box results, and the dataset to score it on is not available"
                      + (f" ({root} not found)" if root else " (metrics.json names no dataset_root)"))
    exclude = bool(((bench.protocol or {}).get("pytracking") or {}).get("exclude_invalid_frames", False))
    with tempfile.TemporaryDirectory(prefix="loretrack-floor-") as tmp:
        try:
            res = evaluate(bench.benchmark, root, [static_box_ref()], result_dir=os.path.join(tmp, "results"),
                           report_dir=os.path.join(tmp, "reports"), sequences=list(bench.sequences),
                           exclude_invalid_frames=exclude)
            if not res.metrics_file:
                return None, "the static box could not be scored on the report's sequences"
            floor = load_metrics(res.metrics_file, bench.benchmark).trackers[FLOOR_NAME]
        except Exception as e:  # a dataset that changed since the evaluation, a broken file: say so
            log.debug("static box scoring failed", exc_info=True)
            return None, f"scoring the static box on {root} failed: {type(e).__name__}: {e}"
    floor.missing = [s for s in bench.sequences if s not in floor.seq_scores]
    return floor, None


def floor_score(floor: Optional[TrackerResult], seqs: Sequence[str], complete: bool, is_got10k: bool,
                key: str = "auc") -> Optional[float]:
    """The floor's ``key`` over ``seqs``: its overall score when ``complete`` (the report's sequences)."""
    if floor is None:
        return None
    if complete and floor.complete:
        return floor.scores.get(key)
    if not all(s in floor.seq_scores for s in seqs):
        return None
    return subset_scores(floor, seqs, is_got10k)[key]


def is_tracking(score: Optional[float], floor: Optional[float]) -> Optional[bool]:
    """True when ``score`` is above ``floor``; None when either is unknown."""
    if score is None or floor is None:
        return None
    return score > floor + TOLERANCE

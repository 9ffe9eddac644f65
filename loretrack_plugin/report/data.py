"""Loading evaluation results into one normalised structure per tracker.

Sources, in order of preference:

* ``<report_dir>/<benchmark>/metrics.json`` written by ``loretrack eval`` (got10k numbers, the
  pytracking-protocol numbers, per-sequence scores, missing sequences, tracker info);
* got10k's own ``<report_dir>/<bench folder>/<first tracker>/performance.json`` -- used to
  cross-check the metrics, or alone when ``benchmark`` names such a folder (e.g. ``OTB2015``);
* ``tracker_info.json`` beside the raw results, then the named tracker file, for the network config
  of a tracker whose ``info`` is missing.

Score conventions (docs/toolkits.md §1.6): every accuracy number is a fraction in [0, 1].

* ``auc``: got10k ``success_score`` = mean of the 21-point success curve (IoU > t); on GOT-10k the
  frame-pooled ``ao`` (the value got10k prints and plots).
* ``precision``: precision curve at 20 px; ``norm_precision``: mean of the 0..0.5 normalised-precision
  curve (got10k master); ``success_rate``: success curve at IoU 0.5 (GOT-10k: ``sr``).
* ``pyt_*``: pytracking/OSTrack protocol (AUC, precision@20 px, normalised precision@0.20, OP50, OP75).
"""
from __future__ import annotations

import glob
import json
import logging
import math
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from ..evaluation.static_box import STATIC_BOX

log = logging.getLogger(__name__)

#: got10k report folder names that may hold a benchmark's performance.json.
GOT10K_FOLDERS = {
    "otb": ("OTB2015", "OTB2013", "OTBtb100", "OTBtb50"),
    "lasot": ("LaSOT",),
    "lasot_ext": ("LaSOT_ext", "LaSOT_extension_subset"),
    "got10k_val": ("GOT-10k",),
    "uav123": ("UAV123",),
    "nfs": ("NfS/30", "NfS30", "NfS/240", "NfS240"),
    "otb-dir": ("OTB",),
}

#: (report key, key in a got10k/metrics ``overall`` or ``seq_wise`` entry) for the got10k-protocol scalars.
_GOT10K_SCALARS = (("precision", "precision_score"), ("norm_precision", "normalized_precision_score"),
                   ("fps", "speed_fps"))
_PYT_KEYS = (("pyt_auc", "auc"), ("pyt_precision", "precision"), ("pyt_norm_precision", "norm_precision"),
             ("pyt_op50", "op50"), ("pyt_op75", "op75"))
#: every per-tracker scalar of the report, in table order
SCORE_KEYS = ("auc", "precision", "norm_precision", "success_rate", "pyt_auc", "pyt_precision",
              "pyt_norm_precision", "pyt_op50", "pyt_op75", "fps")


def _num(v) -> Optional[float]:
    """A finite float, or None for missing / NaN / non-numeric values."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _fps(v) -> Optional[float]:
    v = _num(v)
    return v if v is not None and v > 0 else None  # got10k writes -1 when no time file was found


def scores_from_entry(entry: dict, is_got10k: bool) -> Dict[str, Optional[float]]:
    """Normalise one ``overall`` or ``seq_wise[seq]`` entry of metrics.json / performance.json."""
    s: Dict[str, Optional[float]] = {}
    if is_got10k and _num(entry.get("ao")) is not None:
        s["auc"], s["success_rate"] = _num(entry.get("ao")), _num(entry.get("sr"))
    else:
        s["auc"], s["success_rate"] = _num(entry.get("success_score")), _num(entry.get("success_rate"))
    for key, src in _GOT10K_SCALARS:
        s[key] = _fps(entry.get(src)) if key == "fps" else _num(entry.get(src))
    pyt = entry.get("pytracking") if isinstance(entry.get("pytracking"), dict) else entry
    for key, src in _PYT_KEYS:
        s[key] = _num(pyt.get(src)) if pyt is not entry else None
    return s


@dataclass
class TrackerResult:
    """One tracker's numbers on one benchmark (fractions; fps in frames/s)."""
    name: str
    scores: Dict[str, Optional[float]]
    curves: Dict[str, List[float]]          # success / precision / norm_precision -> y values
    seq_scores: Dict[str, Dict[str, Optional[float]]]
    seq_length: Dict[str, int]
    missing: List[str]                      # benchmark sequences this tracker has no scores for
    excluded: List[str] = field(default_factory=list)  # its missing results that were left out for everyone
    info: Optional[dict] = None
    info_source: Optional[str] = None
    submission: Optional[str] = None

    @property
    def complete(self) -> bool:
        """Scored on every sequence of the report (comparable with the others as is)."""
        return not self.missing

    @property
    def network(self) -> Optional[dict]:
        net = (self.info or {}).get("network")
        return net if isinstance(net, dict) else None

    @property
    def is_peer(self) -> bool:
        """An OpenCV tracker or an untrained stem reference (its tracker_info names the cv2 class or the
        stem): it has no LoReTrack network to profile."""
        info = self.info or {}
        return bool(info.get("opencv_class") or info.get("reference_stem"))

    @property
    def engine(self) -> Optional[str]:
        """What ran it, as recorded: the backend a LoReTrack tracker resolved to, or OpenCV's version and class."""
        info = self.info or {}
        v = info.get("backend_resolved") or info.get("backend")
        return str(v) if v else None

    @property
    def threads(self) -> Optional[int]:
        """The threads it ran with, as recorded (OpenCV's count for a peer; None: the engine's default)."""
        info = self.info or {}
        v = info.get("opencv_threads", info.get("threads"))
        return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 else None

    @property
    def resolution(self) -> Optional[int]:
        net = self.network
        v = net.get("search_size") if net else None
        return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


@dataclass
class BenchmarkResults:
    benchmark: str
    is_got10k: bool                       # GOT-10k protocol: AO/SR, frame-pooled, 101-point curve
    sequences: List[str]
    attributes: Dict[str, List[str]]
    trackers: Dict[str, TrackerResult]
    sources: Dict[str, str] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)
    dataset_root: Optional[str] = None
    dataset_missing: List[str] = field(default_factory=list)  # benchmark sequences not on disk
    has_ground_truth: bool = True
    protocol: Dict[str, object] = field(default_factory=dict)  # metrics.json "protocol"
    floor: Optional[TrackerResult] = None  # the static box, kept apart from the compared trackers
    floor_source: Optional[str] = None


def subset_scores(t: TrackerResult, seqs: Sequence[str], is_got10k: bool) -> Dict[str, Optional[float]]:
    """A tracker's scores restricted to ``seqs`` (all of which it has).

    Sequence-averaged keys: mean over ``seqs`` of the per-sequence score (equal to the benchmark
    score on the full set, because every got10k/pytracking curve is a mean over sequences). GOT-10k
    AO/SR are frame-pooled, so they are weighted by the sequence length. fps: mean over sequences
    with a measured speed.
    """
    out: Dict[str, Optional[float]] = {}
    for key in SCORE_KEYS:
        vals = [(t.seq_scores[s].get(key), t.seq_length.get(s, 0)) for s in seqs]
        vals = [(v, w) for v, w in vals if v is not None]
        if not vals or (key not in ("fps",) and len(vals) != len(seqs)):
            out[key] = None
        elif is_got10k and key in ("auc", "success_rate") and all(w > 0 for _, w in vals):
            out[key] = sum(v * w for v, w in vals) / sum(w for _, w in vals)
        else:
            out[key] = sum(v for v, _ in vals) / len(vals)
    return out


def read_json(path: str) -> dict:
    try:
        with open(path) as f:
            d = json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(d, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(d).__name__}")
    return d


def _curves(overall: dict, is_got10k: bool) -> Dict[str, List[float]]:
    out = {}
    # GOT-10k: got10k's own 101-point curve (the one its AO legend goes with) before the 21-point one
    succ = ("succ_curve", "success_curve") if is_got10k else ("success_curve", "succ_curve")
    for key, src in (("success", succ), ("precision", ("precision_curve",)),
                     ("norm_precision", ("normalized_precision_curve",))):
        for k in src:
            c = overall.get(k)
            if isinstance(c, list) and len(c) > 1 and all(_num(v) is not None for v in c):
                out[key] = [float(v) for v in c]
                break
    return out


def _tracker_from_entry(name: str, entry: dict, is_got10k: bool, sequences: Sequence[str], where: str
                        ) -> TrackerResult:
    if not isinstance(entry, dict) or not isinstance(entry.get("overall"), dict):
        raise ValueError(f"{where}: tracker {name!r} has no 'overall' scores")
    overall = entry["overall"]
    seq_wise = entry.get("seq_wise") if isinstance(entry.get("seq_wise"), dict) else {}
    seq_scores = {s: scores_from_entry(v, is_got10k) for s, v in seq_wise.items() if isinstance(v, dict)}
    seq_length = {s: int(v["length"]) for s, v in seq_wise.items()
                  if isinstance(v, dict) and _num(v.get("length")) is not None}
    declared = entry.get("missing_sequences")
    declared = [str(s) for s in declared] if isinstance(declared, list) else []
    # a sequence of the report without a per-sequence entry is missing, declared or not; a declared one
    # outside the report's sequences was left out for every tracker (``loretrack eval`` reports only the
    # sequences all trackers completed)
    in_report = set(sequences)
    missing = [s for s in sequences if s not in seq_scores]
    excluded = [s for s in declared if s not in in_report]
    info = entry.get("info") if isinstance(entry.get("info"), dict) else None
    sub = entry.get("submission")
    return TrackerResult(name=name, scores=scores_from_entry(overall, is_got10k), curves=_curves(overall, is_got10k),
                         seq_scores=seq_scores, seq_length=seq_length, missing=missing, excluded=excluded, info=info,
                         info_source="metrics.json" if info else None, submission=sub if isinstance(sub, str) else None)


def _detect_got10k(benchmark: str, entries: dict) -> bool:
    if benchmark.lower().replace("-", "").startswith("got10k"):
        return True
    return any(isinstance(e, dict) and isinstance(e.get("overall"), dict) and "ao" in e["overall"]
               for e in entries.values())


def load_metrics(path: str, benchmark: Optional[str] = None) -> BenchmarkResults:
    """Read a metrics.json (the ``loretrack eval`` contract) into :class:`BenchmarkResults`."""
    d = read_json(path)
    entries = d.get("trackers")
    if not isinstance(entries, dict) or not entries:
        raise ValueError(f"{path}: no 'trackers' with results")
    bench = str(d.get("benchmark") or benchmark or os.path.basename(os.path.dirname(path)))
    is_got = _detect_got10k(bench, entries)
    sequences = [str(s) for s in d.get("sequences") or []]
    if not sequences:  # older files: the union of what the trackers were scored on
        sequences = sorted({s for e in entries.values() if isinstance(e, dict)
                            for s in (e.get("seq_wise") or {})})
    attrs = d.get("attributes") if isinstance(d.get("attributes"), dict) else {}
    attributes = {str(s): [str(a) for a in v] for s, v in attrs.items() if isinstance(v, list)}
    trackers = {str(n): _tracker_from_entry(str(n), e, is_got, sequences, path) for n, e in entries.items()}
    root = d.get("dataset_root")
    protocol = d.get("protocol") if isinstance(d.get("protocol"), dict) else {}
    has_gt = protocol.get("has_ground_truth")
    if not isinstance(has_gt, bool):
        has_gt = any(t.scores["auc"] is not None for t in trackers.values())
    absent = d.get("dataset_missing_sequences")
    return BenchmarkResults(benchmark=bench, is_got10k=is_got, sequences=sequences, attributes=attributes,
                            trackers=trackers, sources={"metrics": os.path.abspath(path)},
                            dataset_root=str(root) if root else None,
                            dataset_missing=[str(s) for s in absent] if isinstance(absent, list) else [],
                            has_ground_truth=has_gt, protocol=protocol)


def load_performance(path: str) -> Dict[str, dict]:
    """got10k's performance.json: ``{tracker: {"overall": ..., "seq_wise": ...}}``."""
    d = read_json(path)
    return {str(k): v for k, v in d.items() if isinstance(v, dict) and isinstance(v.get("overall"), dict)}


def results_from_performance(folder: str, benchmark: str) -> BenchmarkResults:
    """Build the results from got10k's own report folder ``<report_dir>/<bench>/<tracker>/performance.json``
    alone (no pytracking numbers, no tracker info). Later files do not override earlier trackers."""
    files = sorted(glob.glob(os.path.join(folder, "*", "performance.json")))
    if not files:
        raise FileNotFoundError(f"no metrics.json and no */performance.json under {folder}")
    entries: Dict[str, dict] = {}
    for f in files:
        for name, e in load_performance(f).items():
            entries.setdefault(name, e)
    is_got = _detect_got10k(benchmark, entries)
    sequences = sorted({s for e in entries.values() for s in (e.get("seq_wise") or {})})
    trackers = {n: _tracker_from_entry(n, e, is_got, sequences, folder) for n, e in entries.items()}
    return BenchmarkResults(benchmark=benchmark, is_got10k=is_got, sequences=sequences, attributes={},
                            trackers=trackers, sources={"performance": ", ".join(os.path.abspath(f) for f in files)})


def find_performance_files(report_dir: str, bench: BenchmarkResults) -> List[str]:
    """got10k performance.json files under ``report_dir`` that belong to ``bench``.

    A file qualifies when it is in a got10k folder known for the benchmark (or named in metrics.json as
    ``performance_json``) and scores one of our trackers on sequences of this benchmark only.
    """
    named = []
    if "metrics" in bench.sources:
        extra = read_json(bench.sources["metrics"]).get("performance_json")
        named = [extra] if isinstance(extra, str) else [p for p in (extra or []) if isinstance(p, str)]
        named = [p if os.path.isabs(p) else os.path.join(report_dir, p) for p in named]
    folders = GOT10K_FOLDERS.get(bench.benchmark.lower(), ()) + (bench.benchmark,)
    candidates = list(named)
    for folder in folders:
        candidates += sorted(glob.glob(os.path.join(report_dir, folder, "*", "performance.json")))
    seqs, out = set(bench.sequences), []
    for f in dict.fromkeys(os.path.abspath(c) for c in candidates):
        if not os.path.isfile(f):
            continue
        try:
            perf = load_performance(f)
        except ValueError as e:
            bench.warnings.append(f"ignored {f}: {e}")
            continue
        mine = [e for n, e in perf.items() if n in bench.trackers or (n == STATIC_BOX and bench.floor is not None)]
        if mine and all(set(e.get("seq_wise") or {}) <= seqs for e in mine):
            out.append(f)
    return out


def cross_check(bench: BenchmarkResults, perf_files: Sequence[str], tol: float = 1e-6) -> Dict[str, dict]:
    """Compare metrics.json with got10k's performance.json, tracker by tracker.

    Returns ``{tracker: {"file": path, "max_abs_diff": float, "keys": [...]}}``; any difference
    above ``tol`` is also added to ``bench.warnings``.
    """
    checks: Dict[str, dict] = {}
    for f in perf_files:
        for name, entry in load_performance(f).items():
            t = bench.floor if name == STATIC_BOX and bench.floor is not None else bench.trackers.get(name)
            if t is None or name in checks:
                continue
            ref = scores_from_entry(entry["overall"], bench.is_got10k)
            keys = [k for k in ("auc", "precision", "norm_precision", "success_rate", "fps")
                    if ref.get(k) is not None and t.scores.get(k) is not None]
            diff = max((abs(ref[k] - t.scores[k]) for k in keys), default=0.0)
            checks[name] = {"file": f, "max_abs_diff": diff, "keys": keys}
            if diff > tol:
                bad = ", ".join(f"{k} {t.scores[k]:.6f} vs {ref[k]:.6f}" for k in keys
                                if abs(ref[k] - t.scores[k]) > tol)
                bench.warnings.append(f"{name}: metrics.json disagrees with {f}: {bad}")
    return checks


def _info_from_results(result_dir: Optional[str], bench: str, name: str) -> Optional[tuple]:
    if not result_dir:
        return None
    paths = [os.path.join(result_dir, bench, name, "tracker_info.json"),
             os.path.join(result_dir, name, "tracker_info.json")]
    paths += sorted(glob.glob(os.path.join(result_dir, "*", name, "tracker_info.json")))
    for p in paths:
        if os.path.isfile(p):
            try:
                d = read_json(p)
            except ValueError as e:
                log.warning("ignoring %s", e)
                continue
            if isinstance(d.get("network"), dict):
                return d, p
    return None


def _info_from_named_tracker(name: str) -> Optional[tuple]:
    try:
        from ..trackers import get_spec
        spec = get_spec(name)
    except Exception:  # not a named tracker (or its file is broken): no architecture to show
        return None
    if getattr(spec, "cv2_class", None):  # an OpenCV peer: no network, but what it is
        return ({"name": spec.name, "network": None, "description": spec.description, "backend": spec.backend,
                 "opencv_class": f"cv2.{spec.cv2_class}"}, "OpenCV peer")
    if spec.network is None:
        return None
    return ({"name": spec.name, "network": spec.network.to_dict(), "search_factor": spec.search_factor,
             "template_factor": spec.template_factor}, f"tracker file {spec.source}")


def fill_missing_info(bench: BenchmarkResults, result_dir: Optional[str]) -> None:
    """Give trackers without ``info`` the one in tracker_info.json, else the named tracker's file."""
    for t in bench.trackers.values():
        if t.network is not None or t.is_peer:  # a peer has no network to look for
            continue
        found = _info_from_results(result_dir, bench.benchmark, t.name) or _info_from_named_tracker(t.name)
        if found:
            t.info, t.info_source = found
        else:
            bench.warnings.append(f"{t.name}: no network config (no info in metrics, no tracker_info.json, "
                                  "not a named tracker): resolution and GMACs unknown")

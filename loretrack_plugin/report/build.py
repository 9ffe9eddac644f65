"""Assemble the comparison report: load results, add compute and families, render, write atomically."""
from __future__ import annotations

import contextlib
import datetime
import logging
import os
import shutil
import tempfile
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Union

from ..utils.io import write_json, write_text
from ..version import __version__
from . import plots
from .compute import COMPUTE_KEYS, profile_networks
from .data import (SCORE_KEYS, BenchmarkResults, TrackerResult, cross_check, fill_missing_info,
                   find_performance_files, load_metrics, read_json, results_from_performance)
from .families import assign_families, parse_overrides
from .published import SOURCE as PUBLISHED_SOURCE
from .published import published_for
from .render import render_html, render_markdown

log = logging.getLogger(__name__)

REPORT_JSON = "report.json"


# ---- locating the inputs -----------------------------------------------------------------------

def default_report_dirs(result_dir: str) -> List[str]:
    """Where ``loretrack eval`` may have put its reports, given the raw-result folder."""
    r = os.path.abspath(result_dir)
    return [os.path.join(os.path.dirname(r), "reports"), os.path.join(r, "reports"), r]


def load_benchmark(benchmark: str, report_dir: str) -> BenchmarkResults:
    """metrics.json of ``benchmark`` or, failing that, got10k's performance.json files in a folder named so."""
    metrics = os.path.join(report_dir, benchmark, "metrics.json")
    if os.path.isfile(metrics):
        return load_metrics(metrics, benchmark)
    folder = os.path.join(report_dir, benchmark)
    if os.path.isdir(folder):
        return results_from_performance(folder, benchmark)
    raise FileNotFoundError(f"no results for benchmark {benchmark!r}: {metrics} does not exist "
                            "(run `loretrack eval` first, or pass --report-dir)")


def _resolve_report_dir(result_dir: Optional[str], benchmark: str, report_dir: Optional[str]) -> str:
    if report_dir is not None:
        if not os.path.isdir(report_dir):
            raise FileNotFoundError(f"report folder not found: {report_dir}")
        return report_dir
    if result_dir is None:
        raise ValueError("give result_dir or report_dir")
    cands = default_report_dirs(result_dir)
    for c in cands:
        if os.path.isfile(os.path.join(c, benchmark, "metrics.json")):
            return c
    for c in cands:
        if os.path.isdir(os.path.join(c, benchmark)):
            return c
    raise FileNotFoundError(f"no metrics.json for benchmark {benchmark!r} in {', '.join(cands)} "
                            "(run `loretrack eval` first, or pass --report-dir)")


def _select(bench: BenchmarkResults, trackers: Union[None, str, Iterable[str]]) -> None:
    if trackers is None:
        return
    names = [t.strip() for t in (trackers.split(",") if isinstance(trackers, str) else trackers) if t.strip()]
    if not names:
        raise ValueError("empty tracker list")
    unknown = [n for n in names if n not in bench.trackers]
    if unknown:
        raise ValueError(f"no results for tracker(s) {', '.join(unknown)} on {bench.benchmark} "
                         f"(have: {', '.join(sorted(bench.trackers))})")
    bench.trackers = {n: bench.trackers[n] for n in dict.fromkeys(names)}


# ---- derived numbers ---------------------------------------------------------------------------

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


def _common(bench: BenchmarkResults, order: Sequence[str]) -> Optional[dict]:
    """Scores on the sequences every tracker completed -- only when the trackers' sets differ."""
    if all(bench.trackers[n].complete for n in order):
        return None
    sets = [set(bench.trackers[n].seq_scores) for n in order]
    common = [s for s in bench.sequences if all(s in x for x in sets)]
    scores = {n: subset_scores(bench.trackers[n], common, bench.is_got10k) for n in order}
    ranked = sorted(order, key=lambda n: -(scores[n]["auc"] if scores[n]["auc"] is not None else -1.0))
    return {"num_sequences": len(common), "sequences": common, "order": ranked, "scores": scores}


def _attributes(bench: BenchmarkResults, order: Sequence[str]) -> Dict[str, dict]:
    """Per attribute: sequences having it, and each tracker's mean per-sequence score over them."""
    by_attr: Dict[str, List[str]] = {}
    for s in bench.sequences:
        for a in bench.attributes.get(s, []):
            by_attr.setdefault(a, []).append(s)
    out = {}
    for a in sorted(by_attr):
        seqs = by_attr[a]
        scores, used = {}, {}
        for n in order:
            have = [s for s in seqs if s in bench.trackers[n].seq_scores]
            vals = [bench.trackers[n].seq_scores[s]["auc"] for s in have]
            vals = [v for v in vals if v is not None]
            scores[n] = sum(vals) / len(vals) if vals else None
            used[n] = len(vals)
        out[a] = {"num_sequences": len(seqs), "scores": scores, "sequences_used": used}
    return out


def _pair_gain(bench: BenchmarkResults, a: str, b: str) -> tuple:
    """(auc a - auc b, number of sequences, restricted?) -- on their common sequences if either is incomplete."""
    ta, tb = bench.trackers[a], bench.trackers[b]
    if ta.complete and tb.complete:
        return ta.scores["auc"] - tb.scores["auc"], len(bench.sequences), False
    common = [s for s in bench.sequences if s in ta.seq_scores and s in tb.seq_scores]
    sa, sb = subset_scores(ta, common, bench.is_got10k), subset_scores(tb, common, bench.is_got10k)
    if sa["auc"] is None or sb["auc"] is None:
        return None, len(common), True
    return sa["auc"] - sb["auc"], len(common), True


def _distillation(bench: BenchmarkResults, model_trackers: Dict[str, dict], order: Sequence[str]) -> List[dict]:
    teacher = next((n for n in order if model_trackers[n]["family"] == "teacher"), None)
    out = []
    students = sorted((n for n in order if model_trackers[n]["family"] == "student"),
                      key=lambda n: (model_trackers[n]["resolution"] or 0, n))
    for s in students:
        ms = model_trackers[s]
        if ms["scores"]["auc"] is None:
            continue
        d = {"student": s, "resolution": ms["resolution"], "auc": ms["scores"]["auc"]}
        bases = [n for n in order if model_trackers[n]["family"] == "baseline"
                 and ms["resolution"] is not None and model_trackers[n]["resolution"] == ms["resolution"]
                 and model_trackers[n]["scores"]["auc"] is not None]
        if bases:
            b = bases[0]  # `order` is by score: the strongest baseline is the fair comparison
            gain, nseq, sub = _pair_gain(bench, s, b)
            if gain is not None:
                d.update(baseline=b, baseline_auc=model_trackers[b]["scores"]["auc"], gain_vs_baseline=gain,
                         gain_sequences=nseq, gain_subset=sub)
        if teacher is not None and model_trackers[teacher]["scores"]["auc"] is not None:
            mt = model_trackers[teacher]
            gap, nseq, sub = _pair_gain(bench, s, teacher)
            d.update(teacher=teacher, teacher_auc=mt["scores"]["auc"], gap_to_teacher=gap)
            if ms["scores"]["fps"] and mt["scores"]["fps"]:
                d["speedup_vs_teacher"] = ms["scores"]["fps"] / mt["scores"]["fps"]
            if ms["compute"]["gmacs_thop"] and mt["compute"]["gmacs_thop"]:
                d["gmacs_ratio_vs_teacher"] = ms["compute"]["gmacs_thop"] / mt["compute"]["gmacs_thop"]
        out.append(d)
    return out


def build_model(bench: BenchmarkResults, families: Mapping[str, str], compute: Mapping[str, dict]) -> dict:
    """Everything the report shows, as plain JSON-able data (saved as report.json)."""
    names = list(bench.trackers)
    order = sorted(names, key=lambda n: (-(bench.trackers[n].scores["auc"] if bench.trackers[n].scores["auc"]
                                           is not None else -1.0), names.index(n)))
    trackers = {}
    for rank, n in enumerate(order, 1):
        t = bench.trackers[n]
        net = t.network or {}
        trackers[n] = {
            "rank": rank, "family": families[n], "resolution": t.resolution,
            "template_size": net.get("template_size"), "network": t.network, "info": t.info,
            "info_source": t.info_source, "scores": dict(t.scores),
            "compute": {k: (compute.get(n) or {}).get(k) for k in COMPUTE_KEYS},
            "num_sequences": sum(1 for s in bench.sequences if s in t.seq_scores),
            "missing_sequences": list(t.missing), "complete": t.complete,
            "excluded_sequences": list(t.excluded), "submission": t.submission, "curves": t.curves,
        }
    per_seq = {}
    for s in bench.sequences:
        lengths = [bench.trackers[n].seq_length.get(s) for n in order]
        per_seq[s] = {"length": next((v for v in lengths if v is not None), None),
                      "attributes": bench.attributes.get(s, []),
                      "scores": {n: bench.trackers[n].seq_scores.get(s) for n in order}}
    model = {
        "benchmark": bench.benchmark, "is_got10k": bench.is_got10k, "score_name": "AO" if bench.is_got10k else "AUC",
        "generated_at": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "version": __version__, "dataset_root": bench.dataset_root, "sources": dict(bench.sources),
        "num_sequences": len(bench.sequences), "sequences": list(bench.sequences), "order": order,
        "dataset_missing_sequences": list(bench.dataset_missing), "has_ground_truth": bench.has_ground_truth,
        "trackers": trackers, "families": {n: families[n] for n in order},
        "common_sequences": _common(bench, order),
        "attributes": _attributes(bench, order) if bench.attributes else {},
        "per_sequence": per_seq,
        "published": published_for(bench.benchmark), "published_source": PUBLISHED_SOURCE,
        "warnings": list(bench.warnings),
    }
    model["distillation"] = _distillation(bench, trackers, order)
    return model


# ---- figures -----------------------------------------------------------------------------------

def _figures(model: dict, folder: str, formats: Sequence[str]) -> Dict[str, str]:
    """Render every figure into ``folder``; returns figure key -> PNG file name."""
    order, tr = model["order"], model["trackers"]
    colors = plots.tracker_colors(order)
    series = [plots.Series(n, tr[n]["family"], colors[n], tr[n]["complete"]) for n in order]
    got = model["is_got10k"]
    out = {}
    legends = {"success": ("auc", "AO" if got else "AUC (mean of curve)"),
               "precision": ("precision", "Precision at 20 px"),
               "norm_precision": ("norm_precision", "P_norm (mean of curve)")}
    for kind, (key, label) in legends.items():
        curves = {n: tr[n]["curves"][kind] for n in order
                  if kind in tr[n]["curves"] and tr[n]["scores"][key] is not None}
        if not curves:
            continue
        scores = {n: tr[n]["scores"][key] for n in curves}
        fig = plots.curve_figure(kind, series, curves, scores, label)
        plots.save_figure(fig, os.path.join(folder, f"{kind}_plot"), formats)
        out[kind] = f"{kind}_plot.png"
    gains = {d["student"]: d.get("gain_vs_baseline") for d in model["distillation"]}
    points = [{"name": n, "family": tr[n]["family"], "complete": tr[n]["complete"], "auc": tr[n]["scores"]["auc"],
               "resolution": tr[n]["resolution"], "fps": tr[n]["scores"]["fps"],
               "gmacs": tr[n]["compute"]["gmacs_thop"], "gain": gains.get(n)} for n in order]
    if any(p["auc"] is not None for p in points) and any(p["resolution"] or p["fps"] or p["gmacs"] for p in points):
        fig = plots.resolution_figure(points, model["score_name"])
        plots.save_figure(fig, os.path.join(folder, "resolution_plot"), formats)
        out["resolution"] = "resolution_plot.png"
    if model["attributes"]:
        attrs = list(model["attributes"])
        fig = plots.attribute_figure(attrs, series, {a: model["attributes"][a]["scores"] for a in attrs},
                                     {a: model["attributes"][a]["num_sequences"] for a in attrs},
                                     model["score_name"])
        plots.save_figure(fig, os.path.join(folder, "attributes_plot"), formats)
        out["attributes"] = "attributes_plot.png"
    return out


# ---- entry point -------------------------------------------------------------------------------

def make_report(result_dir, benchmark: str, trackers=None, out_dir=None, report_dir=None, *,
                families=None, profile: bool = True, formats: Sequence[str] = ("png", "pdf"),
                progress: bool = True) -> str:
    """Write the comparison report of ``benchmark`` and return its folder.

    Reads ``<report_dir>/<benchmark>/metrics.json`` (or got10k's performance.json files in
    ``<report_dir>/<benchmark>/*/``), cross-checks it against got10k's performance.json, profiles each
    tracker's network (GMACs, params) unless ``profile=False``, and writes into ``out_dir`` (default
    ``<report_dir>/<benchmark>/comparison``, where ``loretrack eval`` puts it too): ``{success,precision,norm_precision,resolution,attributes}_plot.{png,pdf}``,
    ``report.md``, ``report.html`` (self-contained) and ``report.json`` (every number).

    ``families``: {tracker: student|baseline|teacher|other} or ["name=role"] overriding the
    name-based grouping. ``result_dir`` is searched for ``tracker_info.json`` files and, without
    ``report_dir``, for the reports folder. Nothing is written unless everything rendered.
    """
    for fmt in formats:
        if fmt not in ("png", "pdf", "svg"):
            raise ValueError(f"figure format {fmt!r}: choose png, pdf or svg")
    if "png" not in formats:
        formats = ("png",) + tuple(formats)  # the HTML page embeds the PNGs
    report_dir = _resolve_report_dir(result_dir, benchmark, report_dir)
    bench = load_benchmark(benchmark, report_dir)
    _select(bench, trackers)
    if "metrics" in bench.sources:
        perf = find_performance_files(report_dir, bench)
        checks = cross_check(bench, perf)
        if perf:
            bench.sources["performance"] = ", ".join(perf)
    else:
        checks = {}
    fill_missing_info(bench, result_dir)
    overrides = parse_overrides(families)
    resolutions = {n: t.resolution for n, t in bench.trackers.items()}
    uses_ce = {n: bool((t.network or {}).get("ce_loc")) for n, t in bench.trackers.items()}
    fam = assign_families(resolutions, uses_ce, overrides)
    out_dir = os.path.abspath(out_dir or os.path.join(report_dir, benchmark, "comparison"))
    compute = _previous_compute(out_dir, bench) if profile else {}
    if profile:
        todo = {n: t.network for n, t in bench.trackers.items() if n not in compute}
        compute.update(profile_networks(todo, progress=progress, warnings=bench.warnings))
    bench.warnings.extend(_coverage_warnings(bench))
    for w in bench.warnings:
        log.warning("%s: %s", benchmark, w)
    model = build_model(bench, fam, compute)
    model["performance_check"] = checks

    parent = os.path.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    stage = tempfile.mkdtemp(prefix=".report-", dir=parent)
    try:
        figures = _figures(model, stage, formats)
        pngs = {}
        for k, f in figures.items():
            with open(os.path.join(stage, f), "rb") as fh:
                pngs[k] = fh.read()
        written = sorted(os.listdir(stage)) + ["report.md", "report.html", REPORT_JSON]
        model["files"] = written
        model["figures"] = figures
        write_text(os.path.join(stage, "report.md"), render_markdown(model, figures))
        write_text(os.path.join(stage, "report.html"), render_html(model, pngs))
        write_json(os.path.join(stage, REPORT_JSON), model)
        _publish(stage, out_dir, written)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    log.info("report written to %s", out_dir)
    return out_dir


def _shorten(names: Sequence[str], k: int = 8) -> str:
    return ", ".join(names[:k]) + (f", … ({len(names) - k} more)" if len(names) > k else "")


def _coverage_warnings(bench: BenchmarkResults) -> List[str]:
    """What the numbers do not cover: missing results, sequences left out, absent data, no ground truth."""
    out = []
    n = len(bench.sequences)
    for name, t in bench.trackers.items():
        if t.missing:
            out.append(f"{name}: {len(t.missing)} of {n} sequences missing ({_shorten(t.missing)}) — its scores "
                       "cover fewer sequences than the others' (flagged * in tables and plots)")
        if t.excluded:
            out.append(f"{name}: no results for {len(t.excluded)} sequence(s) ({_shorten(t.excluded)}), so they "
                       f"are left out for every tracker: the comparison covers {n} sequences (flagged †)")
    if bench.dataset_missing:
        out.append(f"the dataset lacks {len(bench.dataset_missing)} sequence(s) of the benchmark "
                   f"({_shorten(bench.dataset_missing)}): numbers are not comparable with published ones")
    if not bench.has_ground_truth:
        subs = [f"{n}: {t.submission}" for n, t in bench.trackers.items() if t.submission]
        out.append("no ground truth in this split: accuracy comes from the evaluation server; only speed is "
                   "reported here" + (f" (submission files: {'; '.join(subs)})" if subs else ""))
    return out


def _previous_compute(out_dir: str, bench: BenchmarkResults) -> Dict[str, dict]:
    """GMACs/params of an earlier report in ``out_dir`` for trackers whose network config is unchanged
    (profiling a ViT-B takes seconds per config; the count depends on the config alone)."""
    try:
        old = read_json(os.path.join(out_dir, REPORT_JSON)).get("trackers") or {}
    except (OSError, ValueError):
        return {}
    out = {}
    for n, t in bench.trackers.items():
        o = old.get(n)
        if (isinstance(o, dict) and t.network and o.get("network") == t.network and isinstance(o.get("compute"), dict)
                and all(isinstance(o["compute"].get(k), (int, float)) for k in COMPUTE_KEYS)):
            out[n] = {k: float(o["compute"][k]) for k in COMPUTE_KEYS}
    return out


def _publish(stage: str, out_dir: str, files: Sequence[str]) -> None:
    """Move the staged files into ``out_dir`` (each rename atomic; report.json last, so a report.json
    always describes a finished report) and delete the files of an older report that this one lacks."""
    os.makedirs(out_dir, exist_ok=True)
    old = []
    with contextlib.suppress(OSError, ValueError):
        old = read_json(os.path.join(out_dir, REPORT_JSON)).get("files") or []
    umask = os.umask(0)
    os.umask(umask)
    for f in sorted(files, key=lambda f: f == REPORT_JSON):
        src = os.path.join(stage, f)
        os.chmod(src, 0o666 & ~umask)  # temporary files are created 0600; a report is for sharing
        os.replace(src, os.path.join(out_dir, f))
    for f in old:
        if isinstance(f, str) and f not in files and os.path.basename(f) == f:
            with contextlib.suppress(OSError):
                os.remove(os.path.join(out_dir, f))

"""Assemble the comparison report: load results, add compute and families, render, write atomically."""
from __future__ import annotations

import contextlib
import datetime
import logging
import os
import shutil
import statistics
import tempfile
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from ..utils.files import write_json, write_text
from ..version import __version__
from . import plots
from .compute import COMPUTE_KEYS, profile_networks
from .data import (SCORE_KEYS, BenchmarkResults, TrackerResult, cross_check, fill_missing_info,
                   find_performance_files, load_metrics, read_json, results_from_performance, subset_scores)
from .families import assign_families, parse_overrides
from .floor import FLOOR_LABEL, FLOOR_NAME, compute_floor, floor_score, is_tracking, take_floor
from .published import SOURCE as PUBLISHED_SOURCE
from .published import published_for
from .render import render_html, render_markdown
from .seeds import gain_with_spread, group_runs, mean_std, split_seed

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
    names = [n for n in names if n != FLOOR_NAME]  # the floor is always in the report, never compared
    unknown = [n for n in names if n not in bench.trackers]
    if unknown:
        raise ValueError(f"no results for tracker(s) {', '.join(unknown)} on {bench.benchmark} "
                         f"(have: {', '.join(sorted(bench.trackers))})")
    bench.trackers = {n: bench.trackers[n] for n in dict.fromkeys(names)}


# ---- derived numbers ---------------------------------------------------------------------------

def _common(bench: BenchmarkResults, order: Sequence[str]) -> Optional[dict]:
    """Scores on the sequences every tracker completed -- only when the trackers' sets differ."""
    if all(bench.trackers[n].complete for n in order):
        return None
    sets = [set(bench.trackers[n].seq_scores) for n in order]
    common = [s for s in bench.sequences if all(s in x for x in sets)]
    scores = {n: subset_scores(bench.trackers[n], common, bench.is_got10k) for n in order}
    ranked = sorted(order, key=lambda n: -(scores[n]["auc"] if scores[n]["auc"] is not None else -1.0))
    f = bench.floor
    floor = subset_scores(f, common, bench.is_got10k) if f is not None and all(s in f.seq_scores for s in common) \
        else None
    return {"num_sequences": len(common), "sequences": common, "order": ranked, "scores": scores, "floor": floor}


def _mean_auc(t: Optional[TrackerResult], seqs: Sequence[str]) -> Tuple[Optional[float], int]:
    if t is None:
        return None, 0
    vals = [t.seq_scores[s]["auc"] for s in seqs if s in t.seq_scores]
    vals = [v for v in vals if v is not None]
    return (sum(vals) / len(vals) if vals else None), len(vals)


def _attributes(bench: BenchmarkResults, order: Sequence[str]) -> Dict[str, dict]:
    """Per attribute: sequences having it, and each tracker's (and the floor's) mean per-sequence score over them."""
    by_attr: Dict[str, List[str]] = {}
    for s in bench.sequences:
        for a in bench.attributes.get(s, []):
            by_attr.setdefault(a, []).append(s)
    out = {}
    for a in sorted(by_attr):
        seqs = by_attr[a]
        scores, used = {}, {}
        for n in order:
            scores[n], used[n] = _mean_auc(bench.trackers[n], seqs)
        out[a] = {"num_sequences": len(seqs), "scores": scores, "sequences_used": used,
                  "floor": _mean_auc(bench.floor, seqs)[0]}
    return out


def _scores_on_common(bench: BenchmarkResults, names: Sequence[str]) -> Tuple[Dict[str, Optional[float]],
                                                                              List[str], bool]:
    """({name: auc}, sequences, restricted?): overall scores when all of ``names`` are complete, else
    their scores on the sequences all of them completed."""
    ts = [bench.trackers[n] for n in names]
    if all(t.complete for t in ts):
        return {n: bench.trackers[n].scores["auc"] for n in names}, list(bench.sequences), False
    common = [s for s in bench.sequences if all(s in t.seq_scores for t in ts)]
    if not common:
        return {n: None for n in names}, [], True
    return {n: subset_scores(bench.trackers[n], common, bench.is_got10k)["auc"] for n in names}, common, True


def _seed_groups(bench: BenchmarkResults, model_trackers: Dict[str, dict], order: Sequence[str],
                 floor_auc: Optional[float]) -> Dict[str, dict]:
    """Runs of the same model (``<base>@s<seed>``, see :mod:`.seeds`): mean ± sample std per group."""
    out = {}
    for base, runs in group_runs(order).items():
        runs = sorted(runs, key=lambda n: (split_seed(n)[1] is None, split_seed(n)[1] or 0, n))
        aucs = [model_trackers[n]["scores"]["auc"] for n in runs]
        fps = [model_trackers[n]["scores"]["fps"] for n in runs if model_trackers[n]["scores"]["fps"] is not None]
        fams = {model_trackers[n]["family"] for n in runs}
        res = {model_trackers[n]["resolution"] for n in runs}
        g = {"runs": runs, "seeds": [split_seed(n)[1] for n in runs], "n": len(runs),
             "family": fams.pop() if len(fams) == 1 else "other", "resolution": res.pop() if len(res) == 1 else None,
             "complete": all(model_trackers[n]["complete"] for n in runs),
             "auc_mean": None, "auc_std": None, "fps_mean": statistics.fmean(fps) if fps else None, "tracking": None,
             "runs_not_tracking": [n for n in runs if model_trackers[n]["tracking"] is False]}
        if all(a is not None for a in aucs):
            g["auc_mean"], g["auc_std"] = mean_std(aucs)
            # the group tracks when its mean is above the floor on the sequences all its runs have
            on, seqs, restricted = _scores_on_common(bench, runs)
            if seqs and all(v is not None for v in on.values()):
                g["tracking"] = is_tracking(mean_std(list(on.values()))[0],
                                            floor_score(bench.floor, seqs, not restricted, bench.is_got10k))
        if len(runs) > 1 and len({model_trackers[n]["family"] for n in runs}) > 1:
            bench.warnings.append(f"runs of {base} ({', '.join(runs)}) are in different families: not grouped "
                                  "for the distillation comparison")
            log.warning("%s: %s", bench.benchmark, bench.warnings[-1])
            g["family"] = "other"
        out[base] = g
    return out


def _gain(bench: BenchmarkResults, s_runs: Sequence[str], b_runs: Sequence[str]) -> Optional[dict]:
    """The gain of the ``s_runs`` group over the ``b_runs`` group with its spread (see :mod:`.seeds`),
    on their common sequences when a run is incomplete; the floor on the same sequences."""
    scores, seqs, restricted = _scores_on_common(bench, list(s_runs) + list(b_runs))
    if not seqs or any(v is None for v in scores.values()):
        return None
    g = gain_with_spread({n: scores[n] for n in s_runs}, {n: scores[n] for n in b_runs})
    floor = floor_score(bench.floor, seqs, not restricted, bench.is_got10k)
    s_mean, b_mean = mean_std([scores[n] for n in s_runs])[0], mean_std([scores[n] for n in b_runs])[0]
    return dict(g, sequences=len(seqs), restricted=restricted, student_mean=s_mean, other_mean=b_mean,
                floor=floor, student_tracking=is_tracking(s_mean, floor), other_tracking=is_tracking(b_mean, floor),
                runs_not_tracking=[n for n in list(s_runs) + list(b_runs) if is_tracking(scores[n], floor) is False])


def _distillation(bench: BenchmarkResults, model_trackers: Dict[str, dict], groups: Dict[str, dict]) -> List[dict]:
    """One entry per student group: its mean ± std, the gain over the strongest same-resolution baseline
    group with the gain's spread and verdict, and the gap to the teacher."""
    ranked = sorted(groups, key=lambda b: -(groups[b]["auc_mean"] if groups[b]["auc_mean"] is not None else -1.0))
    teacher = next((b for b in ranked if groups[b]["family"] == "teacher"), None)
    out = []
    students = sorted((b for b in ranked if groups[b]["family"] == "student"),
                      key=lambda b: (groups[b]["resolution"] or 0, b))
    for base in students:
        gs = groups[base]
        if gs["auc_mean"] is None:
            continue
        d = {"student": base, "student_runs": gs["runs"], "runs": gs["n"], "resolution": gs["resolution"],
             "auc": gs["auc_mean"], "auc_std": gs["auc_std"], "student_tracking": gs["tracking"]}
        bases = [b for b in ranked if groups[b]["family"] == "baseline" and gs["resolution"] is not None
                 and groups[b]["resolution"] == gs["resolution"] and groups[b]["auc_mean"] is not None]
        for b in bases:  # `ranked` is by mean score: the strongest baseline is the fair comparison
            gb = groups[b]
            g = _gain(bench, gs["runs"], gb["runs"])
            if g is None:
                continue
            not_tracking = [n for n, ok in ((base, g["student_tracking"]), (b, g["other_tracking"])) if ok is False]
            d.update(baseline=b, baseline_runs=gb["runs"], baseline_n=gb["n"], baseline_auc=gb["auc_mean"],
                     baseline_auc_std=gb["auc_std"], gain_vs_baseline=g["gain"], gain_spread=g["spread"],
                     gain_spread_kind=g["spread_kind"], gain_pairs=g["pairs"], gain_verdict=g["verdict"],
                     gain_sequences=g["sequences"], gain_subset=g["restricted"], gain_floor=g["floor"],
                     gain_student_mean=g["student_mean"], gain_baseline_mean=g["other_mean"],
                     not_tracking=not_tracking, runs_not_tracking=g["runs_not_tracking"])
            break
        if teacher is not None and groups[teacher]["auc_mean"] is not None:
            gt = groups[teacher]
            g = _gain(bench, gs["runs"], gt["runs"])
            d.update(teacher=teacher, teacher_runs=gt["runs"], teacher_auc=gt["auc_mean"],
                     teacher_auc_std=gt["auc_std"])
            if g is not None:
                d.update(gap_to_teacher=g["gain"], gap_spread=g["spread"], gap_verdict=g["verdict"])
            if gs["fps_mean"] and gt["fps_mean"]:
                d["speedup_vs_teacher"] = gs["fps_mean"] / gt["fps_mean"]
            ms, mt = model_trackers[gs["runs"][0]]["compute"], model_trackers[gt["runs"][0]]["compute"]
            if ms["gmacs_thop"] and mt["gmacs_thop"]:
                d["gmacs_ratio_vs_teacher"] = ms["gmacs_thop"] / mt["gmacs_thop"]
        out.append(d)
    return out


def _floor_entry(bench: BenchmarkResults, reason: Optional[str]) -> dict:
    f = bench.floor
    entry = {"name": FLOOR_NAME, "label": FLOOR_LABEL, "known": f is not None, "source": bench.floor_source,
             "reason": reason, "scores": {k: None for k in SCORE_KEYS}, "curves": {}, "num_sequences": 0,
             "complete": False, "missing_sequences": list(bench.sequences)}
    if f is not None:
        entry.update(scores=dict(f.scores), curves=f.curves, complete=f.complete, missing_sequences=list(f.missing),
                     num_sequences=sum(1 for s in bench.sequences if s in f.seq_scores))
    return entry


def build_model(bench: BenchmarkResults, families: Mapping[str, str], compute: Mapping[str, dict],
                floor_reason: Optional[str] = None) -> dict:
    """Everything the report shows, as plain JSON-able data (saved as report.json)."""
    names = list(bench.trackers)
    order = sorted(names, key=lambda n: (-(bench.trackers[n].scores["auc"] if bench.trackers[n].scores["auc"]
                                           is not None else -1.0), names.index(n)))
    floor = _floor_entry(bench, floor_reason)
    trackers = {}
    for rank, n in enumerate(order, 1):
        t = bench.trackers[n]
        net = t.network or {}
        have = [s for s in bench.sequences if s in t.seq_scores]
        f_auc = floor_score(bench.floor, have, t.complete, bench.is_got10k)
        trackers[n] = {
            "rank": rank, "family": families[n], "resolution": t.resolution,
            "template_size": net.get("template_size"), "network": t.network, "info": t.info,
            "info_source": t.info_source, "scores": dict(t.scores),
            "compute": {k: (compute.get(n) or {}).get(k) for k in COMPUTE_KEYS},
            "num_sequences": len(have),
            "missing_sequences": list(t.missing), "complete": t.complete,
            "excluded_sequences": list(t.excluded), "submission": t.submission, "curves": t.curves,
            "engine": t.engine, "threads": t.threads,
            "floor_auc": f_auc, "tracking": is_tracking(t.scores["auc"], f_auc),
            "seed_group": split_seed(n)[0], "seed": split_seed(n)[1],
        }
    per_seq = {}
    for s in bench.sequences:
        lengths = [bench.trackers[n].seq_length.get(s) for n in order]
        if bench.floor is not None:
            lengths.append(bench.floor.seq_length.get(s))
        per_seq[s] = {"length": next((v for v in lengths if v is not None), None),
                      "attributes": bench.attributes.get(s, []),
                      "scores": {n: bench.trackers[n].seq_scores.get(s) for n in order},
                      "floor": bench.floor.seq_scores.get(s) if bench.floor is not None else None}
    model = {
        "benchmark": bench.benchmark, "is_got10k": bench.is_got10k, "score_name": "AO" if bench.is_got10k else "AUC",
        "generated_at": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "version": __version__, "dataset_root": bench.dataset_root, "sources": dict(bench.sources),
        "num_sequences": len(bench.sequences), "sequences": list(bench.sequences), "order": order,
        "dataset_missing_sequences": list(bench.dataset_missing), "has_ground_truth": bench.has_ground_truth,
        "floor": floor, "floor_auc": floor["scores"]["auc"],
        "trackers": trackers, "families": {n: families[n] for n in order},
        "common_sequences": _common(bench, order),
        "attributes": _attributes(bench, order) if bench.attributes else {},
        "per_sequence": per_seq,
        "published": published_for(bench.benchmark), "published_source": PUBLISHED_SOURCE,
    }
    model["seed_groups"] = _seed_groups(bench, trackers, order, floor["scores"]["auc"])
    model["distillation"] = _distillation(bench, trackers, model["seed_groups"])
    model["warnings"] = list(bench.warnings)
    return model


# ---- figures -----------------------------------------------------------------------------------

def _figures(model: dict, folder: str, formats: Sequence[str]) -> Dict[str, str]:
    """Render every figure into ``folder``; returns figure key -> PNG file name.

    The floor (static box) is drawn as a dashed reference line labelled "static box" in the curve
    plots and the resolution figure, and as its own marker in the attribute plot.
    """
    order, tr, fl = model["order"], model["trackers"], model["floor"]
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
        floor = ((fl["curves"][kind], fl["scores"][key]) if kind in fl["curves"] and fl["scores"][key] is not None
                 else None)
        if not curves and floor is None:
            continue
        scores = {n: tr[n]["scores"][key] for n in curves}
        fig = plots.curve_figure(kind, series, curves, scores, label, floor=floor)
        plots.save_figure(fig, os.path.join(folder, f"{kind}_plot"), formats)
        out[kind] = f"{kind}_plot.png"
    gains = []
    for d in model["distillation"]:
        if d.get("gain_vs_baseline") is None or d.get("resolution") is None:
            continue
        g, sp, verdict = d["gain_vs_baseline"], d.get("gain_spread"), d.get("gain_verdict")
        text = f"{100 * g:+.1f}" + (" (1 run)" if sp is None else f"±{100 * sp:.1f}"
                                    + (" noise" if verdict == "within noise" else ""))
        gains.append({"resolution": d["resolution"], "auc": d["auc"], "gain": g, "label": text})
    points = [{"name": n, "family": tr[n]["family"], "complete": tr[n]["complete"], "auc": tr[n]["scores"]["auc"],
               "resolution": tr[n]["resolution"], "fps": tr[n]["scores"]["fps"],
               "gmacs": tr[n]["compute"]["gmacs_thop"]} for n in order]
    if any(p["auc"] is not None for p in points) and any(p["resolution"] or p["fps"] or p["gmacs"] for p in points):
        fig = plots.resolution_figure(points, model["score_name"], floor=model["floor_auc"], gains=gains)
        plots.save_figure(fig, os.path.join(folder, "resolution_plot"), formats)
        out["resolution"] = "resolution_plot.png"
    if model["attributes"]:
        attrs = list(model["attributes"])
        fig = plots.attribute_figure(attrs, series, {a: model["attributes"][a]["scores"] for a in attrs},
                                     {a: model["attributes"][a]["num_sequences"] for a in attrs},
                                     model["score_name"],
                                     floor={a: model["attributes"][a].get("floor") for a in attrs})
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

    Every report has the floor: the built-in ``static-box`` tracker (first box kept), from the results
    when ``loretrack eval`` scored it, else scored here from the ground truth (:mod:`.floor`); a tracker
    not above it is marked not tracking. Runs named ``<base>@s<seed>`` are grouped (:mod:`.seeds`):
    mean ± std per group, and the distillation gain only with its spread.
    """
    for fmt in formats:
        if fmt not in ("png", "pdf", "svg"):
            raise ValueError(f"figure format {fmt!r}: choose png, pdf or svg")
    if "png" not in formats:
        formats = ("png",) + tuple(formats)  # the HTML page embeds the PNGs
    report_dir = _resolve_report_dir(result_dir, benchmark, report_dir)
    bench = load_benchmark(benchmark, report_dir)
    take_floor(bench)
    _select(bench, trackers)
    if "metrics" in bench.sources:
        perf = find_performance_files(report_dir, bench)
        checks = cross_check(bench, perf)
        if perf:
            bench.sources["performance"] = ", ".join(perf)
    else:
        checks = {}
    floor_reason = None
    if bench.floor is None:
        bench.floor, floor_reason = compute_floor(bench)
        if bench.floor is not None:
            bench.floor_source = "ground truth (static box scored by the report)"
        elif bench.has_ground_truth:
            bench.warnings.append(f"static box (the floor) unknown: {floor_reason}; run `loretrack eval` without "
                                  "--no-floor to have it")
    fill_missing_info(bench, result_dir)
    overrides = parse_overrides(families)
    overrides.pop(FLOOR_NAME, None)
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
    model = build_model(bench, fam, compute, floor_reason)
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

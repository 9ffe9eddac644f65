"""Markdown and self-contained HTML renderings of a report model (the dict saved as report.json).

Accuracy is printed in percent with one decimal (as the LoReTrack/OSTrack papers print it; the
same resolution as got10k's ``0.xxx``); report.json keeps the unrounded fractions.
"""
from __future__ import annotations

import base64
import html
from typing import Callable, Dict, List, Sequence, Tuple

from .families import LABELS, ORDER
from .floor import FLOOR_LABEL, TOLERANCE, is_tracking
from .seeds import NOISE_FACTOR, SINGLE_RUN, WITHIN_NOISE

Column = Tuple[str, str, str, bool]  # key, header, kind, bold the best (higher is better)


def fmt(value, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "pct":
        return f"{100.0 * value:.1f}"
    if kind == "int":
        return str(int(value))
    if kind == "fps":
        return f"{value:.1f}"
    if kind == "num1":  # GMACs / params: one decimal, but tiny test networks keep 3 significant digits
        return f"{value:.1f}" if abs(value) >= 1 else f"{value:.3g}"
    if kind == "num2":
        return f"{value:.2f}"
    return str(value)


def main_columns(score_name: str) -> List[Column]:
    return [("label", "Tracker", "text", False), ("family_label", "Family", "text", False),
            ("resolution", "Res.", "int", False),
            ("auc", score_name, "pct", True), ("precision", "P", "pct", True),
            ("norm_precision", "P_norm", "pct", True), ("success_rate", "SR0.5", "pct", True),
            ("pyt_auc", "AUC (pyt)", "pct", True), ("pyt_precision", "P (pyt)", "pct", True),
            ("pyt_norm_precision", "P_norm@0.2 (pyt)", "pct", True), ("fps", "FPS", "fps", True),
            ("gmacs_thop", "GMACs", "num1", False), ("params_thop_m", "Params (M)", "num1", False),
            ("seqs", "Seqs", "text", False), ("tracking", "Tracking?", "text", False)]


TRACKING_TEXT = {True: "yes", False: "not tracking", None: "–"}


def table_rows(model: dict, names: Sequence[str], score_source: Callable[[str], dict]) -> List[dict]:
    rows = []
    for n in names:
        t = model["trackers"][n]
        row = {"label": n if t["complete"] else n + "*", "family_label": LABELS[t["family"]],
               "resolution": t["resolution"],
               "seqs": f"{t['num_sequences']}/{model['num_sequences']}" + ("" if t["complete"] else " ⚠")
               + (" †" if t.get("excluded_sequences") else "")}
        row.update(t["compute"])
        row.update(score_source(n))
        row["tracking"] = TRACKING_TEXT[t.get("tracking")]
        if t.get("tracking") is False:
            row["_row_class"] = "nottracking"
        rows.append(row)
    return rows


def with_floor_row(model: dict, rows: List[dict], scores: dict, seqs: str) -> List[dict]:
    """``rows`` (sorted by score) with the static-box row inserted above the first row not above it."""
    row = {"label": FLOOR_LABEL, "family_label": LABELS["floor"], "resolution": None, "seqs": seqs,
           "tracking": "floor", "_row_class": "floor"}
    row.update({k: v for k, v in scores.items()})
    f = scores.get("auc")
    at = len(rows)
    if f is not None:
        at = next((i for i, r in enumerate(rows) if r.get("auc") is None or r["auc"] <= f + TOLERANCE), len(rows))
    return rows[:at] + [row] + rows[at:]


def main_rows(model: dict) -> List[dict]:
    """The Results table: every tracker by score, and the floor at its place."""
    rows = table_rows(model, model["order"], lambda n: model["trackers"][n]["scores"])
    fl = model["floor"]
    seqs = f"{fl['num_sequences']}/{model['num_sequences']}" if fl["known"] else "–"
    return with_floor_row(model, rows, fl["scores"], seqs)


def family_columns(score_name: str) -> List[Column]:
    return [("family_label", "Family", "text", False), ("label", "Tracker", "text", False),
            ("auc", score_name, "pct", True), ("fps", "FPS (this run)", "fps", True),
            ("engine", "Engine", "text", False), ("threads", "Threads", "int", False)]


FAMILY_NOTE = ("Trackers grouped by family: the LoReTrack teacher, its distilled students and their same-resolution "
               "baselines, the untrained stem correlation (the reference), OpenCV's trackers (the CPU peers) and the floor. Each FPS was measured in the run that "
               "produced these results (got10k's speed: init/update alone, frames decoded before the clock starts), "
               "with the engine and threads shown; speeds compare fairly only between trackers run on the same "
               "machine with the same threads.")


def family_rows(model: dict) -> List[dict]:
    """The trackers grouped by family (in :data:`~.families.ORDER`, by score within one), then the floor."""
    rows = []
    for fam in ORDER:
        names = [n for n in model["order"] if model["trackers"][n]["family"] == fam]
        for i, n in enumerate(names):
            t = model["trackers"][n]
            rows.append({"family_label": LABELS[fam] if i == 0 else "", "label": n if t["complete"] else n + "*",
                         "auc": t["scores"]["auc"], "fps": t["scores"]["fps"], "engine": t.get("engine") or "–",
                         "threads": t.get("threads"),
                         "_row_class": "nottracking" if t.get("tracking") is False else None})
    fl = model["floor"]
    rows.append({"family_label": LABELS["floor"], "label": FLOOR_LABEL, "auc": fl["scores"].get("auc"), "fps": None,
                 "engine": "none (no frame is decoded)", "threads": None, "_row_class": "floor"})
    return rows


def _drop_empty(columns: Sequence[Column], rows: Sequence[dict]) -> List[Column]:
    return [c for c in columns if c[2] == "text" or any(r.get(c[0]) is not None for r in rows)]


def _ranks(columns: Sequence[Column], rows: Sequence[dict], per: str = "column") -> Dict[Tuple[int, str], int]:
    """(row index, column key) -> 1 for the best value, 2 for the second (ties share a rank).

    ``per="column"``: best of each column over the rows (trackers); ``per="row"``: best of each row
    over the columns marked as compared (trackers side by side).
    """
    out = {}
    keys = [key for key, _, _, best in columns if best]
    groups = ([[(i, k) for i in range(len(rows))] for k in keys] if per == "column"
              else [[(i, k) for k in keys] for i in range(len(rows))])
    for cells in groups:
        vals = {c: round(rows[c[0]][c[1]], 9) for c in cells if rows[c[0]].get(c[1]) is not None}
        distinct = sorted(set(vals.values()), reverse=True)
        if len(distinct) < 2:  # all equal: nothing stands out
            continue
        for c, v in vals.items():
            if v in distinct[:2]:
                out[c] = distinct.index(v) + 1
    return out


def md_escape(s) -> str:
    return str(s).replace("|", "\\|")


def md_table(columns: Sequence[Column], rows: Sequence[dict], per: str = "column") -> str:
    columns = _drop_empty(columns, rows)
    ranks = _ranks(columns, rows, per)
    lines = ["| " + " | ".join(md_escape(h) for _, h, _, _ in columns) + " |",
             "|" + "|".join(":---" if k == "text" else "---:" for _, _, k, _ in columns) + "|"]
    for i, r in enumerate(rows):
        cells = []
        for key, _, kind, _ in columns:
            s = md_escape(fmt(r.get(key), kind))
            cells.append(f"**{s}**" if ranks.get((i, key)) == 1 else s)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def html_table(columns: Sequence[Column], rows: Sequence[dict], per: str = "column", sortable: bool = False,
               scroll: bool = False) -> str:
    columns = _drop_empty(columns, rows)
    ranks = _ranks(columns, rows, per)
    e = html.escape
    head = "".join(f'<th class="{"txt" if k == "text" else "num"}">{e(h)}</th>' for _, h, k, _ in columns)
    body = []
    for i, r in enumerate(rows):
        cells = []
        for key, _, kind, _ in columns:
            rank = ranks.get((i, key))
            c = "txt" if kind == "text" else "num"
            c += {1: " first", 2: " second"}.get(rank, "")
            v = r.get(key)
            sort = "" if kind == "text" or v is None else f' data-v="{float(v):.9g}"'
            cells.append(f'<td class="{c}"{sort}>{e(fmt(v, kind))}</td>')
        rc = f' class="{r["_row_class"]}"' if r.get("_row_class") else ""
        body.append(f"<tr{rc}>" + "".join(cells) + "</tr>")
    cls = ' class="sortable"' if sortable else ""
    table = (f'<table{cls}><thead><tr>{head}</tr></thead><tbody>\n'
             + "\n".join(body) + "\n</tbody></table>")
    return f'<div class="scroll">{table}</div>' if scroll else table


# ---- document text shared by both renderings ----------------------------------------------------

RESOLUTION_CAPTION = ("Accuracy against input resolution (a), measured speed (b) and thop-style GMACs (c). "
                      "Dashed black line: the teacher; dashed grey line: the static box (the floor). In (a) each "
                      "student is linked to its same-resolution baseline and labelled with the gain in points "
                      "± its spread over seeds (“1 run”: no spread is known; “noise”: within twice the "
                      "spread); in (b) and (c) markers are labelled with the input resolution, OpenCV's trackers (green "
                      "diamonds, in (b) only: they have no resolution or GMACs of ours) with their names. Hollow "
                      "markers: evaluated on fewer sequences.")

def protocol_notes(model: dict) -> List[str]:
    sn = model["score_name"]
    notes = []
    if model["is_got10k"]:
        notes.append("AO / SR0.5: got10k GOT-10k protocol (IoU of all frames pooled, first frame and "
                     "invisible frames excluded).")
    else:
        notes.append(f"{sn}, P, P_norm, SR0.5: got10k protocol — {sn} = mean of the 21-point success curve "
                     "(IoU > t), P = precision at 20 px, P_norm = mean of the normalised-precision curve over "
                     "0…0.5 (got10k master), SR0.5 = success at IoU 0.5; averaged over sequences.")
    notes.append("(pyt): pytracking/OSTrack protocol as the papers print it — AUC, precision at 20 px, "
                 "normalised precision at 0.20.")
    notes.append("FPS: measured tracking speed (got10k: mean of 1/t per frame, averaged over sequences). "
                 "GMACs and Params: one forward of the tracker's network, counted like thop "
                 "(the papers' convention; attention matmuls not counted — report.json has both).")
    notes.append("Accuracy in %; best value of each column in bold.")
    notes.append(floor_note(model))
    return notes


def _pts(v: float, sign: bool = False) -> str:
    """Points (percent of a fraction), one decimal; two when it would print as 0.0."""
    x = 100.0 * v
    digits = 2 if 0 < abs(x) < 0.05 else 1
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"


def _mean_text(mean: float, std, n: int) -> str:
    return _pts(mean) + (f" ± {_pts(std)}" if std is not None else "") + (f" over {n} runs" if n > 1 else "")


def floor_note(model: dict) -> str:
    sn, fl = model["score_name"], model["floor"]
    if not fl["known"]:
        return (f"{FLOOR_LABEL} (the floor: the first frame's box kept on every frame): unknown — "
                f"{fl.get('reason') or 'no results'}; nothing here says which trackers track.")
    return (f"{FLOOR_LABEL}: the first frame's box kept on every frame, scored like any tracker — the floor "
            f"({sn} {_pts(fl['scores']['auc'])}; from {fl['source']}). A tracker whose {sn} is not above the floor's "
            "on the same sequences does not track there: “not tracking”.")


def distillation_lines(model: dict) -> List[str]:
    """“Does distillation pay off?”: per student (group of seeds), the gain over the same-resolution
    baseline only with its spread (see :mod:`.seeds`), and whether the models compared track at all."""
    sn = model["score_name"]
    lines = []
    for d in model["distillation"]:
        n = d.get("runs", 1)
        parts = [f"{d['student']} ({d['resolution']} px): {sn} {_mean_text(d['auc'], d.get('auc_std'), n)}"]
        if d.get("baseline"):
            bn = d.get("baseline_n", 1)
            b_mean = _mean_text(d["baseline_auc"], d.get("baseline_auc_std"), bn)
            b = (f"{d['baseline']} (same-resolution baseline, {b_mean}"
                 + (f"; on the {d['gain_sequences']} sequences all completed" if d.get("gain_subset") else ""))
            g, sp, verdict = d["gain_vs_baseline"], d.get("gain_spread"), d.get("gain_verdict", SINGLE_RUN)
            if verdict == SINGLE_RUN or sp is None:
                single = [x for x, k in ((d["student"], n), (d["baseline"], bn)) if k < 2]
                parts.append(f"observed difference {_pts(g, True)} points vs {b}) — {SINGLE_RUN} "
                             f"({' and '.join(single)}: one run), so this is not a result; evaluate several seeds "
                             "(trackers named <name>@s<seed>) to measure one")
            else:
                how = (f"std of the per-seed differences, seeds {', '.join(str(k) for k in d.get('gain_pairs', []))}"
                       if d.get("gain_spread_kind") == "paired" else "√(std_student² + std_baseline²)")
                if verdict == WITHIN_NOISE:
                    tail = (f"within noise (not larger than {NOISE_FACTOR:g}× its spread, {_pts(NOISE_FACTOR * sp)}): "
                            "no gain is shown")
                else:
                    tail = (f"larger than {NOISE_FACTOR:g}× its spread ({_pts(NOISE_FACTOR * sp)}): "
                            + ("a real gain" if g > 0 else "a real loss"))
                parts.append(f"gain {_pts(g, True)} ± {_pts(sp)} points vs {b}; spread = {how}) — {tail}")
            nt, fl = d.get("not_tracking") or [], d.get("gain_floor")
            at = f" ({sn} {_pts(fl)})" if fl is not None else ""
            if nt:
                parts.append("comparison between non-tracking models: " + " and ".join(nt)
                             + (" is" if len(nt) == 1 else " are") + f" at or below the {FLOOR_LABEL}{at}")
            elif d.get("runs_not_tracking"):
                r = d["runs_not_tracking"]
                parts.append(f"some runs do not track: {', '.join(r)} {'is' if len(r) == 1 else 'are'} at or below "
                             f"the {FLOOR_LABEL}{at}")
        else:
            parts.append("no same-resolution baseline in this report")
        if d.get("teacher"):
            tn = len(d.get("teacher_runs") or [d["teacher"]])
            t = f"{d['teacher']} (teacher, {_mean_text(d['teacher_auc'], d.get('teacher_auc_std'), tn)})"
            if d.get("gap_to_teacher") is not None:
                sp = d.get("gap_spread")
                s = (f"{_pts(d['gap_to_teacher'], True)}" + (f" ± {_pts(sp)}" if sp is not None else "")
                     + f" points vs {t}")
            else:
                s = f"vs {t}"
            if d.get("speedup_vs_teacher"):
                s += f", {d['speedup_vs_teacher']:.2f}× its fps"
            if d.get("gmacs_ratio_vs_teacher"):
                s += f", {100 * d['gmacs_ratio_vs_teacher']:.0f}% of its GMACs"
            parts.append(s)
        lines.append("; ".join(parts) + ".")
    return lines


SEED_COLUMNS_NOTE = ("Runs of one model are trackers named <model>@s<seed> (or <model>-seed<seed>): mean ± sample "
                     "standard deviation (n − 1) over the runs; – = a single run, no spread is known.")


def seed_group_table(model: dict) -> Tuple[List[Column], List[dict]]:
    """Per model (group of seeds): runs, mean and std of the score, mean fps -- when some model has several runs."""
    groups = model.get("seed_groups") or {}
    if not any(g["n"] > 1 for g in groups.values()):
        return [], []
    sn = model["score_name"]
    cols: List[Column] = [("model", "Model", "text", False), ("family_label", "Family", "text", False),
                          ("n", "Runs", "int", False), ("seeds", "Seeds", "text", False),
                          ("auc_mean", f"{sn} mean", "pct", True), ("auc_std", f"{sn} std", "pct", False),
                          ("fps_mean", "FPS", "fps", False), ("tracking", "Tracking?", "text", False)]
    rows = []
    for base, g in sorted(groups.items(), key=lambda kv: -(kv[1]["auc_mean"] if kv[1]["auc_mean"] is not None
                                                            else -1.0)):
        rows.append({"model": base, "family_label": LABELS.get(g["family"], g["family"]), "n": g["n"],
                     "seeds": ", ".join("–" if k is None else str(k) for k in g["seeds"]),
                     "auc_mean": g["auc_mean"], "auc_std": g["auc_std"], "fps_mean": g["fps_mean"],
                     "tracking": TRACKING_TEXT[g.get("tracking")]
                     + (f" ({len(g['runs_not_tracking'])} of {g['n']} runs not)" if g.get("runs_not_tracking")
                        and g.get("tracking") is not False else "")})
    return cols, rows


def incomplete_lines(model: dict) -> List[str]:
    """One line per tracker whose results do not cover the benchmark (* fewer sequences, † left out)."""
    def shown(names):
        return ", ".join(names[:8]) + (f", … ({len(names) - 8} more)" if len(names) > 8 else "")
    out = []
    for n in model["order"]:
        t = model["trackers"][n]
        if not t["complete"]:
            miss = t["missing_sequences"]
            out.append(f"{n}* is missing {len(miss)} of {model['num_sequences']} sequences ({shown(miss)}): its "
                       "scores are over the sequences it has, not comparable as is; see “Common sequences”.")
        if t.get("excluded_sequences"):
            ex = t["excluded_sequences"]
            out.append(f"{n}† has no results for {len(ex)} sequence(s) ({shown(ex)}): they are left out for every "
                       f"tracker, so all numbers here cover {model['num_sequences']} sequences.")
    return out


def _attribute_rows(model: dict) -> Tuple[List[Column], List[dict]]:
    names = model["order"]
    cols: List[Column] = [("attribute", "Attribute", "text", False), ("n", "Seqs", "int", False)]
    cols += [(f"t:{n}", n if model["trackers"][n]["complete"] else n + "*", "pct", True) for n in names]
    if model["floor"]["known"]:
        cols.append(("floor", FLOOR_LABEL, "pct", True))
    rows = []
    for a, d in model["attributes"].items():
        r = {"attribute": a, "n": d["num_sequences"], "floor": d.get("floor")}
        r.update({f"t:{n}": d["scores"].get(n) for n in names})
        rows.append(r)
    return cols, rows


def _common_rows(model: dict) -> List[dict]:
    """Main-table rows recomputed on the common sequences: every tracker is complete there."""
    c = model["common_sequences"]
    rows = table_rows(model, c["order"], lambda n: c["scores"][n])
    floor = c.get("floor")
    for r, n in zip(rows, c["order"]):
        ok = is_tracking(r.get("auc"), (floor or {}).get("auc"))
        r.update(label=n, seqs=str(c["num_sequences"]), tracking=TRACKING_TEXT[ok],
                 _row_class="nottracking" if ok is False else None)
    return with_floor_row(model, rows, floor or {}, str(c["num_sequences"]) if floor else "–")


# ---- Markdown ----------------------------------------------------------------------------------

def render_markdown(model: dict, figures: Dict[str, str]) -> str:
    """``figures``: figure key -> PNG file name relative to the report folder."""
    sn = model["score_name"]
    out = [f"# Tracking report: {model['benchmark']}", "",
           f"{model['num_sequences']} sequences, {len(model['order'])} trackers"
           + (f", dataset `{model['dataset_root']}`" if model.get("dataset_root") else "")
           + f". Generated {model['generated_at']} by loretrack {model['version']}.", ""]
    if model["warnings"]:
        out += ["**Warnings**", ""] + [f"- {md_escape(w)}" for w in model["warnings"]] + [""]
    out += ["## Results", "", md_table(main_columns(sn), main_rows(model)), ""]
    out += [f"- {md_escape(s)}" for s in incomplete_lines(model) + protocol_notes(model)] + [""]
    out += ["## Families", "", md_table(family_columns(sn), family_rows(model)), "", FAMILY_NOTE, ""]
    if model["distillation"]:
        out += ["## Does distillation pay off?", ""] + [f"- {md_escape(s)}" for s in distillation_lines(model)] + [""]
    cols, rows = seed_group_table(model)
    if rows:
        out += ["## Runs per model (seeds)", "", md_table(cols, rows), "", SEED_COLUMNS_NOTE, ""]
    if "resolution" in figures:
        out += [f"![accuracy vs resolution, speed and GMACs]({figures['resolution']})", "",
                "*" + RESOLUTION_CAPTION + "*", ""]
    curves = [k for k in ("success", "precision", "norm_precision") if k in figures]
    if curves:
        out += ["## Curves", ""] + [f"![{k} plot]({figures[k]})" for k in curves] + [""]
    if model["common_sequences"]:
        c = model["common_sequences"]
        how = "length-weighted means of per-sequence AO/SR" if model["is_got10k"] else "means of per-sequence scores"
        out += ["## Common sequences", "",
                f"Scores over the {c['num_sequences']} sequences that every tracker completed ({how}):",
                "", md_table(main_columns(sn), _common_rows(model)), ""]
    if model["attributes"]:
        cols, rows = _attribute_rows(model)
        out += ["## Per-attribute " + sn, "", md_table(cols, rows, per="row"),
                "", "Best tracker of each attribute in bold.", ""]
        if "attributes" in figures:
            out += [f"![per-attribute {sn}]({figures['attributes']})", ""]
    if model.get("published"):
        out += ["## Published numbers (for orientation, not measured here)", "",
                "| Tracker | Res. | AUC | GMACs (thop) | Speed |", "|:---|---:|---:|---:|:---|"]
        out += [f"| {p['tracker']} | {p['resolution']} | {p['auc_percent']:.1f} | {fmt(p['gmacs_thop'], 'num1')} "
                f"| {p['speed'] or '–'} |" for p in model["published"]]
        out += ["", f"Source: {model['published_source']}.", ""]
    out += ["Per-sequence scores: report.html and report.json.", ""]
    return "\n".join(out)


# ---- HTML --------------------------------------------------------------------------------------

CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:2em auto;max-width:1200px;
     color:#222;padding:0 1em;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{padding:.25em .6em;border-bottom:1px solid #e4e4e4} th{background:#f4f4f4;border-bottom:2px solid #ccc}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums} td.txt,th.txt{text-align:left}
td.first{font-weight:bold;background:#e3f4e3} td.second{text-decoration:underline}
.warn{background:#fff4e0;border-left:4px solid #e69f00;padding:.5em 1em}
.notes{font-size:.85em;color:#555} figure{display:inline-block;margin:.5em 1em .5em 0;vertical-align:top}
figure img{max-width:100%} figcaption{font-size:.8em;color:#666}
table.sortable th{cursor:pointer} .scroll{max-height:40em;overflow:auto;display:inline-block}
tr.floor td{background:#f1f1f1;font-style:italic;border-top:1px dashed #999;border-bottom:1px dashed #999}
tr.nottracking td{color:#8a8a8a}
"""

# clicking a header sorts by that column (numbers by data-v, missing values last)
JS = """
document.querySelectorAll('table.sortable th').forEach(function(th, col){
  th.addEventListener('click', function(){
    var tb = th.closest('table').tBodies[0], rows = Array.from(tb.rows);
    var desc = th.dataset.desc !== '1'; th.dataset.desc = desc ? '1' : '0';
    rows.sort(function(a, b){
      var x = a.cells[col], y = b.cells[col];
      if (x.dataset.v !== undefined || y.dataset.v !== undefined){
        var u = x.dataset.v === undefined ? -Infinity : +x.dataset.v;
        var v = y.dataset.v === undefined ? -Infinity : +y.dataset.v;
        return desc ? v - u : u - v;
      }
      return desc ? y.textContent.localeCompare(x.textContent) : x.textContent.localeCompare(y.textContent);
    });
    rows.forEach(function(r){ tb.appendChild(r); });
  });
});
"""


def _img(png: bytes, alt: str, width: int) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" width="{width}" src="data:image/png;base64,{data}">'


def _per_sequence(model: dict) -> Tuple[List[Column], List[dict]]:
    names = model["order"]
    cols: List[Column] = [("seq", "Sequence", "text", False), ("length", "Frames", "int", False)]
    has_attr = any(d.get("attributes") for d in model["per_sequence"].values())
    if has_attr:
        cols.append(("attrs", "Attributes", "text", False))
    cols += [(f"t:{n}", n, "pct", True) for n in names]
    if model["floor"]["known"]:
        cols.append(("floor", FLOOR_LABEL, "pct", True))
    rows = []
    for seq, d in model["per_sequence"].items():
        r = {"seq": seq, "length": d.get("length"), "attrs": ", ".join(d.get("attributes") or []),
             "floor": (d.get("floor") or {}).get("auc")}
        r.update({f"t:{n}": (d["scores"].get(n) or {}).get("auc") for n in names})
        rows.append(r)
    return cols, rows


def render_html(model: dict, pngs: Dict[str, bytes]) -> str:
    """One self-contained page: every figure embedded as base64 PNG, no external files."""
    e = html.escape
    sn = model["score_name"]
    title = f"Tracking report: {model['benchmark']}"
    p = ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">', f"<title>{e(title)}</title>",
         f"<style>{CSS}</style></head><body>", f"<h1>{e(title)}</h1>",
         f"<p>{model['num_sequences']} sequences, {len(model['order'])} trackers"
         + (f", dataset <code>{e(model['dataset_root'])}</code>" if model.get("dataset_root") else "")
         + f". Generated {e(model['generated_at'])} by loretrack {e(model['version'])}.</p>"]
    if model["warnings"]:
        p.append('<div class="warn"><b>Warnings</b><ul>' + "".join(f"<li>{e(w)}</li>" for w in model["warnings"])
                 + "</ul></div>")
    p += ["<h2>Results</h2>", html_table(main_columns(sn), main_rows(model))]
    inc = incomplete_lines(model)
    if inc:
        p.append('<div class="warn">' + "<br>".join(e(s) for s in inc) + "</div>")
    p.append('<ul class="notes">' + "".join(f"<li>{e(s)}</li>" for s in protocol_notes(model)) + "</ul>")
    p += ["<h2>Families</h2>", html_table(family_columns(sn), family_rows(model)),
          f'<p class="notes">{e(FAMILY_NOTE)}</p>']
    if model["distillation"] or "resolution" in pngs:
        p.append("<h2>Does distillation pay off?</h2>")
        if model["distillation"]:
            p.append("<ul>" + "".join(f"<li>{e(s)}</li>" for s in distillation_lines(model)) + "</ul>")
        if "resolution" in pngs:
            p.append(f"<figure>{_img(pngs['resolution'], 'accuracy vs resolution, speed and GMACs', 1100)}"
                     f"<figcaption>{e(RESOLUTION_CAPTION)}</figcaption></figure>")
    cols, rows = seed_group_table(model)
    if rows:
        p += ["<h2>Runs per model (seeds)</h2>", html_table(cols, rows), f'<p class="notes">{e(SEED_COLUMNS_NOTE)}</p>']
    curves = [k for k in ("success", "precision", "norm_precision") if k in pngs]
    if curves:
        p.append("<h2>Curves</h2>")
        p += [f"<figure>{_img(pngs[k], k + ' plot', 380)}</figure>" for k in curves]
    if model["common_sequences"]:
        c = model["common_sequences"]
        p += ["<h2>Common sequences</h2>",
              f"<p>Scores over the {c['num_sequences']} sequences that every tracker completed.</p>",
              html_table(main_columns(sn), _common_rows(model))]
    if model["attributes"]:
        cols, rows = _attribute_rows(model)
        p += [f"<h2>Per-attribute {e(sn)}</h2>", html_table(cols, rows, per="row")]
        if "attributes" in pngs:
            p.append(f"<figure>{_img(pngs['attributes'], 'per-attribute accuracy', 420)}</figure>")
    if model.get("published"):
        pub_cols: List[Column] = [("tracker", "Tracker", "text", False), ("resolution", "Res.", "int", False),
                                  ("auc", "AUC", "pct", False), ("gmacs_thop", "GMACs (thop)", "num1", False),
                                  ("speed", "Speed", "text", False)]
        pub_rows = [dict(r, auc=r["auc_percent"] / 100.0, speed=r["speed"] or "–") for r in model["published"]]
        p += ["<h2>Published numbers (for orientation, not measured here)</h2>", html_table(pub_cols, pub_rows),
              f'<p class="notes">Source: {e(model["published_source"])}.</p>']
    cols, rows = _per_sequence(model)
    p += [f"<h2>Per-sequence {e(sn)}</h2>",
          '<p class="notes">Click a header to sort; the best tracker of each sequence is highlighted; '
          "– = no result.</p>", html_table(cols, rows, per="row", sortable=True, scroll=True)]
    p += [f"<script>{JS}</script>", "</body></html>"]
    return "\n".join(p) + "\n"

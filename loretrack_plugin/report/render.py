"""Markdown and self-contained HTML renderings of a report model (the dict saved as report.json).

Accuracy is printed in percent with one decimal (as the LoReTrack/OSTrack papers print it; the
same resolution as got10k's ``0.xxx``); report.json keeps the unrounded fractions.
"""
from __future__ import annotations

import base64
import html
from typing import Callable, Dict, List, Sequence, Tuple

from .families import LABELS

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
            ("seqs", "Seqs", "text", False)]


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
        rows.append(row)
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
        body.append("<tr>" + "".join(cells) + "</tr>")
    cls = ' class="sortable"' if sortable else ""
    table = (f'<table{cls}><thead><tr>{head}</tr></thead><tbody>\n'
             + "\n".join(body) + "\n</tbody></table>")
    return f'<div class="scroll">{table}</div>' if scroll else table


# ---- document text shared by both renderings ----------------------------------------------------

RESOLUTION_CAPTION = ("Accuracy against input resolution (a), measured speed (b) and thop-style GMACs (c). "
                      "Dashed line: the teacher. In (a) each student is linked to its same-resolution baseline "
                      "and labelled with the gain in points; in (b) and (c) markers are labelled with the "
                      "input resolution. Hollow markers: evaluated on fewer sequences.")

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
    return notes


def distillation_lines(model: dict) -> List[str]:
    lines = []
    for d in model["distillation"]:
        parts = [f"{d['student']} ({d['resolution']} px): {model['score_name']} {100 * d['auc']:.1f}"]
        if d.get("baseline"):
            parts.append(f"{d['gain_vs_baseline'] * 100:+.1f} points vs {d['baseline']} "
                         f"(same-resolution baseline, {100 * d['baseline_auc']:.1f}"
                         + (f", on the {d['gain_sequences']} sequences both completed" if d.get("gain_subset") else "")
                         + ")")
        else:
            parts.append("no same-resolution baseline in this report")
        if d.get("teacher"):
            s = f"{d['gap_to_teacher'] * 100:+.1f} points vs {d['teacher']} (teacher, {100 * d['teacher_auc']:.1f})"
            if d.get("speedup_vs_teacher"):
                s += f", {d['speedup_vs_teacher']:.2f}× its fps"
            if d.get("gmacs_ratio_vs_teacher"):
                s += f", {100 * d['gmacs_ratio_vs_teacher']:.0f}% of its GMACs"
            parts.append(s)
        lines.append("; ".join(parts) + ".")
    return lines


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
    rows = []
    for a, d in model["attributes"].items():
        r = {"attribute": a, "n": d["num_sequences"]}
        r.update({f"t:{n}": d["scores"].get(n) for n in names})
        rows.append(r)
    return cols, rows


def _common_rows(model: dict) -> List[dict]:
    """Main-table rows recomputed on the common sequences: every tracker is complete there."""
    c = model["common_sequences"]
    rows = table_rows(model, c["order"], lambda n: c["scores"][n])
    for r, n in zip(rows, c["order"]):
        r.update(label=n, seqs=str(c["num_sequences"]))
    return rows


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
    out += ["## Results", "", md_table(main_columns(sn), table_rows(model, model["order"],
                                                                     lambda n: model["trackers"][n]["scores"])), ""]
    out += [f"- {md_escape(s)}" for s in incomplete_lines(model) + protocol_notes(model)] + [""]
    if model["distillation"]:
        out += ["## Does distillation pay off?", ""] + [f"- {md_escape(s)}" for s in distillation_lines(model)] + [""]
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
    rows = []
    for seq, d in model["per_sequence"].items():
        r = {"seq": seq, "length": d.get("length"), "attrs": ", ".join(d.get("attributes") or [])}
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
    p += ["<h2>Results</h2>", html_table(main_columns(sn), table_rows(model, model["order"],
                                                                      lambda n: model["trackers"][n]["scores"]))]
    inc = incomplete_lines(model)
    if inc:
        p.append('<div class="warn">' + "<br>".join(e(s) for s in inc) + "</div>")
    p.append('<ul class="notes">' + "".join(f"<li>{e(s)}</li>" for s in protocol_notes(model)) + "</ul>")
    if model["distillation"] or "resolution" in pngs:
        p.append("<h2>Does distillation pay off?</h2>")
        if model["distillation"]:
            p.append("<ul>" + "".join(f"<li>{e(s)}</li>" for s in distillation_lines(model)) + "</ul>")
        if "resolution" in pngs:
            p.append(f"<figure>{_img(pngs['resolution'], 'accuracy vs resolution, speed and GMACs', 1100)}"
                     f"<figcaption>{e(RESOLUTION_CAPTION)}</figcaption></figure>")
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

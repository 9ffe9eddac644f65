"""The comparison report rendered from synthetic results scored by got10k's own report code."""
import base64
import json
import os
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from loretrack_plugin.report import make_report

from .synth import make_benchmark, make_got10k_benchmark

ATTRIBUTES = ["Illumination Variation", "Partial Occlusion", "Deformation", "Motion Blur", "Camera Motion",
              "Background Clutter", "Full Occlusion", "Out-of-View"]
TRACKERS = {
    "loretrack-64": dict(quality=0.75, fps=60, search=64),
    "loretrack-96": dict(quality=0.8, fps=40, search=96),
    "baseline-64": dict(quality=0.6, fps=61, search=64),
    "ostrack-96": dict(quality=0.7, fps=41, search=96, missing=[1, 3]),
    "ostrack-128": dict(quality=0.85, fps=25, search=128),
}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def parse_md_table(text: str, after: str):
    """Rows (dicts by header) of the first Markdown table after the heading ``after``."""
    lines = text[text.index(after):].splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("|"))
    rows = []
    for l in lines[start:]:
        if not l.startswith("|"):
            break
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", l.strip())[1:-1]]
        rows.append([re.sub(r"^\*\*(.*)\*\*$", r"\1", c) for c in cells])  # bold = best of its column
    head, body = rows[0], rows[2:]
    return [dict(zip(head, r)) for r in body]


def pct(x):
    return f"{100 * x:.1f}"


@pytest.fixture(scope="module")
def lasot(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("lasot"))
    b = make_benchmark(root, TRACKERS, n_seqs=8, attributes=ATTRIBUTES, floor=True)
    b["out"] = make_report(b["result_dir"], "lasot", report_dir=b["report_dir"], progress=False)
    return b


def on_disk_performance(b):
    """{tracker: entry} read back from every performance.json got10k wrote."""
    perf = {}
    for f in b["performance_files"]:
        with open(f) as fh:
            perf.update(json.load(fh))
    return perf


def test_report_files_written(lasot):
    out = lasot["out"]
    assert out == os.path.join(lasot["report_dir"], "lasot", "comparison")
    for stem in ("success_plot", "precision_plot", "norm_precision_plot", "resolution_plot", "attributes_plot"):
        for ext in ("png", "pdf"):
            path = os.path.join(out, f"{stem}.{ext}")
            assert os.path.getsize(path) > 5000, path
        with open(os.path.join(out, f"{stem}.png"), "rb") as f:
            assert f.read(8) == PNG_MAGIC
    with open(os.path.join(out, "success_plot.pdf"), "rb") as f:
        assert f.read(5) == b"%PDF-"
    # no staging folder or temporary file left behind
    parent = os.path.dirname(out)
    assert not [n for n in os.listdir(parent) if n.startswith(".report-")]
    assert not [n for n in os.listdir(out) if n.endswith(".tmp")]


def test_table_numbers_equal_performance_json(lasot):
    """Every got10k number in the Markdown table is performance.json's value, rounded for print."""
    perf = on_disk_performance(lasot)
    with open(os.path.join(lasot["out"], "report.md")) as f:
        md = f.read()
    rows = {r["Tracker"].rstrip("*"): r for r in parse_md_table(md, "## Results")}
    assert set(rows) == set(TRACKERS) | {"static box"}
    assert "ostrack-96*" in [r["Tracker"] for r in parse_md_table(md, "## Results")]
    rows["static-box"] = rows.pop("static box")  # the floor row: got10k's numbers of the static box
    for name, entry in perf.items():
        o, r = entry["overall"], rows[name]
        assert r["AUC"] == pct(o["success_score"])
        assert r["P"] == pct(o["precision_score"])
        assert r["SR0.5"] == pct(o["success_rate"])
        assert r["FPS"] == (f"{o['speed_fps']:.1f}" if o["speed_fps"] > 0 else "–")  # the static box: no speed
        m = lasot["metrics"]["trackers"][name]["overall"]
        assert r["P_norm"] == pct(m["normalized_precision_score"])
        assert r["AUC (pyt)"] == pct(m["pytracking"]["auc"])
        assert r["P_norm@0.2 (pyt)"] == pct(m["pytracking"]["norm_precision"])
        assert r["Res."] == (str(TRACKERS[name]["search"]) if name in TRACKERS else "–")
    # sorted by AUC, as the plots are
    aucs = [float(r["AUC"]) for r in parse_md_table(md, "## Results")]
    assert aucs == sorted(aucs, reverse=True)
    # report.json carries the unrounded values
    with open(os.path.join(lasot["out"], "report.json")) as f:
        rj = json.load(f)
    assert set(rj["trackers"]) == set(TRACKERS)  # the floor is apart from the compared trackers
    assert rj["floor"]["scores"]["auc"] == perf["static-box"]["overall"]["success_score"] == rj["floor_auc"]
    assert rj["floor"]["source"] == "metrics.json" and rj["performance_check"]["static-box"]["max_abs_diff"] == 0.0
    perf.pop("static-box")
    for name, entry in perf.items():
        s = rj["trackers"][name]["scores"]
        assert s["auc"] == entry["overall"]["success_score"]
        assert s["precision"] == entry["overall"]["precision_score"]
        assert s["fps"] == entry["overall"]["speed_fps"]
        assert rj["trackers"][name]["curves"]["success"] == entry["overall"]["success_curve"]
        assert rj["performance_check"][name]["max_abs_diff"] == 0.0
    assert rj["order"][0] == max(perf, key=lambda n: perf[n]["overall"]["success_score"])


def test_incomplete_tracker_is_flagged_and_compared_on_common_sequences(lasot):
    perf = on_disk_performance(lasot)
    with open(os.path.join(lasot["out"], "report.md")) as f:
        md = f.read()
    rows = {r["Tracker"]: r for r in parse_md_table(md, "## Results")}
    assert rows["ostrack-96*"]["Seqs"] == "6/8 ⚠" and rows["loretrack-96"]["Seqs"] == "8/8"
    assert "ostrack-96* is missing 2 of 8 sequences (seq-01, seq-03)" in md
    with open(os.path.join(lasot["out"], "report.json")) as f:
        rj = json.load(f)
    assert rj["trackers"]["ostrack-96"]["complete"] is False
    assert rj["trackers"]["ostrack-96"]["missing_sequences"] == ["seq-01", "seq-03"]
    assert any("ostrack-96: 2 of 8 sequences missing" in w for w in rj["warnings"])
    # the common-sequence table: per-sequence got10k scores averaged by hand over the 6 shared sequences
    common = [s for s in lasot["sequences"] if s not in ("seq-01", "seq-03")]
    assert rj["common_sequences"]["sequences"] == common
    crows = {r["Tracker"]: r for r in parse_md_table(md, "## Common sequences")}
    for name in TRACKERS:
        sw = perf[name]["seq_wise"]
        assert crows[name]["AUC"] == pct(np.mean([sw[s]["success_score"] for s in common]))
        assert crows[name]["P"] == pct(np.mean([sw[s]["precision_score"] for s in common]))
        assert crows[name]["Seqs"] == "6"
    # the distillation gain over the incomplete baseline uses the shared sequences only
    d = {x["student"]: x for x in rj["distillation"]}["loretrack-96"]
    sw_s, sw_b = perf["loretrack-96"]["seq_wise"], perf["ostrack-96"]["seq_wise"]
    want = np.mean([sw_s[s]["success_score"] for s in common]) - np.mean([sw_b[s]["success_score"] for s in common])
    assert d["baseline"] == "ostrack-96" and d["gain_subset"] and d["gain_sequences"] == 6
    assert d["gain_vs_baseline"] == pytest.approx(want, abs=1e-12)
    d64 = {x["student"]: x for x in rj["distillation"]}["loretrack-64"]
    assert d64["gain_vs_baseline"] == pytest.approx(
        perf["loretrack-64"]["overall"]["success_score"] - perf["baseline-64"]["overall"]["success_score"], abs=1e-12)
    assert d64["teacher"] == "ostrack-128"
    assert d64["speedup_vs_teacher"] == pytest.approx(
        perf["loretrack-64"]["overall"]["speed_fps"] / perf["ostrack-128"]["overall"]["speed_fps"])


def test_families_and_compute(lasot):
    from loretrack_plugin import NetConfig
    from loretrack_plugin.profiling import profile_config
    with open(os.path.join(lasot["out"], "report.json")) as f:
        rj = json.load(f)
    assert rj["families"] == {"loretrack-64": "student", "loretrack-96": "student", "baseline-64": "baseline",
                              "ostrack-96": "baseline", "ostrack-128": "teacher"}
    for name in TRACKERS:
        t = rj["trackers"][name]
        ref = profile_config(NetConfig.from_dict({**t["network"], "ce_loc": tuple(t["network"]["ce_loc"])}))
        assert t["compute"]["gmacs_thop"] == pytest.approx(ref["gmacs_thop"])
        assert t["compute"]["params_thop_m"] == pytest.approx(ref["params_thop_m"])
        assert t["resolution"] == TRACKERS[name]["search"]
    # compute grows with resolution; the same architecture has the same parameter count
    g = {n: rj["trackers"][n]["compute"]["gmacs_thop"] for n in TRACKERS}
    assert g["loretrack-64"] == g["baseline-64"] < g["loretrack-96"] == g["ostrack-96"] < g["ostrack-128"]


def test_per_attribute_breakdown(lasot):
    perf = on_disk_performance(lasot)
    attrs = lasot["metrics"]["attributes"]
    with open(os.path.join(lasot["out"], "report.json")) as f:
        rj = json.load(f)
    assert sorted(rj["attributes"]) == sorted({a for v in attrs.values() for a in v})
    for a, d in rj["attributes"].items():
        seqs = [s for s in lasot["sequences"] if a in attrs[s]]
        assert d["num_sequences"] == len(seqs)
        for name in TRACKERS:
            sw = perf[name]["seq_wise"]
            have = [sw[s]["success_score"] for s in seqs if s in sw]
            assert d["scores"][name] == (pytest.approx(np.mean(have)) if have else None)
    with open(os.path.join(lasot["out"], "report.md")) as f:
        md = f.read()
    arows = {r["Attribute"]: r for r in parse_md_table(md, "## Per-attribute AUC")}
    a = ATTRIBUTES[0]
    assert arows[a]["loretrack-96"] == pct(rj["attributes"][a]["scores"]["loretrack-96"])


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs, self.tables, self.rows, self._cells, self._in_td = [], 0, [], None, False
        self.external = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a["src"])
        elif tag in ("link", "script") and (a.get("href") or a.get("src")):
            self.external.append(a)
        elif tag == "table":
            self.tables += 1
        elif tag == "tr":
            self._cells = []
        elif tag == "td":
            self._in_td = True
            self._cells.append("")

    def handle_endtag(self, tag):
        if tag == "td":
            self._in_td = False
        elif tag == "tr" and self._cells:
            self.rows.append(self._cells)

    def handle_data(self, data):
        if self._in_td:
            self._cells[-1] += data


def test_html_is_self_contained_with_per_sequence_table(lasot):
    perf = on_disk_performance(lasot)
    with open(os.path.join(lasot["out"], "report.html")) as f:
        page = f.read()
    p = _Collect()
    p.feed(page)
    assert not p.external and "src=\"http" not in page
    assert len(p.imgs) == 5  # resolution, three curve plots, attributes
    for src in p.imgs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == PNG_MAGIC
    by_seq = {r[0]: r for r in p.rows if r and r[0] in lasot["sequences"]}
    assert sorted(by_seq) == lasot["sequences"]
    with open(os.path.join(lasot["out"], "report.json")) as f:
        order = json.load(f)["order"]
    first = 3  # sequence, frames, attributes; then one column per tracker in ranking order
    for s, cells in by_seq.items():
        for i, name in enumerate(order):
            sw = perf[name]["seq_wise"]
            assert cells[first + i] == (pct(sw[s]["success_score"]) if s in sw else "–")


def test_curve_legends_sorted_with_scores():
    from loretrack_plugin.report import plots
    series = [plots.Series("a", "student", "#000000"), plots.Series("b", "baseline", "#111111", complete=False),
              plots.Series("c", "teacher", "#222222")]
    curves = {"a": [1.0, 0.5, 0.0], "b": [1.0, 0.8, 0.1], "c": [0.9, 0.2, 0.0]}
    scores = {n: float(np.mean(c)) for n, c in curves.items()}
    fig = plots.curve_figure("success", series, curves, scores, "AUC")
    # two legend columns filled so that reading row by row follows the ranking
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts == ["b* [0.633]", "c [0.367]", "a [0.500]", "* fewer sequences (see table)"]
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig).draw()  # the rendered positions: row-major reading gives the ranking
    pos = {t.get_text(): t.get_window_extent().get_points()[0] for t in fig.legends[0].get_texts()}
    reading = sorted(pos, key=lambda k: (-round(pos[k][1]), pos[k][0]))
    assert reading == ["b* [0.633]", "a [0.500]", "c [0.367]", "* fewer sequences (see table)"]
    lines = fig.axes[0].get_lines()
    assert [list(l.get_xdata()) for l in lines][0] == [0.0, 0.5, 1.0]


def test_got10k_report_uses_ao(tmp_path):
    trackers = {"loretrack-64": dict(quality=0.8, fps=50, search=64),
                "baseline-64": dict(quality=0.6, fps=50, search=64),
                "teacher-128": dict(quality=0.9, fps=20, search=128)}
    b = make_got10k_benchmark(str(tmp_path), trackers)
    out = make_report(b["result_dir"], "got10k_val", report_dir=b["report_dir"], out_dir=str(tmp_path / "rep"),
                      progress=False)
    with open(os.path.join(b["report_dir"], "GOT-10k", "loretrack-64", "performance.json")) as f:
        perf = json.load(f)
    with open(os.path.join(out, "report.md")) as f:
        md = f.read()
    rows = {r["Tracker"]: r for r in parse_md_table(md, "## Results")}
    for name, e in perf.items():
        assert rows[name]["AO"] == pct(e["overall"]["ao"])
        assert rows[name]["SR0.5"] == pct(e["overall"]["sr"])
        assert rows[name]["FPS"] == f"{e['overall']['speed_fps']:.1f}"
        assert "P" not in rows[name]  # no precision on GOT-10k: the column is dropped, not printed empty
    assert os.path.isfile(os.path.join(out, "success_plot.png"))
    assert not os.path.exists(os.path.join(out, "precision_plot.png"))
    with open(os.path.join(out, "report.json")) as f:
        rj = json.load(f)
    assert rj["is_got10k"] and rj["score_name"] == "AO"
    assert rj["families"] == {"teacher-128": "teacher", "loretrack-64": "student", "baseline-64": "baseline"}
    assert len(rj["trackers"]["teacher-128"]["curves"]["success"]) == 101
    assert all(v["max_abs_diff"] == 0.0 for v in rj["performance_check"].values())

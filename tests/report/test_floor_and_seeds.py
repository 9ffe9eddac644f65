"""The floor row (static box), "not tracking" marks, the gain only with its spread, and the floor in the plots."""
import json
import os
import statistics

import numpy as np
import pytest

from loretrack_plugin.report import make_report
from loretrack_plugin.report import plots as P
from loretrack_plugin.report.seeds import gain_with_spread, group_runs, split_seed

from .synth import make_benchmark, static_box_auc, tiny_network
from .test_report import parse_md_table, pct


TRACKERS = {"loretrack-64": dict(quality=0.8, fps=60, search=64),
            "baseline-64": dict(quality=0.7, fps=61, search=64),
            "teacher-128": dict(quality=0.9, fps=20, search=128),
            "frozen-64": dict(static=True, search=64),   # the static box under another name: a tie
            "lost-64": dict(away=True, fps=50, search=64)}  # leaves the target after the first frame


@pytest.fixture(scope="module")
def floor_bench(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("floor"))
    b = make_benchmark(root, TRACKERS, n_seqs=5, benchmark="otb", got_folder="OTB2015", floor=True)
    captured = {}
    orig = P.save_figure

    def keep(fig, path, formats=("png",)):
        captured[os.path.basename(path)] = fig
        return orig(fig, path, formats)
    P.save_figure = keep
    try:
        b["out"] = make_report(b["result_dir"], "otb", report_dir=b["report_dir"], profile=False, progress=False,
                               formats=("png",))
    finally:
        P.save_figure = orig
    b["figures"] = captured
    with open(os.path.join(b["out"], "report.json")) as f:
        b["rj"] = json.load(f)
    with open(os.path.join(b["out"], "report.md")) as f:
        b["md"] = f.read()
    with open(os.path.join(b["out"], "report.html")) as f:
        b["html"] = f.read()
    return b


def test_floor_row_equals_independent_static_box_auc(floor_bench):
    want = static_box_auc(list(floor_bench["gts"].values()))
    rj = floor_bench["rj"]
    assert rj["floor"]["known"] and rj["floor"]["name"] == "static-box"
    assert rj["floor_auc"] == pytest.approx(want, abs=1e-9)
    assert "static-box" not in rj["trackers"] and "static-box" not in rj["order"]
    rows = {r["Tracker"]: r for r in parse_md_table(floor_bench["md"], "## Results")}
    assert rows["static box"]["AUC"] == pct(want) and rows["static box"]["Tracking?"] == "floor"
    assert rows["static box"]["Family"].startswith("Floor")
    # the table stays sorted: the floor sits where its score puts it
    aucs = [float(r["AUC"]) for r in parse_md_table(floor_bench["md"], "## Results")]
    assert aucs == sorted(aucs, reverse=True)
    assert "static box: the first frame's box kept on every frame" in floor_bench["md"]


def test_tracker_not_above_the_floor_is_not_tracking(floor_bench):
    rj, md = floor_bench["rj"], floor_bench["md"]
    t = rj["trackers"]
    assert t["lost-64"]["scores"]["auc"] < rj["floor_auc"]
    assert t["lost-64"]["tracking"] is False and t["lost-64"]["floor_auc"] == rj["floor_auc"]
    # exactly the floor's score is not above it
    assert t["frozen-64"]["scores"]["auc"] == pytest.approx(rj["floor_auc"], abs=1e-12)
    assert t["frozen-64"]["tracking"] is False
    for n in ("loretrack-64", "teacher-128"):
        assert t[n]["scores"]["auc"] > rj["floor_auc"] and t[n]["tracking"] is True
    rows = {r["Tracker"]: r for r in parse_md_table(md, "## Results")}
    assert rows["lost-64"]["Tracking?"] == "not tracking" and rows["frozen-64"]["Tracking?"] == "not tracking"
    assert rows["loretrack-64"]["Tracking?"] == "yes"
    names = [r["Tracker"] for r in parse_md_table(md, "## Results")]
    assert names.index("static box") < names.index("frozen-64")  # a tie: the floor first
    # HTML: the same marks in the table rows
    for n in ("lost-64", "frozen-64"):
        row = floor_bench["html"].split(f'<td class="txt">{n}</td>', 1)[1].split("</tr>", 1)[0]
        assert ">not tracking</td>" in row


def test_plots_draw_the_floor_line(floor_bench):
    figs, fl = floor_bench["figures"], floor_bench["rj"]["floor"]
    for kind in ("success_plot", "precision_plot", "norm_precision_plot"):
        ax = figs[kind].axes[0]
        lines = [ln for ln in ax.get_lines() if ln.get_gid() == "floor"]
        assert len(lines) == 1, kind
        ln = lines[0]
        assert ln.get_label().startswith("static box [") and ln.get_linestyle() == "--"
        key = {"success_plot": "success", "precision_plot": "precision", "norm_precision_plot": "norm_precision"}[kind]
        np.testing.assert_allclose(ln.get_ydata(), fl["curves"][key])
        assert any(t.get_text().startswith("static box [") for t in figs[kind].legends[0].get_texts())
    res = figs["resolution_plot"]
    panels = [ax for ax in res.axes if ax.get_lines()]  # (c) is empty: no GMACs without profiling
    assert len(panels) == 2
    for ax in panels:
        floor = [ln for ln in ax.get_lines() if ln.get_gid() == "floor"]
        assert len(floor) == 1 and floor[0].get_linestyle() == "--"
        assert list(floor[0].get_ydata()) == [pytest.approx(fl["scores"]["auc"])] * 2
    assert "static box" in [t.get_text() for t in res.legends[0].get_texts()]


def test_curve_figure_floor_in_legend_by_rank():
    series = [P.Series("a", "student", "#000000"), P.Series("b", "baseline", "#111111")]
    curves = {"a": [1.0, 0.9, 0.1], "b": [1.0, 0.1, 0.0]}
    scores = {n: float(np.mean(c)) for n, c in curves.items()}
    fig = P.curve_figure("success", series, curves, scores, "AUC", floor=([1.0, 0.5, 0.0], 0.5))
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    # two columns filled row by row: a [0.667], static box [0.500] / b [0.367]
    assert sorted(texts) == sorted(["a [0.667]", "static box [0.500]", "b [0.367]"])
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig).draw()
    pos = {t.get_text(): t.get_window_extent().get_points()[0] for t in fig.legends[0].get_texts()}
    reading = sorted(pos, key=lambda k: (-round(pos[k][1]), pos[k][0]))
    assert reading == ["a [0.667]", "static box [0.500]", "b [0.367]"]


# ---- the gain, only with its spread -------------------------------------------------------------

def write_metrics(root, aucs, floor=0.30, benchmark="otb"):
    """metrics.json with given AUCs (equal on every sequence) and a static box; search size from the name."""
    seqs = ["s1", "s2", "s3"]
    trackers = {}
    for name, auc in dict(aucs, **{"static-box": floor}).items():
        entry = {"success_score": auc, "precision_score": auc, "success_rate": auc, "speed_fps": 30.0,
                 "normalized_precision_score": auc}
        search = int(name.split("@")[0].split("-seed")[0].rsplit("-", 1)[1]) if name != "static-box" else None
        info = None if search is None else {"name": name, "network": tiny_network(search)}
        trackers[name] = {"overall": dict(entry, success_curve=[1.0, auc, 0.0]),
                          "seq_wise": {s: dict(entry, length=10) for s in seqs}, "missing_sequences": [],
                          "info": info}
    path = os.path.join(root, "reports", benchmark, "metrics.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"benchmark": benchmark, "sequences": seqs, "attributes": {}, "trackers": trackers}, f)
    out = make_report(None, benchmark, report_dir=os.path.join(root, "reports"), out_dir=os.path.join(root, "out"),
                      profile=False, progress=False, formats=("png",))
    with open(os.path.join(out, "report.json")) as f:
        rj = json.load(f)
    with open(os.path.join(out, "report.md")) as f:
        md = f.read()
    section = md[md.index("## Does distillation pay off?"):]
    section = section[:section.index("\n## ", 5)] if "\n## " in section[5:] else section
    return rj, md, section


def test_seed_names_group_runs():
    assert split_seed("loretrack-96@s3") == ("loretrack-96", 3)
    assert split_seed("baseline-96-seed12") == ("baseline-96", 12)
    assert split_seed("ostrack-256") == ("ostrack-256", None)
    assert group_runs(["a@s1", "b", "a@s0", "a"]) == {"a": ["a@s1", "a@s0", "a"], "b": ["b"]}
    g = gain_with_spread({"x@s0": 0.6, "x@s1": 0.7}, {"y@s0": 0.5, "y@s1": 0.5})
    assert g["spread_kind"] == "paired" and g["gain"] == pytest.approx(0.15)
    assert g["spread"] == pytest.approx(statistics.stdev([0.1, 0.2]))
    g = gain_with_spread({"x@s0": 0.6, "x@s1": 0.7}, {"y@s5": 0.5, "y@s6": 0.54})
    assert g["spread_kind"] == "unpaired"
    assert g["spread"] == pytest.approx(np.hypot(statistics.stdev([0.6, 0.7]), statistics.stdev([0.5, 0.54])))
    assert gain_with_spread({"x": 0.6}, {"y@s0": 0.5, "y@s1": 0.6})["verdict"] == "single run: no spread is known"


def test_single_run_gain_is_not_a_result(tmp_path):
    rj, md, sec = write_metrics(str(tmp_path), {"loretrack-64": 0.60, "baseline-64": 0.50, "teacher-128": 0.70})
    d = rj["distillation"][0]
    assert d["student"] == "loretrack-64" and d["baseline"] == "baseline-64"
    assert d["gain_vs_baseline"] == pytest.approx(0.10) and d["gain_spread"] is None
    assert d["gain_verdict"] == "single run: no spread is known"
    assert "single run: no spread is known" in sec and "not a result" in sec
    assert "observed difference +10.0 points" in sec
    assert "real gain" not in sec and "gain +10.0" not in sec and "within noise" not in sec


def test_several_seeds_within_noise(tmp_path):
    s = [0.60, 0.50, 0.55]
    b = [0.52, 0.56, 0.50]
    aucs = {**{f"loretrack-64@s{k}": v for k, v in enumerate(s)}, **{f"baseline-64@s{k}": v for k, v in enumerate(b)},
            "teacher-128": 0.7}
    rj, md, sec = write_metrics(str(tmp_path), aucs)
    d = rj["distillation"][0]
    diffs = [x - y for x, y in zip(s, b)]
    assert d["student"] == "loretrack-64" and d["runs"] == 3 and d["baseline"] == "baseline-64"
    assert d["auc"] == pytest.approx(np.mean(s)) and d["auc_std"] == pytest.approx(statistics.stdev(s))
    assert d["baseline_auc"] == pytest.approx(np.mean(b))
    assert d["baseline_auc_std"] == pytest.approx(statistics.stdev(b))
    assert d["gain_vs_baseline"] == pytest.approx(np.mean(diffs))
    assert d["gain_spread"] == pytest.approx(statistics.stdev(diffs)) and d["gain_spread_kind"] == "paired"
    assert abs(d["gain_vs_baseline"]) <= 2 * d["gain_spread"] and d["gain_verdict"] == "within noise"
    assert (f"AUC {100 * np.mean(s):.1f} ± {100 * statistics.stdev(s):.1f} over 3 runs" in sec)
    assert (f"gain {100 * np.mean(diffs):+.1f} ± {100 * statistics.stdev(diffs):.1f} points" in sec)
    assert "within noise" in sec and "real gain" not in sec
    # the seed table: mean ± std per model
    rows = {r["Model"]: r for r in parse_md_table(md, "## Runs per model (seeds)")}
    assert rows["loretrack-64"]["Runs"] == "3" and rows["loretrack-64"]["Seeds"] == "0, 1, 2"
    assert rows["loretrack-64"]["AUC std"] == pct(statistics.stdev(s)) and rows["teacher-128"]["AUC std"] == "–"
    assert rj["seed_groups"]["baseline-64"]["runs"] == ["baseline-64@s0", "baseline-64@s1", "baseline-64@s2"]
    assert rj["families"]["loretrack-64@s1"] == "student" and rj["families"]["baseline-64@s2"] == "baseline"


def test_several_seeds_real_gain(tmp_path):
    s = [0.60, 0.62, 0.61]
    b = [0.50, 0.51, 0.505]
    aucs = {**{f"loretrack-64@s{k}": v for k, v in enumerate(s)}, **{f"baseline-64@s{k}": v for k, v in enumerate(b)},
            "teacher-128": 0.7}
    rj, md, sec = write_metrics(str(tmp_path), aucs)
    d = rj["distillation"][0]
    assert d["gain_vs_baseline"] > 2 * d["gain_spread"] and d["gain_verdict"] == "real"
    assert "a real gain" in sec and "within noise" not in sec and "single run" not in sec
    assert "± 0.5 points" in sec  # stdev of the per-seed differences (0.10, 0.11, 0.105)


def test_comparison_with_a_model_at_the_floor(tmp_path):
    rj, md, sec = write_metrics(str(tmp_path), {"loretrack-64": 0.60, "baseline-64": 0.28, "teacher-128": 0.7},
                                floor=0.30)
    d = rj["distillation"][0]
    assert d["not_tracking"] == ["baseline-64"] and d["gain_floor"] == pytest.approx(0.30)
    assert "comparison between non-tracking models: baseline-64 is at or below the static box" in sec
    assert rj["trackers"]["baseline-64"]["tracking"] is False


def test_families_of_seeded_runs():
    from loretrack_plugin.report.families import assign_families
    res = {"loretrack-64@s0": 64, "loretrack-64@s1": 64, "ostrack-64@s0": 64, "ostrack-64@s1": 64,
           "big-128@s0": 128, "big-128@s1": 128}
    fam = assign_families(res)
    assert fam == {"loretrack-64@s0": "student", "loretrack-64@s1": "student", "ostrack-64@s0": "baseline",
                   "ostrack-64@s1": "baseline", "big-128@s0": "teacher", "big-128@s1": "teacher"}
    fam = assign_families(res, overrides={"ostrack-64": "other"})  # a base name sets every run of it
    assert fam["ostrack-64@s0"] == fam["ostrack-64@s1"] == "other"
    with pytest.raises(ValueError, match="unknown tracker"):
        assign_families(res, overrides={"nope": "other"})

"""Input handling: subsets, missing files, got10k-only reports, disagreement, atomic output, the CLI."""
import json
import os

import pytest

from loretrack_plugin.cli import main
from loretrack_plugin.report import make_report

from .synth import make_benchmark

TRACKERS = {"loretrack-64": dict(quality=0.75, fps=60, search=64),
            "baseline-64": dict(quality=0.6, fps=61, search=64),
            "teacher-128": dict(quality=0.85, fps=25, search=128)}


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    return make_benchmark(str(tmp_path_factory.mktemp("otb")), TRACKERS, n_seqs=4, benchmark="otb",
                          got_folder="OTB2015")


def test_subset_and_default_report_dir(bench, tmp_path):
    # without report_dir, the reports folder beside the results is found
    out = make_report(bench["result_dir"], "otb", trackers="loretrack-64,teacher-128", out_dir=str(tmp_path / "r"),
                      profile=False, progress=False)
    with open(os.path.join(out, "report.json")) as f:
        rj = json.load(f)
    assert sorted(rj["trackers"]) == ["loretrack-64", "teacher-128"]
    assert rj["trackers"]["teacher-128"]["compute"]["gmacs_thop"] is None  # profile=False
    assert rj["distillation"][0]["student"] == "loretrack-64" and "baseline" not in rj["distillation"][0]
    with open(os.path.join(out, "report.md")) as f:
        md = f.read()
    assert "no same-resolution baseline" in md and "| GMACs" not in md


def test_bad_inputs_name_the_problem(bench, tmp_path):
    with pytest.raises(FileNotFoundError, match="no metrics.json for benchmark 'lasot'"):
        make_report(bench["result_dir"], "lasot")
    with pytest.raises(ValueError, match=r"no results for tracker\(s\) nope on otb"):
        make_report(bench["result_dir"], "otb", trackers=["nope"], out_dir=str(tmp_path / "x"))
    with pytest.raises(ValueError, match="role must be one of"):
        make_report(bench["result_dir"], "otb", families=["teacher-128=boss"], out_dir=str(tmp_path / "x"))
    assert not os.path.exists(tmp_path / "x")
    broken = tmp_path / "rep" / "otb"
    broken.mkdir(parents=True)
    (broken / "metrics.json").write_text("{not json")
    with pytest.raises(ValueError, match="metrics.json: not valid JSON"):
        make_report(bench["result_dir"], "otb", report_dir=str(tmp_path / "rep"))


def test_got10k_performance_json_alone(bench, tmp_path):
    """A got10k report folder (no metrics.json) gives the got10k numbers, without pytracking columns."""
    out = make_report(None, "OTB2015", report_dir=bench["report_dir"], out_dir=str(tmp_path / "r"), progress=False,
                      profile=False)
    with open(bench["performance_files"][0]) as f:
        perf = json.load(f)
    with open(os.path.join(out, "report.json")) as f:
        rj = json.load(f)
    for name, e in perf.items():
        assert rj["trackers"][name]["scores"]["auc"] == e["overall"]["success_score"]
        assert rj["trackers"][name]["scores"]["pyt_auc"] is None
    with open(os.path.join(out, "report.md")) as f:
        md = f.read()
    assert "AUC (pyt)" not in md and "| Tracker |" in md


def test_disagreement_with_performance_json_is_reported(bench, tmp_path):
    with open(bench["metrics_path"]) as f:
        m = json.load(f)
    m["trackers"]["baseline-64"]["overall"]["success_score"] += 0.01
    rep = tmp_path / "reports"
    os.makedirs(rep / "otb")
    with open(rep / "otb" / "metrics.json", "w") as f:
        json.dump(m, f)
    os.symlink(os.path.join(bench["report_dir"], "OTB2015"), rep / "OTB2015")
    out = make_report(bench["result_dir"], "otb", report_dir=str(rep), progress=False, profile=False)
    with open(os.path.join(out, "report.json")) as f:
        rj = json.load(f)
    assert rj["performance_check"]["baseline-64"]["max_abs_diff"] == pytest.approx(0.01)
    assert rj["performance_check"]["loretrack-64"]["max_abs_diff"] == 0.0
    assert any("baseline-64: metrics.json disagrees" in w for w in rj["warnings"])


def test_failed_render_keeps_previous_report(bench, tmp_path, monkeypatch):
    out = str(tmp_path / "r")
    make_report(bench["result_dir"], "otb", out_dir=out, formats=("png", "pdf"), progress=False)
    before = {f: os.path.getmtime(os.path.join(out, f)) for f in os.listdir(out)}
    assert "success_plot.pdf" in before

    from loretrack_plugin.report import build

    def boom(*a, **k):
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(build, "render_html", boom)
    with pytest.raises(RuntimeError):
        make_report(bench["result_dir"], "otb", out_dir=out, progress=False)
    assert {f: os.path.getmtime(os.path.join(out, f)) for f in os.listdir(out)} == before
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".report-")]
    monkeypatch.undo()

    # a re-run reuses the GMACs of the unchanged networks (no profiling) and drops files it no longer makes
    import loretrack_plugin.profiling as prof
    monkeypatch.setattr(prof, "profile_config", boom)
    make_report(bench["result_dir"], "otb", out_dir=out, formats=("png", "svg"), progress=False)
    files = set(os.listdir(out))
    assert "success_plot.svg" in files and "success_plot.pdf" not in files
    with open(os.path.join(out, "report.json")) as f:
        rj = json.load(f)
    assert rj["trackers"]["teacher-128"]["compute"]["gmacs_thop"] > 0
    assert set(rj["files"]) == files


def test_cli(bench, tmp_path, capsys):
    rc = main(["report", "--results", bench["result_dir"], "--benchmark", "otb", "--out", str(tmp_path / "o"),
               "--family", "baseline-64=other", "--formats", "svg", "--no-profile"])
    assert rc == 0
    assert str(tmp_path / "o" / "report.html") in capsys.readouterr().out
    with open(tmp_path / "o" / "report.json") as f:
        assert json.load(f)["families"]["baseline-64"] == "other"
    assert os.path.isfile(tmp_path / "o" / "resolution_plot.svg")
    # --benchmark all finds every evaluated benchmark
    rc = main(["report", "--results", bench["result_dir"], "--benchmark", "all", "--out", str(tmp_path / "all"),
               "--no-profile"])
    assert rc == 0 and os.path.isfile(tmp_path / "all" / "report.md")
    rc = main(["report", "--results", bench["result_dir"], "--benchmark", "lasot"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("loretrack report: error: no metrics.json")
    rc = main(["report", "--results", bench["result_dir"], "--benchmark", "otb", "--formats", "gif"])
    assert rc == 2 and "--formats" in capsys.readouterr().err


def _write_metrics(path, m):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(m, f)


def test_sequences_left_out_for_everyone_are_flagged(bench, tmp_path):
    """``loretrack eval`` reports only the sequences every tracker completed and lists the rest as missing."""
    with open(bench["metrics_path"]) as f:
        m = json.load(f)
    dropped = bench["sequences"][-1]
    m["sequences"] = bench["sequences"][:-1]
    m["dataset_missing_sequences"] = ["Skating2"]
    for name, t in m["trackers"].items():
        t["seq_wise"].pop(dropped)
    m["trackers"]["baseline-64"]["missing_sequences"] = [dropped]
    rep = tmp_path / "reports"
    _write_metrics(str(rep / "otb" / "metrics.json"), m)
    out = make_report(None, "otb", report_dir=str(rep), progress=False, profile=False)
    with open(os.path.join(out, "report.json")) as f:
        rj = json.load(f)
    t = rj["trackers"]["baseline-64"]
    assert t["complete"] and t["excluded_sequences"] == [dropped] and t["num_sequences"] == 3
    assert rj["common_sequences"] is None  # every tracker is scored on the same 3 sequences
    assert any(f"baseline-64: no results for 1 sequence(s) ({dropped})" in w for w in rj["warnings"])
    assert any("the dataset lacks 1 sequence(s) of the benchmark (Skating2)" in w for w in rj["warnings"])
    with open(os.path.join(out, "report.md")) as f:
        md = f.read()
    assert "| 3/3 † |" in md and "| 3/3 |" in md and "baseline-64† has no results for 1 sequence(s)" in md


def test_test_split_without_ground_truth(tmp_path):
    seqs = ["a", "b"]
    m = {"benchmark": "got10k_test", "sequences": seqs, "attributes": {}, "protocol": {"has_ground_truth": False},
         "trackers": {n: {"overall": {"speed_fps": fps},
                          "seq_wise": {s: {"speed_fps": fps, "length": 10} for s in seqs},
                          "missing_sequences": [], "info": None, "submission": f"/r/GOT-10k-test/{n}.zip"}
                      for n, fps in (("loretrack-x", 30.0), ("teacher-y", 10.0))}}
    _write_metrics(str(tmp_path / "reports" / "got10k_test" / "metrics.json"), m)
    out = make_report(None, "got10k_test", report_dir=str(tmp_path / "reports"), progress=False, profile=False)
    files = set(os.listdir(out))
    assert not [f for f in files if f.endswith(".png")]
    with open(os.path.join(out, "report.md")) as f:
        md = f.read()
    rows = {r[1:].split("|")[0].strip(): r for r in md.splitlines() if r.startswith("| loretrack-x") or
            r.startswith("| teacher-y")}
    assert "30.0" in rows["loretrack-x"] and "10.0" in rows["teacher-y"]
    assert "no ground truth in this split" in md and "/r/GOT-10k-test/loretrack-x.zip" in md

"""The built-in static-box tracker: a reserved name of ``loretrack eval``, the floor of every comparison report."""
import glob
import json
import os

import numpy as np
import pytest

from loretrack_plugin.cli import main
from loretrack_plugin.evaluation import STATIC_BOX, StaticBoxTracker, evaluate, resolve_tracker
from tests.report.synth import static_box_auc


def _gts(root):
    return {os.path.basename(os.path.dirname(f)): np.loadtxt(f, delimiter=",", ndmin=2)
            for f in sorted(glob.glob(os.path.join(root, "*", "groundtruth_rect.txt")))}


def _eval(root, tmp, *args):
    res, rep = str(tmp / "res"), str(tmp / "rep")
    rc = main(["eval", "--benchmark", "otb-dir", "--root", root, "--result-dir", res, "--report-dir", rep, *args])
    assert rc == 0
    with open(os.path.join(rep, "otb-dir", "metrics.json")) as f:
        m = json.load(f)
    with open(os.path.join(rep, "otb-dir", "comparison", "report.json")) as f:
        rj = json.load(f)
    with open(os.path.join(rep, "otb-dir", "comparison", "report.md")) as f:
        md = f.read()
    return res, rep, m, rj, md


def test_eval_static_box_end_to_end(synth, tmp_path):
    res, rep, m, rj, md = _eval(synth["otb"], tmp_path, "--trackers", "static-box")
    gts = _gts(synth["otb"])
    assert set(m["trackers"]) == {"static-box"} and sorted(m["sequences"]) == sorted(gts)
    for seq, gt in gts.items():
        boxes = np.loadtxt(os.path.join(res, "OTB", "static-box", f"{seq}.txt"), delimiter=",")
        np.testing.assert_allclose(boxes, np.tile(gt[0], (len(gt), 1)), atol=5e-4)  # %.3f on disk
        times = np.loadtxt(os.path.join(res, "OTB", "static-box", "times", f"{seq}_time.txt"))
        assert times.shape == (len(gt),) and not times.any()  # no speed is measured for it
    want = static_box_auc(gts[s] for s in m["sequences"])
    o = m["trackers"]["static-box"]["overall"]
    assert o["success_score"] == pytest.approx(want, abs=1e-9) and o["speed_fps"] == -1
    perf = json.load(open(os.path.join(rep, "OTB", "static-box", "performance.json")))["static-box"]
    assert perf["overall"]["success_score"] == pytest.approx(want, abs=1e-9)
    info = json.load(open(os.path.join(res, "OTB", "static-box", "tracker_info.json")))
    assert info["name"] == "static-box" and info["deterministic"] and info["checkpoint"] is None
    # the comparison report: no compared tracker, the floor row
    assert rj["trackers"] == {} and rj["floor"]["known"] and rj["floor"]["source"] == "metrics.json"
    assert rj["floor_auc"] == pytest.approx(want, abs=1e-9)
    assert f"| static box | Floor (first box kept) | {100 * want:.1f} |" in md
    assert os.path.isfile(os.path.join(rep, "otb-dir", "comparison", "success_plot.png"))


def test_eval_runs_the_floor_beside_the_trackers(synth, tmp_path):
    res, rep, m, rj, md = _eval(synth["otb"], tmp_path / "a", "--trackers", "tests.evaluation.trackers:drift")
    assert list(m["trackers"]) == ["drift", "static-box"]  # the floor last: the first tracker names got10k's folder
    assert os.path.isfile(os.path.join(rep, "OTB", "drift", "performance.json"))
    assert list(rj["trackers"]) == ["drift"] and rj["floor"]["source"] == "metrics.json"
    floor = m["trackers"]["static-box"]["overall"]["success_score"]
    assert rj["floor_auc"] == floor
    drift = rj["trackers"]["drift"]
    assert drift["floor_auc"] == floor and drift["tracking"] is (drift["scores"]["auc"] > floor)

    # --no-floor: not run, not in metrics.json; the report scores it from the ground truth, to the same numbers
    res2, rep2, m2, rj2, md2 = _eval(synth["otb"], tmp_path / "b", "--trackers", "tests.evaluation.trackers:drift",
                                     "--no-floor")
    assert list(m2["trackers"]) == ["drift"] and not os.path.exists(os.path.join(res2, "OTB", "static-box"))
    assert rj2["floor"]["known"] and rj2["floor"]["source"].startswith("ground truth")
    assert rj2["floor"]["scores"] == rj["floor"]["scores"] and rj2["floor"]["curves"] == rj["floor"]["curves"]
    assert rj2["trackers"]["drift"]["tracking"] == drift["tracking"]
    assert not os.path.exists(os.path.join(res2, "OTB", "static-box"))  # the report wrote nothing there
    # `loretrack report` does the same
    out = str(tmp_path / "c")
    assert main(["report", "--results", res2, "--benchmark", "otb-dir", "--report-dir", rep2, "--out", out,
                 "--no-profile", "--formats", "png"]) == 0
    rj3 = json.load(open(os.path.join(out, "report.json")))
    assert rj3["floor"]["scores"] == rj["floor"]["scores"]
    assert "| static box | Floor (first box kept) |" in open(os.path.join(out, "report.md")).read()


def test_report_without_floor_results_or_dataset_says_so(synth, tmp_path):
    res, rep = str(tmp_path / "res"), str(tmp_path / "rep")
    assert main(["eval", "--benchmark", "otb-dir", "--root", synth["otb"], "--result-dir", res, "--report-dir", rep,
                 "--trackers", "tests.evaluation.trackers:drift", "--no-floor"]) == 0
    m = json.load(open(os.path.join(rep, "otb-dir", "metrics.json")))
    m["dataset_root"] = str(tmp_path / "gone")
    json.dump(m, open(os.path.join(rep, "otb-dir", "metrics.json"), "w"))
    out = str(tmp_path / "out")
    assert main(["report", "--results", res, "--benchmark", "otb-dir", "--report-dir", rep, "--out", out,
                 "--no-profile", "--formats", "png"]) == 0
    rj = json.load(open(os.path.join(out, "report.json")))
    assert not rj["floor"]["known"] and rj["floor_auc"] is None and rj["trackers"]["drift"]["tracking"] is None
    assert any("static box (the floor) unknown" in w and "gone" in w for w in rj["warnings"])
    md = open(os.path.join(out, "report.md")).read()
    assert "| static box | Floor (first box kept) |" in md and "nothing here says which trackers track" in md


def test_python_api_and_reserved_name(synth, tmp_path):
    ref = resolve_tracker("static-box")
    assert ref.name == STATIC_BOX and ref.deterministic
    with pytest.raises(ValueError, match="takes no checkpoint"):
        resolve_tracker("static-box", checkpoint="x.pth.tar")
    out = evaluate("otb-dir", synth["otb"], [ref], result_dir=str(tmp_path / "r"), report_dir=str(tmp_path / "p"))
    assert out.trackers == ["static-box"] and not out.run.failed and out.run.done == 3
    # the plain name as a ref (as the demo writes it) builds the same tracker
    from loretrack_plugin.evaluation.runner import TrackerRef, build_tracker
    t = build_tracker(TrackerRef("static-box", "static-box"))
    assert isinstance(t, StaticBoxTracker) and t.name == "static-box"
    boxes, times = t.track(["a.jpg", "b.jpg", "c.jpg"], np.array([1.0, 2.0, 3.0, 4.0]))
    assert boxes.tolist() == [[1.0, 2.0, 3.0, 4.0]] * 3 and times.tolist() == [0.0] * 3
    t.init(None, [5, 6, 7, 8])
    assert t.update(None).tolist() == [5, 6, 7, 8]


def test_got10k_val_floor(synth, tmp_path):
    res, rep = str(tmp_path / "res"), str(tmp_path / "rep")
    assert main(["eval", "--benchmark", "got10k_val", "--root", synth["got10k"], "--result-dir", res,
                 "--report-dir", rep, "--trackers", "tests.evaluation.trackers:drift"]) == 0
    perf = json.load(open(os.path.join(rep, "GOT-10k", "drift", "performance.json")))
    assert perf["static-box"]["overall"]["speed_fps"] == -1
    rj = json.load(open(os.path.join(rep, "got10k_val", "comparison", "report.json")))
    assert rj["score_name"] == "AO" and rj["floor_auc"] == perf["static-box"]["overall"]["ao"]
    assert rj["trackers"]["drift"]["tracking"] is (perf["drift"]["overall"]["ao"] > rj["floor_auc"])

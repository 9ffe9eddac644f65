"""Experiment classes: hand-computed LaSOT report, agreement with got10k's own code, GOT-10k pooling."""
import ast
import json
import os

import cv2
import numpy as np
import pytest

from loretrack_plugin.evaluation import TrackerRef, evaluate, metrics as M
from loretrack_plugin.evaluation.experiments import ExperimentLaSOT, ExperimentOTBDir
from loretrack_plugin.evaluation.runner import result_paths

TOL = 1e-9
STATIC = TrackerRef("tests.evaluation.trackers:static", "static")
G = [10, 10, 20, 20]


def _write_seq(d, anno, frames_dir="img", fmt="%08d.jpg"):
    os.makedirs(os.path.join(d, frames_dir), exist_ok=True)
    for i in range(len(anno)):
        cv2.imwrite(os.path.join(d, frames_dir, fmt % (i + 1)), np.full((48, 64, 3), (40 * i) % 256, np.uint8))


def _write_result(exp_result_dir, tracker, seq, boxes):
    records, time_file = result_paths("otb", exp_result_dir, tracker, seq)
    os.makedirs(os.path.dirname(time_file), exist_ok=True)
    np.savetxt(records[0], np.asarray(boxes, float), fmt="%.3f", delimiter=",")
    np.savetxt(time_file, [0.5] + [0.25] * (len(boxes) - 1), fmt="%.8f")


@pytest.fixture
def hand_lasot(tmp_path):
    """airplane-1: absent frame 1 (0,0,0,0, full occlusion); bear-2: IoUs 1, 1, 1/3, 1/2."""
    root = tmp_path / "LaSOT"
    a = root / "airplane" / "airplane-1"
    _write_seq(str(a), range(4))
    (a / "groundtruth.txt").write_text("10,10,20,20\n0,0,0,0\n10,10,20,20\n10,10,20,20\n")
    (a / "full_occlusion.txt").write_text("0,1,0,0\n")
    (a / "out_of_view.txt").write_text("0,0,0,0\n")
    b = root / "bear" / "bear-2"
    _write_seq(str(b), range(4))
    (b / "groundtruth.txt").write_text("0,0,10,10\n" * 4)
    (b / "full_occlusion.txt").write_text("0,0,0,0\n")
    (b / "out_of_view.txt").write_text("0,0,0,0\n")
    res = tmp_path / "results"
    _write_result(str(res / "LaSOT"), "static", "airplane-1", [G, G, G, [15, 10, 20, 20]])
    _write_result(str(res / "LaSOT"), "static", "bear-2", [[99, 99, 1, 1], [0, 0, 10, 10], [5, 0, 10, 10],
                                                           [0, 0, 10, 20]])
    return root, res, tmp_path / "reports"


def test_lasot_report_hand_computed(hand_lasot):
    root, res, rep = hand_lasot
    out = evaluate("lasot", str(root), [STATIC], result_dir=str(res), report_dir=str(rep))
    assert out.run.done == 0 and out.run.skipped == 2          # complete results are never re-run
    assert out.evaluated == ["airplane-1", "bear-2"]
    perf = json.load(open(rep / "LaSOT" / "static" / "performance.json"))["static"]
    o = perf["overall"]
    assert abs(o["success_score"] - (52 / 84 + 57 / 84) / 2) < TOL
    assert abs(o["precision_score"] - (0.75 + 1.0) / 2) < TOL
    assert abs(o["normalized_precision_score"] - (32 / 51 + 26 / 51) / 2) < TOL
    assert abs(o["success_rate"] - (0.75 + 0.5) / 2) < TOL
    assert abs(o["speed_fps"] - 3.5) < TOL                      # mean(1/0.5, 1/0.25, 1/0.25, 1/0.25)
    assert abs(perf["seq_wise"]["bear-2"]["normalized_precision_score"] - 26 / 51) < TOL
    for png in ("success_plots.png", "precision_plots.png", "norm_precision_plots.png"):
        assert os.path.getsize(rep / "LaSOT" / "static" / png) > 10000

    m = json.load(open(rep / "lasot" / "metrics.json"))
    assert m["sequences"] == ["airplane-1", "bear-2"] and len(m["dataset_missing_sequences"]) == 278
    t = m["trackers"]["static"]
    for key in ("success_score", "precision_score", "normalized_precision_score", "success_rate", "speed_fps"):
        assert abs(t["overall"][key] - o[key]) < TOL
    p = t["overall"]["pytracking"]
    assert abs(p["auc"] - (52 / 84 + 57 / 84) / 2) < TOL
    assert abs(p["precision"] - 0.875) < TOL and abs(p["norm_precision"] - 0.5) < TOL
    assert abs(p["op50"] - (0.75 + 0.5) / 2) < TOL and abs(p["op75"] - 0.5) < TOL
    assert t["seq_wise"]["airplane-1"]["length"] == 4 and t["missing_sequences"] == []
    assert "Full Occlusion" in m["attributes"]["airplane-1"] and "Full Occlusion" not in m["attributes"]["bear-2"]


def test_lasot_exclude_invalid_frames(hand_lasot):
    root, res, rep = hand_lasot
    evaluate("lasot", str(root), [STATIC], result_dir=str(res), report_dir=str(rep), exclude_invalid_frames=True)
    p = json.load(open(rep / "lasot" / "metrics.json"))["trackers"]["static"]["overall"]["pytracking"]
    assert abs(p["auc"] - (52 / 63 + 57 / 84) / 2) < TOL
    assert abs(p["precision"] - 1.0) < TOL and abs(p["norm_precision"] - (2 / 3 + 0.5) / 2) < TOL


def _random_results(exp, name, seed):
    rng = np.random.default_rng(seed)
    for s, seq in enumerate(exp.dataset.seq_names):
        _, anno = exp.dataset[s]
        boxes = anno + rng.normal(0, 4, anno.shape) * [1, 1, 0.5, 0.5]
        boxes[:, 2:] = np.maximum(boxes[:, 2:], 1)
        _write_result(exp.result_dir, name, seq, boxes)


def test_lasot_success_and_precision_equal_got10k_experiment_otb(synth, tmp_path):
    """Success/precision of ExperimentLaSOT equal got10k's own ExperimentOTB code on the same files."""
    from got10k.experiments import ExperimentOTB
    exp = ExperimentLaSOT(synth["lasot"], result_dir=str(tmp_path / "res"), report_dir=str(tmp_path / "rep"))
    _random_results(exp, "noisy", 3)
    # the absent rows (0,0,0,0) are kept by both; this data has no NaN
    ours = exp.report(["noisy"], plot_curves=False)["noisy"]
    exp.report_dir = str(tmp_path / "rep_got10k")
    theirs = ExperimentOTB.report(exp, ["noisy"])["noisy"]
    for key in ("success_curve", "precision_curve"):
        np.testing.assert_allclose(ours["overall"][key], theirs["overall"][key], rtol=0, atol=1e-12)
    for key in ("success_score", "precision_score", "success_rate", "speed_fps"):
        assert abs(ours["overall"][key] - theirs["overall"][key]) < 1e-12
    assert 0.05 < ours["overall"]["success_score"] < 0.95


def test_otb_dir_metrics_equal_got10k_performance(synth, tmp_path):
    exp = ExperimentOTBDir(synth["otb"], result_dir=str(tmp_path / "res"), report_dir=str(tmp_path / "rep"))
    _random_results(exp, "static", 5)
    evaluate("otb-dir", synth["otb"], [STATIC], result_dir=str(tmp_path / "res"), report_dir=str(tmp_path / "rep"))
    perf = json.load(open(tmp_path / "rep" / "OTB" / "static" / "performance.json"))["static"]
    m = json.load(open(tmp_path / "rep" / "otb-dir" / "metrics.json"))["trackers"]["static"]
    for key in ("success_curve", "precision_curve"):
        np.testing.assert_allclose(m["overall"][key], perf["overall"][key], rtol=0, atol=1e-12)
    for seq, sw in perf["seq_wise"].items():
        for key in ("success_score", "precision_score", "success_rate", "speed_fps"):
            assert abs(m["seq_wise"][seq][key] - sw[key]) < 1e-12
    # pytracking agrees with got10k on AUC and precision for OTB data (no invalid frames)
    assert abs(m["overall"]["pytracking"]["auc"] - perf["overall"]["success_score"]) < 1e-9
    assert abs(m["overall"]["pytracking"]["precision"] - perf["overall"]["precision_score"]) < 1e-9


def test_got10k_val_ao_sr_are_frame_pooled(synth, tmp_path):
    res, rep = str(tmp_path / "res"), str(tmp_path / "rep")
    out = evaluate("got10k_val", synth["got10k"], [STATIC], result_dir=res, report_dir=rep)
    assert out.run.done == 2
    ious = []
    for seq in out.evaluated:
        d = os.path.join(synth["got10k"], "val", seq)
        anno = np.loadtxt(os.path.join(d, "groundtruth.txt"), delimiter=",")
        cover = np.loadtxt(os.path.join(d, "cover.label"))
        bound = ast.literal_eval(open(os.path.join(d, "meta_info.ini")).read().split("resolution: ")[1].strip())
        boxes = np.loadtxt(result_paths("got10k", os.path.join(res, "GOT-10k"), "static", seq)[0][0], delimiter=",")
        from got10k.utils.metrics import rect_iou
        iou = rect_iou(boxes[1:].copy(), anno[1:].copy(), bound=bound)
        ious.append(iou[cover[1:] > 0])
        assert (cover == 0).any()                        # the synthetic data has an absent span
    ao, sr, _ = M.got10k_ao_sr(np.concatenate(ious))
    perf = json.load(open(os.path.join(rep, "GOT-10k", "static", "performance.json")))["static"]["overall"]
    assert abs(perf["ao"] - ao) < TOL and abs(perf["sr"] - sr) < TOL
    m = json.load(open(os.path.join(rep, "got10k_val", "metrics.json")))["trackers"]["static"]["overall"]
    assert abs(m["ao"] - ao) < TOL and abs(m["sr"] - sr) < TOL and len(m["succ_curve"]) == 101
    assert os.path.getsize(os.path.join(rep, "GOT-10k", "static", "success_plot.png")) > 10000


def test_uav123_drops_nan_rows_got10k_and_counts_them_in_pytracking(tmp_path):
    """UAV123 layout (shortest official sequence uav6, 109 frames) with 9 NaN ground-truth rows."""
    root = tmp_path / "UAV123"
    _write_seq(str(root / "data_seq" / "UAV123" / "uav6"), range(109), frames_dir="", fmt="%06d.jpg")
    gt = np.tile(np.array(G, float), (109, 1))
    gt[50:59] = np.nan
    (root / "anno" / "UAV123").mkdir(parents=True)
    np.savetxt(root / "anno" / "UAV123" / "uav6.txt", gt, fmt="%g", delimiter=",")
    out = evaluate("uav123", str(root), [STATIC], result_dir=str(tmp_path / "r"), report_dir=str(tmp_path / "p"))
    assert out.evaluated == ["uav6"] and len(out.experiment.dataset.missing) == 122
    perf = json.load(open(tmp_path / "p" / "UAV123" / "static" / "performance.json"))["static"]["overall"]
    assert abs(perf["success_score"] - 20 / 21) < TOL and perf["precision_score"] == 1.0
    m = json.load(open(tmp_path / "p" / "uav123" / "metrics.json"))["trackers"]["static"]["overall"]
    assert abs(m["success_score"] - 20 / 21) < TOL
    p = m["pytracking"]   # NaN rows: IoU -1 (miss) but centre errors -1 (hits)
    assert abs(p["auc"] - (100 / 109) * 20 / 21) < TOL and p["precision"] == 1.0 and p["norm_precision"] == 1.0


def test_nfs_layout(tmp_path):
    root = tmp_path / "NfS"
    seq = root / "fish" / "30"
    _write_seq(str(seq / "fish"), range(12), frames_dir="", fmt="%05d.jpg")
    xywh = np.array([[10 + 3 * i, 12, 20, 16] for i in range(12)], float)
    with open(seq / "fish.txt", "w") as f:
        for i, (x, y, w, h) in enumerate(xywh):
            f.write(f"fish {x:g} {y:g} {x + w:g} {y + h:g} {i + 1} 0 0 0 \"fish\"\n")
    out = evaluate("nfs", str(root), [STATIC], result_dir=str(tmp_path / "r"), report_dir=str(tmp_path / "p"))
    np.testing.assert_allclose(out.experiment.dataset[0][1], xywh)
    perf = json.load(open(tmp_path / "p" / "NfS" / "30" / "static" / "performance.json"))["static"]["overall"]
    m = json.load(open(tmp_path / "p" / "nfs" / "metrics.json"))["trackers"]["static"]["overall"]
    assert abs(m["success_score"] - perf["success_score"]) < 1e-12 and 0 < perf["success_score"] < 0.9


def test_lasot_extension(tmp_path):
    from loretrack_plugin.synthetic import make_dataset
    make_dataset("lasot", tmp_path / "ext", 2, 20, seed=2, splits="ext", image_size=(96, 72))
    out = evaluate("lasot_ext", str(tmp_path / "ext"), [STATIC], result_dir=str(tmp_path / "r"),
                   report_dir=str(tmp_path / "p"))
    assert out.evaluated == ["atv-1", "badminton-1"] and len(out.experiment.dataset.missing) == 148
    assert os.path.isfile(tmp_path / "r" / "LaSOT_ext" / "static" / "atv-1.txt")
    m = json.load(open(tmp_path / "p" / "lasot_ext" / "metrics.json"))
    assert m["protocol"]["pytracking"]["dataset"] == "lasot_extension_subset"
    assert os.path.getsize(tmp_path / "p" / "LaSOT_ext" / "static" / "norm_precision_plots.png") > 10000

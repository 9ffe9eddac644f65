"""``loretrack eval`` end to end with a random-weights tiny network (tracker YAML + checkpoint)."""
import glob
import json
import logging
import os
import zipfile

import numpy as np

from loretrack_plugin.cli import main
from loretrack_plugin.formats.sequence_names import otb_names

OVERALL_KEYS = {"success_score", "precision_score", "normalized_precision_score", "success_rate", "speed_fps",
                "success_curve", "precision_curve", "normalized_precision_curve", "pytracking"}
PYT_KEYS = {"auc", "precision", "norm_precision", "op50", "op75"}


def _eval(bench, root, tracker_file, tmp_path, *extra):
    res, rep = str(tmp_path / "results"), str(tmp_path / "reports")
    rc = main(["eval", "--benchmark", bench, "--root", root, "--trackers", tracker_file, "--result-dir", res,
               "--report-dir", rep, *extra])
    assert rc == 0
    return res, rep


def _check_results(folder, n_frames_by_seq, otb_layout=True):
    for seq, n in n_frames_by_seq.items():
        rec = os.path.join(folder, f"{seq}.txt") if otb_layout else os.path.join(folder, seq, f"{seq}_001.txt")
        tim = os.path.join(folder, "times", f"{seq}_time.txt") if otb_layout else \
            os.path.join(folder, seq, f"{seq}_time.txt")
        boxes = np.loadtxt(rec, delimiter=",")
        assert boxes.shape == (n, 4) and np.isfinite(boxes).all() and (boxes[1:, 2:] > 0).all()
        assert np.loadtxt(tim).shape == (n,)


def _check_metrics(rep, bench, folder, tracker="tiny-64"):
    m = json.load(open(os.path.join(rep, bench, "metrics.json")))
    perf = json.load(open(os.path.join(rep, folder, tracker, "performance.json")))[tracker]
    t = m["trackers"][tracker]
    assert OVERALL_KEYS <= set(t["overall"]) and PYT_KEYS <= set(t["overall"]["pytracking"])
    assert set(t["seq_wise"]) == set(m["sequences"]) and t["missing_sequences"] == []
    assert t["info"]["network"]["search_size"] == 64 and t["info"]["checkpoint"].endswith("tiny.pth.tar")
    for v in t["overall"]["pytracking"].values():
        if not isinstance(v, list):
            assert 0.0 <= v <= 1.0
    for key in ("success_score", "precision_score", "success_rate"):
        if key in perf["overall"]:
            assert abs(t["overall"][key] - perf["overall"][key]) < 1e-12
    return m, perf


def test_lasot(synth, tiny_tracker_file, tmp_path):
    res, rep = _eval("lasot", synth["lasot"], tiny_tracker_file, tmp_path)
    names = json.load(open(os.path.join(rep, "lasot", "metrics.json")))["sequences"]
    assert len(names) == 3
    _check_results(os.path.join(res, "LaSOT", "tiny-64"), {s: 24 for s in names})
    info = json.load(open(os.path.join(res, "LaSOT", "tiny-64", "tracker_info.json")))
    assert info["network"]["template_size"] == 32 and info["search_factor"] == 4.0 and info["backend"] == "eager"
    m, perf = _check_metrics(rep, "lasot", "LaSOT")
    assert abs(m["trackers"]["tiny-64"]["overall"]["normalized_precision_score"]
               - perf["overall"]["normalized_precision_score"]) < 1e-12
    assert set(m["attributes"]) == set(names)
    for png in ("success_plots.png", "precision_plots.png", "norm_precision_plots.png"):
        assert os.path.getsize(os.path.join(rep, "LaSOT", "tiny-64", png)) > 10000


def test_got10k_val_and_test(synth, tiny_tracker_file, tmp_path):
    res, rep = _eval("got10k_val", synth["got10k"], tiny_tracker_file, tmp_path)
    m, perf = _check_metrics(rep, "got10k_val", "GOT-10k")
    assert {"ao", "sr", "speed_fps", "succ_curve"} <= set(perf["overall"])
    assert m["trackers"]["tiny-64"]["overall"]["ao"] == perf["overall"]["ao"]
    assert os.path.getsize(os.path.join(rep, "GOT-10k", "tiny-64", "success_plot.png")) > 10000
    _check_results(os.path.join(res, "GOT-10k", "tiny-64"), {s: 20 for s in m["sequences"]}, otb_layout=False)

    res, rep = _eval("got10k_test", synth["got10k"], tiny_tracker_file, tmp_path)
    test_seqs = open(os.path.join(synth["got10k"], "test", "list.txt")).read().split()
    with zipfile.ZipFile(os.path.join(res, "GOT-10k-test", "tiny-64.zip")) as z:
        assert sorted(z.namelist()) == sorted(f"{s}/{s}_{k}.txt" for s in test_seqs for k in ("001", "time"))
        assert len(z.read(f"{test_seqs[0]}/{test_seqs[0]}_001.txt").decode().splitlines()) == 20
    assert not any(s in os.listdir(os.path.join(res, "GOT-10k", "tiny-64")) for s in test_seqs)
    assert json.load(open(os.path.join(rep, "got10k_test", "metrics.json")))["trackers"]["tiny-64"]["submission"]


def test_otb_dir_and_official_otb_partial(synth, tiny_tracker_file, tmp_path, caplog):
    res, rep = _eval("otb-dir", synth["otb"], tiny_tracker_file, tmp_path)
    m, _ = _check_metrics(rep, "otb-dir", "OTB")
    _check_results(os.path.join(res, "OTB", "tiny-64"), {s: 20 for s in m["sequences"]})
    for png in ("success_plots.png", "precision_plots.png"):
        assert os.path.getsize(os.path.join(rep, "OTB", "tiny-64", png)) > 10000
    with caplog.at_level(logging.WARNING, logger="loretrack"):
        res, rep = _eval("otb", synth["otb"], tiny_tracker_file, tmp_path)
    n_official = len(otb_names(2015))      # 98 folders (Jogging and Skating2 hold two targets each)
    assert any(f"{n_official - 3} of {n_official} sequences are not on disk" in r.getMessage()
               for r in caplog.records)
    m2, _ = _check_metrics(rep, "otb", "OTB2015")
    assert m2["sequences"] == m["sequences"] and len(m2["dataset_missing_sequences"]) == n_official - 3


def test_trackingnet_submission(synth, tiny_tracker_file, tmp_path):
    res, rep = _eval("trackingnet", synth["trackingnet"], tiny_tracker_file, tmp_path)
    names = [os.path.basename(f)[:-4] for f in glob.glob(os.path.join(synth["trackingnet"], "TEST", "anno", "*.txt"))]
    with zipfile.ZipFile(os.path.join(res, "TrackingNet", "tiny-64.zip")) as z:
        assert sorted(z.namelist()) == sorted(f"{n}.txt" for n in names)
        rows = np.loadtxt(z.open(f"{names[0]}.txt"), delimiter=",")
    assert rows.shape == (15, 4)


def test_real_otb_sequences(real_otb_root, tiny_tracker_file, tmp_path):
    res, rep = _eval("otb-dir", real_otb_root, tiny_tracker_file, tmp_path, "--sequences", "Biker,MountainBike6,vot15_bag")
    m, perf = _check_metrics(rep, "otb-dir", "OTB")
    assert m["sequences"] == ["Biker", "MountainBike6", "vot15_bag"]
    frames = {s: len(os.listdir(os.path.join(real_otb_root, s, "img"))) for s in m["sequences"]}
    assert frames == {"Biker": 142, "MountainBike6": 81, "vot15_bag": 196}
    _check_results(os.path.join(res, "OTB", "tiny-64"), frames)
    assert perf["overall"]["speed_fps"] > 0

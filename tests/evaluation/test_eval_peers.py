"""``loretrack eval`` with OpenCV's trackers beside a LoReTrack tracker: scored, timed and reported in the
same run, on the real sample that ships with the package."""
import json
import logging
import os

from loretrack_plugin.cli import main


def test_peers_beside_a_loretrack_tracker_on_real_footage(real_otb_root, tiny_tracker_file, tmp_path, caplog):
    res, rep = str(tmp_path / "results"), str(tmp_path / "reports")
    with caplog.at_level(logging.WARNING):
        rc = main(["eval", "--benchmark", "otb-dir", "--root", real_otb_root, "--sequences", "MountainBike6",
                   "--trackers", f"opencv-nano,opencv-mil,{tiny_tracker_file}", "--threads", "1",
                   "--result-dir", res, "--report-dir", rep])
    assert rc == 0
    m = json.load(open(os.path.join(rep, "otb-dir", "metrics.json")))
    auc = {n: t["overall"]["success_score"] for n, t in m["trackers"].items()}
    assert set(auc) == {"opencv-nano", "opencv-mil", "tiny-64", "static-box"}
    assert auc["opencv-nano"] > auc["static-box"] + 0.3, auc   # NanoTrack follows a real target
    for name in ("opencv-nano", "opencv-mil"):
        assert m["trackers"][name]["overall"]["speed_fps"] > 0
        info = json.load(open(os.path.join(res, "OTB", name, "tracker_info.json")))
        # the threads OpenCV ran with are set and recorded, like a LoReTrack backend's
        assert info["threads"] == 1 and info["opencv_threads"] == 1 and info["backend"] == "opencv"
        assert info["opencv_class"].startswith("cv2.Tracker") and info["network"] is None
    # the comparison report groups the families and lists each tracker's fps measured in this run
    report = json.load(open(os.path.join(rep, "otb-dir", "comparison", "report.json")))
    assert report["families"]["opencv-nano"] == report["families"]["opencv-mil"] == "peer"
    assert report["trackers"]["opencv-nano"]["engine"].startswith("opencv ")
    assert report["trackers"]["opencv-nano"]["threads"] == 1
    md = open(os.path.join(rep, "otb-dir", "comparison", "report.md")).read()
    families = md[md.index("## Families"):]
    assert "| CPU peer (OpenCV) | opencv-nano |" in families and "| Floor (first box kept) | static box |" in families
    fps = report["trackers"]["opencv-nano"]["scores"]["fps"]
    assert f"{fps:.1f}" in families.splitlines()[next(i for i, ln in enumerate(families.splitlines())
                                                        if "| opencv-nano |" in ln)]
    assert not [r.getMessage() for r in caplog.records if "opencv" in r.getMessage()], "a peer was warned about"


def test_a_tracker_that_is_not_deterministic_gets_got10k_repetitions(synth, tmp_path):
    res, rep = str(tmp_path / "results"), str(tmp_path / "reports")
    assert main(["eval", "--benchmark", "got10k_val", "--root", synth["got10k"], "--trackers",
                 "opencv-nano,opencv-mil", "--threads", "1", "--result-dir", res, "--report-dir", rep,
                 "--no-report"]) == 0
    seq = sorted(os.listdir(os.path.join(res, "GOT-10k", "opencv-nano")))[0]
    assert not seq.endswith(".json")
    runs = {n: sorted(f for f in os.listdir(os.path.join(res, "GOT-10k", n, seq)) if not f.endswith("_time.txt"))
            for n in ("opencv-nano", "opencv-mil")}
    assert runs == {"opencv-nano": [f"{seq}_001.txt"], "opencv-mil": [f"{seq}_00{r}.txt" for r in (1, 2, 3)]}

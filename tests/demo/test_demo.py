"""The main job: budget planning, the verdict rules, and a tiny `loretrack demo` end to end."""
import json
import os
import subprocess
import sys

import pytest

from loretrack_plugin import shipped
from loretrack_plugin.demo import (EVAL_FRAME_OVERHEAD_MS, EVAL_SET_OVERHEAD_S, compare, count_frames,
                                   estimate_eval_seconds, plan_budget, plan_epochs, split_real, tracker_name)


def test_epoch_planning():
    assert plan_epochs(10000, 16) == (5, 2000)
    epochs, per = plan_epochs(3000, 16)
    assert epochs == 1 and per == 3000 // 16 * 16
    assert plan_epochs(5, 16) == (1, 16)  # never below one batch


def test_budget_gives_student_and_baseline_the_same_samples():
    plan = plan_budget(1800, {"baseline": 60.0, "student": 30.0}, seeds=3, from_scratch=False, eval_s=120.0)
    assert plan["samples"]["student"] == plan["samples"]["baseline"] >= 64
    assert plan["eval_seconds"] == 120.0 and plan["train_seconds"] == 1680.0
    # the training time (3 seeds x (baseline + student) at their speeds) fills what evaluation leaves
    n = plan["samples"]["student"]
    assert 3 * (n / 60 + n / 30) == pytest.approx(plan["train_seconds"] - 3 * 2 * 6.0, rel=0.01)
    assert plan["expected_seconds"] == pytest.approx(1800, rel=0.01) and not plan["over_budget"]
    scratch = plan_budget(1800, {"baseline": 60.0, "student": 30.0, "backbone": 50.0, "teacher": 20.0}, 3, True,
                          eval_s=120.0)
    assert scratch["samples"]["backbone"] > 0 and scratch["samples"]["teacher"] > 0
    assert scratch["samples"]["student"] < n  # the pairs get what the two extra stages leave
    assert scratch["expected_seconds"] == pytest.approx(1800, rel=0.02)


def test_a_budget_below_the_minimum_says_how_long_it_will_take():
    tiny = plan_budget(60, {"baseline": 60.0, "student": 30.0}, 3, False, eval_s=100.0)
    assert tiny["samples"]["student"] == 64  # the minimum
    assert tiny["over_budget"]
    # evaluation (100 s) + 3 x (64/60 + 64/30 + 2 x 6 s)
    assert tiny["expected_seconds"] == pytest.approx(100 + 3 * (64 / 60 + 64 / 30 + 12), rel=1e-6)


def test_evaluation_time_is_frames_times_trackers(tmp_path):
    # 10 frames, teacher 20 ms + two 10 ms students, each plus the per-frame overhead; 2 sets
    want = 10 * (20 + 10 + 10 + 3 * EVAL_FRAME_OVERHEAD_MS) / 1000 + 2 * EVAL_SET_OVERHEAD_S
    assert estimate_eval_seconds(10, [20.0, 10.0, 10.0], sets=2) == pytest.approx(want)
    seq = tmp_path / "seqs" / "a" / "img"
    seq.mkdir(parents=True)
    for i in range(3):
        (seq / f"{i:04d}.jpg").write_bytes(b"x")
    (seq.parent / "groundtruth_rect.txt").write_text("1,1,2,2\n")
    held = tmp_path / "held"
    held.mkdir()
    os.symlink(seq.parent, held / "a")  # the demo's held-apart folders hold links to sequences
    assert count_frames(str(tmp_path / "seqs")) == 3 and count_frames(str(held)) == 3


def test_real_sequences_are_split_apart():
    train, held = split_real(["a", "b", "c", "d", "e", "f"])
    assert held == ["c", "f"] and train == ["a", "b", "d", "e"]
    with pytest.raises(ValueError, match="at least 3"):
        split_real(["a", "b"])


def _m(**scores):
    return {k.replace("_", "-").replace("-at-", "@"): {"success_score": v} for k, v in scores.items()}


def test_verdicts():
    key = "success_score"
    T, S, B = tracker_name("teacher"), tracker_name("student"), tracker_name("baseline")
    base = {"static-box": {key: 0.10}, T: {key: 0.40}}
    real = dict(base, **{f"{S}@s0": {key: 0.30}, f"{S}@s1": {key: 0.32},
                         f"{B}@s0": {key: 0.25}, f"{B}@s1": {key: 0.26}})
    c = compare(real, key)
    assert c["floor"] == 0.10 and c["student"]["n"] == 2 and c["teacher"] == 0.40
    assert c["gain"]["mean"] == pytest.approx(0.055) and c["verdict"].startswith("a real gain")
    noisy = dict(base, **{f"{S}@s0": {key: 0.30}, f"{S}@s1": {key: 0.24},
                          f"{B}@s0": {key: 0.25}, f"{B}@s1": {key: 0.26}})
    assert compare(noisy, key)["verdict"] == "within noise"
    single = dict(base, **{f"{S}@s0": {key: 0.30}, f"{B}@s0": {key: 0.25}})
    assert compare(single, key)["verdict"] == "single run: no spread is known"
    under = dict(real, **{"static-box": {key: 0.28}})
    assert "not tracking" in compare(under, key)["verdict"]


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    """A tiny backbone and teacher of the recipe's networks and sizes (the pretrained stem, width 64,
    1 block) with random weights."""
    from loretrack_plugin import build_net, save_checkpoint
    d = tmp_path_factory.mktemp("demo-models")
    net = dict(embed_dim=64, depth=1, num_heads=4, head_channels=32)
    stem = dict(patch_embed="nanotrack-v3", head_input="tokens+corr")
    save_checkpoint(build_net(shipped.TEACHER_SIZE, shipped.TEACHER_SIZE // 2, **net, **stem),
                    str(d / "teacher.pth.tar"), epoch=1)
    save_checkpoint(build_net(192, 96, **net, **stem), str(d / "backbone.pth.tar"), epoch=1)
    sets = [f"{sec}.{k}={v}" for sec in ("model", "teacher") for k, v in net.items()]
    return str(d / "backbone.pth.tar"), str(d / "teacher.pth.tar"), sets


def test_tiny_demo_end_to_end(tiny_models, tmp_path):
    backbone, teacher, sets = tiny_models
    out = tmp_path / "demo"
    cmd = [sys.executable, "-m", "loretrack_plugin", "demo", "--out", str(out), "--minutes", "0.5", "--seeds", "2",
           "--synthetic-train", "3", "--synthetic-eval", "1", "--frames", "20", "--no-progress", "--threads", "1",
           "--backbone", backbone, "--teacher", teacher, "--set", "optim.batch_size=4"]
    for s in sets:
        cmd += ["--set", s]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "demo_summary.json").read_text())
    plan = summary["plan"]
    assert plan["samples"]["student"] == plan["samples"]["baseline"] >= 64
    # evaluation is planned from its frames: the shipped real sample and the synthetic sequence
    from loretrack_plugin.sample_data import real_sample_root
    assert plan["eval_frames"] == count_frames(real_sample_root()) + 20
    assert plan["eval_seconds"] > plan["eval_frames"] * 6 * EVAL_FRAME_OVERHEAD_MS / 1000
    if plan["over_budget"]:  # 0.5 min is below the minimum on slow machines: it must say so
        assert "takes about" in proc.stderr and "below this machine's minimum" in proc.stdout
    for s in (0, 1):  # both kinds of run, for every seed, saw the planned number of samples
        for kind in ("student", "baseline"):
            st = summary["stages"][f"{kind}-s{s}"]
            assert os.path.isfile(st["checkpoint"]) and st["seed"] == s
        assert summary["stages"][f"student-s{s}"]["samples"] == summary["stages"][f"baseline-s{s}"]["samples"]
    # every tracker the demo evaluates runs the miniature trackers' loop (as the shipped ones do)
    from loretrack_plugin.trackers import load_spec
    specs = [load_spec(str(p)) for p in sorted((out / "trackers").glob("*.yaml"))]
    assert len(specs) == 5 and all(sp.loop == shipped.LOOP for sp in specs)
    assert all((sp.search_factor, sp.template_factor) == (shipped.SEARCH_FACTOR, shipped.TEMPLATE_FACTOR)
               for sp in specs)
    real = summary["results"]["real-sample"]
    assert set(real["metrics"]) == {"static-box", "teacher-256", "loretrack-128@s0", "loretrack-128@s1",
                                    "baseline-128@s0", "baseline-128@s1", "opencv-nano"}
    # OpenCV's NanoTrack is scored and timed beside the models: where LoReTrack stands against the field
    assert real["metrics"]["opencv-nano"]["speed_fps"] > 0 and (real["comparison"]["peers"]["opencv-nano"]["score"]
                                                            > real["comparison"]["floor"])
    assert "opencv-nano" in proc.stdout
    c = real["comparison"]
    assert c["student"]["n"] == c["baseline"]["n"] == 2 and c["gain"]["std"] is not None
    # the report has the floor row and states the gain with its spread
    rj = json.loads((out / "reports" / "real-sample" / "comparison" / "report.json").read_text())
    assert rj["floor_auc"] == pytest.approx(real["metrics"]["static-box"]["success_score"], abs=1e-9)
    md = (out / "reports" / "real-sample" / "comparison" / "report.md").read_text()
    assert "static box" in md
    assert ("within noise" in md) or ("real gain" in md) or ("real loss" in md)
    assert "static box (floor)" in proc.stdout and "student - baseline" in proc.stdout
    # a rerun reuses every stage and the results
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    s2 = json.loads((out / "demo_summary.json").read_text())
    assert all(s2["stages"][f"{k}-s{s}"].get("reused") for k in ("student", "baseline") for s in (0, 1))
    assert s2["results"]["real-sample"]["metrics"] == real["metrics"]


def test_tiny_demo_from_scratch(tiny_models, tmp_path):
    """--from-scratch trains the backbone (192/96 on the stem) and the teacher from it before the pair."""
    _, _, sets = tiny_models
    out = tmp_path / "demo"
    cmd = [sys.executable, "-m", "loretrack_plugin", "demo", "--out", str(out), "--minutes", "0.5", "--seeds", "1",
           "--synthetic-train", "3", "--synthetic-eval", "1", "--frames", "20", "--no-progress", "--threads", "1", "--from-scratch",
           "--set", "optim.batch_size=4", "--set", "mae.batch_size=4", "--set", "mae.img_size=64"]
    for s in sets:
        cmd += ["--set", s]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "demo_summary.json").read_text())
    for stage in ("backbone", "teacher", "baseline-s0", "student-s0"):
        assert os.path.isfile(summary["stages"][stage]["checkpoint"])
    assert summary["stages"]["backbone"]["checkpoint"].endswith(".pth.tar")
    from loretrack_plugin.checkpoint import read_checkpoint_file
    cfg = read_checkpoint_file(summary["stages"]["backbone"]["checkpoint"])["loretrack"]["config"]
    assert (cfg["search_size"], cfg["patch_embed"]) == (192, "nanotrack-v3")
    assert read_checkpoint_file(summary["stages"]["teacher"]["checkpoint"])["loretrack"]["config"]["search_size"] \
        == shipped.TEACHER_SIZE
    assert "single run: no spread is known" in proc.stdout

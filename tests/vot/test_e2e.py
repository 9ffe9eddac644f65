"""End to end with the real toolkit: `loretrack vot-setup --synthetic`, then `vot test/evaluate/analysis/report`
on a tiny random-weights LoReTrack; then tracker errors reach `vot` as errors, never as hangs."""
import json
import os
import shutil

import cv2
import numpy as np
import pytest

from .conftest import LORETRACK, needs_toolkit, run_guarded, run_vot

pytestmark = [needs_toolkit, pytest.mark.slow]

VOT_TIMEOUT = 240  # seconds; a healthy call takes ~10 s here


def _setup_here(workspace, tiny, *extra):
    """vot-setup in this process (the console script itself is exercised by the fixture)."""
    from loretrack_plugin.cli import main
    assert main(["vot-setup", "--workspace", workspace, "--default-tracker", tiny["yaml"], "--backend", "eager",
                 "--threads", "1", *extra]) == 0


def _setup(workspace, tiny, *extra):
    rc, out = run_guarded([LORETRACK, "vot-setup", "--workspace", workspace, "--default-tracker", tiny["yaml"],
                           "--backend", "eager", "--threads", "1", *extra], cwd=os.path.dirname(workspace),
                          timeout=240)
    assert rc == 0, out
    return out


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, tiny_tracker):
    ws = str(tmp_path_factory.mktemp("vot_e2e") / "ws")
    _setup(ws, tiny_tracker, "--synthetic", "--sequences", "2", "--frames", "30", "--seed", "3")
    logs = {}
    for name, args in [("test", ["test", "loretrack"]),
                       ("evaluate", ["evaluate", "loretrack"]),
                       ("analysis", ["analysis", "loretrack", "--name", "e2e"]),
                       ("report", ["report", "loretrack", "--format", "html", "--name", "e2e"])]:
        rc, logs[name] = run_vot(args, ws, timeout=VOT_TIMEOUT)
        assert rc == 0, logs[name]
    return ws, logs


def test_vot_test_evaluate_analysis_report(evaluated):
    ws, logs = evaluated
    assert "Test concluded successfuly" in logs["test"]  # sic, the toolkit's spelling
    assert "Evaluation concluded successfuly" in logs["evaluate"]
    with open(os.path.join(ws, "analysis", "e2e.json")) as f:
        analysis = json.load(f)
    assert list(analysis["trackers"]) == ["loretrack"]
    assert analysis["trackers"]["loretrack"]["protocol"] == "traxpython"

    base = analysis["results"]["baseline"]
    assert base["type"] == "loretrack_plugin.vot.multistart.MultiStart"
    names = [a["name"] for a in base["parameters"]["analyses"]]
    assert names == ["eaoscore", "eaocurve", "ar"]
    (eao,), (curve,), ar = (r[0] for r in base["results"])
    low, high = base["parameters"]["analyses"][0]["low"], base["parameters"]["analyses"][0]["high"]
    assert (low, high) == (7, 30)
    assert 0.0 <= eao <= 1.0 and len(curve) == high
    assert eao == pytest.approx(float(np.mean(curve[low:high])), abs=1e-12)
    accuracy, robustness = ar[0], ar[1]
    assert 0.0 <= accuracy <= 1.0 and 0.0 < robustness <= 1.0
    (acc_unsup,) = analysis["results"]["unsupervised"]["results"][0][0]
    assert 0.0 <= acc_unsup <= 1.0

    report = os.path.join(ws, "reports", "e2e", "report.html")
    with open(report) as f:
        html = f.read()
    assert "loretrack" in html.lower() and "EAO" in html


def test_results_are_the_trackers_own_boxes_and_scores(evaluated, tiny_tracker):
    """The unsupervised run of synth-01, as stored by the toolkit, equals the tracker run in this process."""
    from vot.tracker import Results, Trajectory
    from vot.workspace.storage import LocalStorage

    from loretrack_plugin.trackers import make_tracker

    ws, _ = evaluated
    seq = os.path.join(ws, "sequences", "synth-01")
    results = Results(LocalStorage(os.path.join(ws, "results", "loretrack", "unsupervised", "synth-01")))
    traj = Trajectory.read(results, "synth-01_001")
    assert len(traj) == 30
    with open(os.path.join(seq, "groundtruth.txt")) as f:
        gt0 = [float(v) for v in f.readline().split(",")]
    ref = make_tracker(tiny_tracker["yaml"], backend="eager", threads=1)
    frame = lambda i: cv2.cvtColor(cv2.imread(os.path.join(seq, "color", f"{i + 1:08d}.jpg")), cv2.COLOR_BGR2RGB)
    ref.init(frame(0), gt0)
    for i in range(1, 30):
        want, score = ref.update(frame(i))
        r = traj.region(i)
        got = [r.x, r.y, r.width, r.height]
        assert np.allclose(got, want, atol=2e-3), (i, got, want)
        assert traj.properties(i)["confidence"] == pytest.approx(score, abs=2e-6)
    # the multistart run of every anchor was written
    anchors = [i for i, v in enumerate(open(os.path.join(seq, "anchor.value")).read().split()) if float(v) != 0]
    assert anchors == [0, 10, 20]
    folder = os.path.join(ws, "results", "loretrack", "baseline", "synth-01")
    assert sorted(f for f in os.listdir(folder) if f.endswith(".bin")) == [f"synth-01_{a:08d}.bin" for a in anchors]


def test_bad_checkpoint_reaches_vot_as_an_error(evaluated, tiny_tracker, tmp_path):
    ws, _ = evaluated
    bad = tmp_path / "bad.pth.tar"
    bad.write_bytes(os.urandom(4096))
    try:
        _setup_here(ws, tiny_tracker, "--checkpoint", f"loretrack={bad}")
        rc, out = run_vot(["evaluate", "loretrack", "--force"], ws, timeout=VOT_TIMEOUT)
        assert "Evaluation concluded successfuly" not in out
        assert "Server terminated the session: tiny-lore:" in out and "bad.pth.tar" in out, out
    finally:
        _setup_here(ws, tiny_tracker)


def test_crash_mid_sequence_reaches_vot_as_an_error(evaluated):
    ws, _ = evaluated
    frame = os.path.join(ws, "sequences", "synth-01", "color", "00000016.jpg")
    held = frame + ".held"
    shutil.move(frame, held)
    try:
        rc, out = run_vot(["evaluate", "loretrack", "--force"], ws, timeout=VOT_TIMEOUT)
        assert "Evaluation concluded successfuly" not in out
        assert "cannot read frame" in out and "00000016.jpg" in out, out
        log_dir = os.path.join(ws, "logs")
        logs = "".join(open(os.path.join(log_dir, f)).read() for f in os.listdir(log_dir))
        assert "@@TRAX:quit" in logs and "Process exited with code (1)" in logs
    finally:
        shutil.move(held, frame)


def test_vot_evaluate_runs_an_opencv_peer(tmp_path, tiny_tracker):
    """`vot evaluate opencv-nano` after `loretrack vot-setup --trackers opencv-nano`: the toolkit runs
    OpenCV's NanoTrack through the same TraX server and stores its boxes."""
    ws = str(tmp_path / "ws")
    _setup_here(ws, tiny_tracker, "--trackers", "opencv-nano", "--synthetic", "--sequences", "1", "--frames", "20",
                "--seed", "5")
    rc, log = run_vot(["evaluate", "opencv-nano"], ws, timeout=VOT_TIMEOUT)
    assert rc == 0 and "Evaluation concluded successfuly" in log, log
    stored = [os.path.join(d, f) for d, _, files in os.walk(os.path.join(ws, "results", "opencv-nano"))
              for f in files if f.endswith(".bin") or f.endswith(".txt")]
    assert stored, "the toolkit stored no result of opencv-nano"

"""The multistart experiment class through the real `vot` CLI, with a static tracker and hand-computed EAO/A/R.

Sequence ``jump`` (30 frames): the target sits at (10,10,20,20) on frames 0..7 and at (100,70,20,20) on
frames 8..29. Anchors: frame 0 runs forward, frame 29 runs backward. A static tracker (it repeats its
initial box) therefore overlaps 1 or 0 everywhere:

* forward run (30 frames): overlaps o = [init, 1 x 7 (frames 1..7), 0 x 22]. A failure is 10 consecutive
  frames with overlap <= 0.1, dated at its first frame: frame 8, so 8 frames count for robustness.
* backward run (frames 29..0): o = [init, 1 x 21 (frames 28..8), 0 x 8 (frames 7..0)]; 8 < 10 bad
  frames, so no failure: 30 frames.

The initialisation frame has overlap 0. Hence R = (8 + 30) / 60, A = (7 + 21) / 38 and, for fragment length
n < 30, Φ(n) = (min(n, 7)/n + 1) / 2 (mean overlap of frames 1..n, averaged over both runs), EAO over
low=1..high=20 = mean_{n=1..19} Φ(n). The unsupervised run from frame 0 without burn-in frame has accuracy 7/29.
"""
import json
import os
import subprocess
import sys

import pytest

from loretrack_plugin.vot import stack as stacks
from loretrack_plugin.vot import workspace as ws

from .conftest import needs_toolkit, run_vot, write_vot_sequence

STATIC_TRACKER = '''
import os, trax
log = os.environ["STATIC_LOG"]
with trax.Server([trax.Region.RECTANGLE], [trax.Image.PATH], ["color"]) as server:
    box = None
    while True:
        req = server.wait()
        if req.type in (trax.TraxStatus.QUIT, trax.TraxStatus.ERROR):
            break
        if req.type == trax.TraxStatus.INITIALIZE:
            box = req.objects[0][0].bounds()
            with open(log, "a") as f:
                f.write("%d %s\\n" % (os.getpid(), ",".join("%g" % v for v in box)))
        server.status([(trax.Rectangle.create(*box), {"confidence": "0.25"})])
'''


@pytest.fixture(scope="module")
def static_workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("ms_ws")
    boxes = [(10, 10, 20, 20)] * 8 + [(100, 70, 20, 20)] * 22
    anchors = [1] + [0] * 28 + [-1]
    write_vot_sequence(str(root / "sequences"), "jump", boxes, anchors=anchors)
    (root / "static_tracker.py").write_text(STATIC_TRACKER)
    log = root / "inits.log"
    (root / "trackers.ini").write_text(
        "[static]\nprotocol = traxpython\ncommand = static_tracker\n"
        f"paths = {root}\npython = {sys.executable}\nenv_STATIC_LOG = {log}\n")
    # the experiment as a toolkit in another environment sees it: a module copied into the workspace
    pythonpath = ws.install_experiment_module(str(root))
    stacks.write_stack(str(root / "stack.yaml"), stacks.local_stack(stacks.STANDALONE_EXPERIMENT, 1, 20))
    ws.write_config(str(root), stack="./stack.yaml")
    env = {"PYTHONPATH": pythonpath}
    rc, out = run_vot(["evaluate", "static"], str(root), timeout=120, env=env)
    assert "Evaluation concluded successfuly" in out, out
    rc, out = run_vot(["analysis", "static", "--name", "hand"], str(root), timeout=120, env=env)
    assert rc == 0 and os.path.isfile(root / "analysis" / "hand.json"), out
    with open(root / "analysis" / "hand.json") as f:
        return root, json.load(f), log


@needs_toolkit
def test_multistart_scores_match_hand_computation(static_workspace):
    _, analysis, _ = static_workspace
    base = analysis["results"]["baseline"]
    assert base["type"] == stacks.STANDALONE_EXPERIMENT
    (eao,), (curve,), ar = (r[0] for r in base["results"])
    phi = [0.0] + [(min(n, 7) / n + 1) / 2 for n in range(1, 20)]
    assert curve == pytest.approx(phi, abs=1e-9)
    assert eao == pytest.approx(sum(phi[1:20]) / 19, abs=1e-9)
    assert eao == pytest.approx(0.8601099368, abs=1e-9)
    accuracy, robustness = ar[0], ar[1]
    assert accuracy == pytest.approx(28 / 38, abs=1e-9)
    assert robustness == pytest.approx(38 / 60, abs=1e-9)
    (acc_unsup,) = analysis["results"]["unsupervised"]["results"][0][0]
    assert acc_unsup == pytest.approx(7 / 29, abs=1e-9)


@needs_toolkit
def test_multistart_results_layout_and_one_process_per_sequence(static_workspace):
    root, _, log = static_workspace
    res = root / "results" / "static" / "baseline" / "jump"
    names = sorted(os.listdir(res))
    assert names == ["jump_00000000.bin", "jump_00000000_confidence.value", "jump_00000000_time.value",
                     "jump_00000029.bin", "jump_00000029_confidence.value", "jump_00000029_time.value"]
    conf = (res / "jump_00000029_confidence.value").read_text().split("\n")
    # frame 0 is the initialisation (no tracker output), then the tracker's confidence on each frame
    assert conf[0] == "" and conf[1:30] == ["0.25"] * 29
    inits = [line.split() for line in log.read_text().splitlines()]
    # stack order: baseline (both anchors, re-initialised in ONE tracker process), then unsupervised
    assert [box for _, box in inits] == ["10,10,20,20", "100,70,20,20", "10,10,20,20"], inits
    assert inits[0][0] == inits[1][0] != inits[2][0]


def test_standalone_experiment_module_needs_neither_torch_nor_this_package(tmp_path):
    pytest.importorskip("vot.experiment")
    folder = ws.install_experiment_module(str(tmp_path))
    code = ("import sys; sys.modules['torch'] = None; sys.modules['loretrack_plugin'] = None; "
            f"sys.path.insert(0, {folder!r}); import loretrack_multistart as m; "
            "from vot.experiment.multistart import MultiStartExperiment as B; assert issubclass(m.MultiStart, B)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr

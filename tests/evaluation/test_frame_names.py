"""``loretrack eval --benchmark otb-dir`` gives the same result file and score whether a sequence's
frames are named ``1.jpg`` ... ``120.jpg`` or ``0001.jpg`` ... ``0120.jpg``.

The tracker reports each frame's mean grey level as its box's x (``tests.evaluation.trackers:frame_mean``),
so its result file records which frame it was given at each step: a frame order taken from the names
as strings (``1, 10, 100, 101, ...``) would change it."""
import json
import os

import numpy as np

from loretrack_plugin.cli import main
from loretrack_plugin.formats import read_rgb
from loretrack_plugin.synthetic import make_dataset
from tests.data.frame_names import renamed_copy

TRACKER = "tests.evaluation.trackers:frame_mean"
FRAMES = 120


def _eval(root, out):
    rc = main(["eval", "--benchmark", "otb-dir", "--root", root, "--trackers", TRACKER,
               "--result-dir", os.path.join(out, "results"), "--report-dir", os.path.join(out, "reports")])
    assert rc == 0
    (seq,) = os.listdir(root)
    with open(os.path.join(out, "results", "OTB", "frame-mean", f"{seq}.txt")) as f:
        record = f.read()
    with open(os.path.join(out, "reports", "otb-dir", "metrics.json")) as f:
        overall = json.load(f)["trackers"]["frame-mean"]["overall"]
    return seq, record, overall


def _mean_grey(paths):
    return np.array([read_rgb(p, decoder="pil").astype(np.float64).mean() for p in paths])


def test_unpadded_frame_names_give_the_same_results_and_score(tmp_path):
    padded = str(tmp_path / "padded")
    make_dataset("otb", padded, 1, FRAMES, seed=5, image_size=(64, 48))
    unpadded = renamed_copy(padded, str(tmp_path / "unpadded"))

    seq, record, overall = _eval(padded, str(tmp_path / "out-padded"))
    seq2, record2, overall2 = _eval(unpadded, str(tmp_path / "out-unpadded"))
    assert seq2 == seq and record2 == record
    for key in ("success_score", "precision_score", "success_curve", "precision_curve"):
        assert overall2[key] == overall[key], key

    # the record follows the frames in number order, and string order would have given another one
    img = os.path.join(unpadded, seq, "img")
    by_number = _mean_grey([os.path.join(img, f"{k}.jpg") for k in range(1, FRAMES + 1)])
    by_string = _mean_grey([os.path.join(img, f) for f in sorted(os.listdir(img))])
    xs = np.loadtxt(record.splitlines(), delimiter=",")[1:, 0]
    np.testing.assert_allclose(xs, by_number[1:], atol=5e-4)
    assert not np.allclose(xs, by_string[1:], atol=5e-4)

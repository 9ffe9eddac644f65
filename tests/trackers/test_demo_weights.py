"""The demo checkpoints that ship with the package load, are intact, and track a real sequence."""
import hashlib
import json
import os

import numpy as np
import pytest

from loretrack_plugin.trackers import PACKAGE_DIR, get_spec, list_trackers, make_tracker
from loretrack_plugin.formats import load_otb_sequence, read_rgb

RECORD = os.path.join(PACKAGE_DIR, "weights", "demo_weights.json")
NAMES = ["demo-teacher-128", "demo-baseline-64", "demo-loretrack-64"]


def _record():
    with open(RECORD) as f:
        return json.load(f)


def test_shipped_weights_are_listed_and_intact():
    rec = _record()
    assert rec["command"].startswith("loretrack demo") and isinstance(rec["seed"], int)
    assert set(NAMES) <= set(list_trackers())
    for name in NAMES:
        spec = get_spec(name)
        entry = rec["files"][name]
        assert spec.checkpoint == os.path.join(PACKAGE_DIR, entry["file"])
        with open(spec.checkpoint, "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == entry["sha256"]


@pytest.mark.parametrize("name,size", [("demo-teacher-128", 128), ("demo-loretrack-64", 64)])
def test_shipped_tracker_runs_on_a_real_sequence(name, size, real_otb_root):
    paths, gt = load_otb_sequence(os.path.join(real_otb_root, "Biker"))
    frames = [read_rgb(p) for p in paths[:15]]
    tracker = make_tracker(name, backend="eager")
    assert tracker.cfg.search_size == size and tracker.cfg.embed_dim == 192
    tracker.init(frames[0], gt[0])
    H, W = frames[0].shape[:2]
    for frame in frames[1:15]:
        box, score = tracker.update(frame)
        assert np.all(np.isfinite(box)) and 0.0 < score < 1.0
        assert box[0] <= W and box[1] <= H and box[2] >= 10 and box[3] >= 10

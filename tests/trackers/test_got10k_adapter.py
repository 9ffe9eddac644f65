"""The got10k Tracker adapter, run through got10k's own ``Tracker.track`` on a real sequence."""
import subprocess
import sys

import numpy as np
import pytest
import torch
from got10k.trackers import Tracker
from PIL import Image

from loretrack_plugin import build_net
from loretrack_plugin.trackers import build_got10k_tracker, make_tracker
from loretrack_plugin.formats import load_otb_sequence
from tests.conftest import tiny_net_kwargs


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(2)
    return build_net(64, 32, **tiny_net_kwargs())


def test_got10k_tracker_tracks_a_real_sequence(net, real_otb_root):
    paths, gt = load_otb_sequence(f"{real_otb_root}/MountainBike6")
    paths = paths[:20]
    tracker = build_got10k_tracker("loretrack-96", net=net, backend="eager", threads=1)
    assert isinstance(tracker, Tracker)
    assert tracker.name == "loretrack-96" and tracker.is_deterministic
    boxes, times = tracker.track(paths, gt[0])
    assert boxes.shape == (20, 4) and times.shape == (20,)
    assert np.array_equal(boxes[0], gt[0])
    # the same frames as got10k decodes them (PIL, RGB) through the core directly
    core = make_tracker("loretrack-96", net=net, backend="eager")
    frames = [np.asarray(Image.open(p).convert("RGB")) for p in paths]
    core.init(frames[0], gt[0])
    want = np.array([core.update(f)[0] for f in frames[1:]])
    assert np.allclose(boxes[1:], want, atol=1e-9)
    assert (boxes[1:, 2:] >= 10).all()


def test_adapter_is_importable_and_the_core_imports_no_toolkit():
    from loretrack_plugin.trackers.got10k_adapter import GOT10kTracker
    assert issubclass(GOT10kTracker, Tracker)
    code = ("import sys, loretrack_plugin.tracking, loretrack_plugin.trackers; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('got10k', 'trax', 'vot')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)

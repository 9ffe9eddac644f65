"""experiments/diagnostics/size_bias.py: the size-calibration diagnostic, on a hand-made network."""

import pytest

from loretrack_plugin import build_net
from loretrack_plugin.sample_data import real_sample_root
from loretrack_plugin.tracking import TrackerCore
from tests.conftest import load_script, tiny_net_kwargs

from .test_core import FixedMaps


def _module():
    return load_script("experiments/diagnostics/size_bias.py")


def test_a_network_that_repeats_its_prior_follows_the_crop():
    """Maps that always say "the target fills a quarter of the crop" are unbiased on the true crop
    (crop side = 4 sqrt(wh)) but follow every other crop: slope 1."""
    net = build_net(96, 48, **tiny_net_kwargs())
    core = TrackerCore(net, 4.0, 2.0, backend="eager")
    core.backend = FixedMaps(net.cfg.feat_size, (3, 3), (0.0, 0.0), (0.25, 0.25))
    s = _module().run(core, [real_sample_root()], every=40, sequences=["Biker", "Crossing"], scales=(0.7, 1.0, 1.4))
    assert s["sequences"] == 2
    assert s["median_log2_size"] == pytest.approx(0.0, abs=0.03)  # ceil() of the crop side only
    assert s["scale_slope"] == pytest.approx(1.0, abs=0.03)
    assert s["log2_size_by_scale"]["1.4"] > s["log2_size_by_scale"]["1.0"] > s["log2_size_by_scale"]["0.7"]
